"""Clean shutdown under the local runner (reid_tracker_ros.runner), the way the evaluator, the
demo and these tests start the graph: SIGINT and SIGTERM end every node with exit code 0 and
no traceback in each lifecycle state, mid-transition included, and a node ends itself when the
process that started it is SIGKILLed. (Under `ros2 launch`: tests/test_ros2_launch.py.)"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
import rclpy
from lifecycle_msgs.srv import ChangeState, GetState

from reid_tracker_ros.graph import camera_pipeline, pipeline
from reid_tracker_ros.runner import GraphRunner
from ros_probe import TRANSITIONS, GraphProbe


def _managed(autostart: bool):
    return [dataclasses.replace(s, overrides={**s.overrides, "autostart": autostart}) for s in pipeline()]


def _state(probe: GraphProbe, node: str, timeout: float = 120.0) -> str:
    """get_state, asked again while unanswered: a request that comes before the node's reply
    writer has matched this client is answered into the void (Fast DDS: 'failed to send
    response')."""
    client = probe.create_client(GetState, f"/{node}/get_state")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.wait_for_service(timeout_sec=1.0):
            future = client.call_async(GetState.Request())
            rclpy.spin_until_future_complete(probe, future, timeout_sec=2.0)
            if future.done():
                probe.destroy_client(client)
                return future.result().current_state.label
    pytest.fail(f"/{node}/get_state did not answer within {timeout:.0f} s")


def _wait_log(runner: GraphRunner, name: str, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.check_alive()
        if text in runner.log_tail(name, 200):
            return
        time.sleep(0.05)
    pytest.fail(f"{name} never logged {text!r}:\n{runner.log_tail(name)}")


def _assert_clean(runner: GraphRunner, codes: dict[str, int], states: dict[str, str], sig: str) -> None:
    for name, state in states.items():
        log = runner.log_tail(name, 400)
        assert codes[name] == 0, f"{name} exit code {codes[name]}:\n{log}"
        assert "Traceback" not in log, log
        assert f"{sig}: shutting down (state {state})" in log, log


def test_sigint_mid_transition_inactive_and_active(ros_context, tmp_path):
    """detector mid-'configure' (loading YOLO takes seconds), embedder inactive, tracker active."""
    runner = GraphRunner(_managed(autostart=False), tmp_path / "logs", profile="local").start()
    probe = GraphProbe("shutdown_probe")
    try:
        for name in ("detector", "embedder", "tracker"):
            assert _state(probe, name) == "unconfigured"  # up, and its services reach the probe
        assert probe.change_state("embedder", "configure")
        assert probe.change_state("tracker", "configure") and probe.change_state("tracker", "activate")
        client = probe.create_client(ChangeState, "/detector/change_state")
        request = ChangeState.Request()
        request.transition.id = TRANSITIONS["configure"]
        client.call_async(request)  # not awaited: the signal comes while the transition runs
        deadline = time.monotonic() + 30
        while "configuring" not in runner.log_tail("detector", 200) and time.monotonic() < deadline:
            rclpy.spin_once(probe, timeout_sec=0.02)
        assert "configuring" in runner.log_tail("detector", 200)
        codes = runner.stop(timeout=30, sig=signal.SIGINT)
    finally:
        probe.destroy_node()
        runner.stop()
    _assert_clean(runner, codes, {"detector": "configuring", "embedder": "inactive", "tracker": "active"}, "SIGINT")
    assert "configured" in runner.log_tail("detector", 200)  # the running transition finished first


def test_sigterm_unconfigured_and_plain_nodes(ros_context, tmp_path):
    video_dir = tmp_path / "frames"
    video_dir.mkdir()
    import cv2
    import numpy as np

    for k in range(3):
        cv2.imwrite(str(video_dir / f"{k:06d}.jpg"), np.full((120, 160, 3), 60 * k, np.uint8))
    specs = [s for s in camera_pipeline(source=str(video_dir)) if s.name in ("source", "visualizer")]
    specs += [s for s in _managed(autostart=False) if s.name == "tracker"]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    try:
        probe = GraphProbe("shutdown_probe_term")
        try:
            assert _state(probe, "tracker") == "unconfigured"
        finally:
            probe.destroy_node()
        _wait_log(runner, "source", "source '")
        _wait_log(runner, "visualizer", "visualizer ready")
        codes = runner.stop(timeout=30, sig=signal.SIGTERM)
    finally:
        runner.stop()
    _assert_clean(runner, codes, {"tracker": "unconfigured"}, "SIGTERM")
    for name in ("source", "visualizer"):
        _assert_clean(runner, codes, {name: "running"}, "SIGTERM")


def test_node_ends_when_its_parent_is_sigkilled(ros_context, tmp_path):
    """The parent (here a shell standing in for launch or the runner) dies by SIGKILL: the node
    notices (PR_SET_PDEATHSIG / parent-pid watch) and shuts down cleanly on its own."""
    log = tmp_path / "tracker.log"
    parent = subprocess.Popen(
        ["bash", "-c", f'"{sys.executable}" -u -m reid_tracker_ros.nodes.tracker_node --ros-args '
                       f'-r __node:=orphan_check -p autostart:=false >"{log}" 2>&1 & echo $!; wait'],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(parent.stdout.readline())
    probe = GraphProbe("orphan_probe")
    try:
        assert _state(probe, "orphan_check") == "unconfigured"  # the node is up
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(child):
            time.sleep(0.05)
        assert not _running(child), "the node outlived its SIGKILLed parent"
    finally:
        probe.destroy_node()
        if _running(child):
            os.kill(child, signal.SIGKILL)
    assert "SIGTERM: shutting down (state unconfigured)" in log.read_text(), log.read_text()


def _running(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
