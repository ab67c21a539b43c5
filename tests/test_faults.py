"""Faults on real DDS: the embedder killed mid-stream, and a stalled (slow) embedder, on the
live path (best-effort images, motion-only fallback) and on the lockstep path (reliable).

A stalled process is made with SIGSTOP/SIGCONT: the real node, really not consuming its
queues for a while, as under CPU starvation."""
from __future__ import annotations

import os
import signal
import time

import pytest
import rclpy
from reid_msgs.msg import Track

from reid_tracker_ros.graph import evaluation_pipeline, image_subscriber_count, pipeline
from reid_tracker_ros.runner import GraphRunner
from ros_probe import GraphProbe, two_people

PERIOD = 1 / 20  # a 20 Hz camera


class Alive:
    """check_alive for the nodes the test has not killed on purpose."""

    def __init__(self, runner: GraphRunner, names: tuple[str, ...]) -> None:
        self.runner, self.names = runner, names

    def check_alive(self) -> None:
        for name in self.names:
            proc = self.runner.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.runner.log_tail(name)}")


def stream(probe: GraphProbe, first: int, count: int, base: int, alive, period: float = PERIOD) -> list[int]:
    """Publish frames first..first+count-1 as a camera would (image, then the public detections),
    one every ``period`` without waiting for results; returns their stamps."""
    stamps = []
    start = time.monotonic()
    for i, k in enumerate(range(first, first + count)):
        while time.monotonic() < start + i * period:
            rclpy.spin_once(probe, timeout_sec=0.005)
        rgb, boxes = two_people(k)  # keeps moving smoothly: k < 100 stays in the image
        stamp = base + k * 50_000_000
        probe.send_image(stamp, rgb)
        probe.send_public(stamp, boxes)
        stamps.append(stamp)
        alive.check_alive()
    return stamps


def confirmed_ids(probe: GraphProbe, stamp: int) -> set[int]:
    return {t.track_id for t in probe.got["tracks"][stamp].tracks if t.state == Track.CONFIRMED}


def start_graph(specs, log_dir) -> tuple[GraphRunner, GraphProbe]:
    runner = GraphRunner(specs, log_dir, profile="local").start()
    probe = GraphProbe("fault_probe")
    images = image_subscriber_count(specs)  # every one: the pings below do not prove the image paths
    assert probe.spin_until(lambda: probe.public_pub.get_subscription_count() > 0
                            and probe.image_pub.get_subscription_count() >= images
                            and probe.count_publishers("/tracks") > 0, 90, runner), "graph did not come up"
    # ping with empty frames until the chain answers end to end
    ping = 1
    while not probe.got["tracks"] and ping < 100:
        probe.send_image(ping, two_people(0)[0])
        probe.send_public(ping, [])
        probe.spin_until(lambda: bool(probe.got["tracks"]), 1.0, runner)
        ping += 1
    assert probe.got["tracks"], "the graph never answered"
    return runner, probe


@pytest.fixture()
def live_graph(ros_context, tmp_path):
    cfg = tmp_path / "live.yaml"
    # predictions off: these tests are about the motion-only fallback, whose tracks a PREDICTED
    # answer (test_live_predictions.py) would otherwise stand in for
    cfg.write_text("tracker:\n  ros__parameters:\n    appearance_timeout: 0.3\n    prediction_budget_s: 0.0\n")
    runner, probe = start_graph(pipeline(["default.yaml", str(cfg)], detector_backend="public"), tmp_path / "logs")
    yield runner, probe
    probe.destroy_node()
    runner.stop()


def test_embedder_killed_tracker_continues_on_motion_and_picks_appearance_up_again(live_graph, tmp_path):
    runner, probe = live_graph
    alive = Alive(runner, ("detector", "tracker"))
    base = 10**9 * 7000
    stamps = stream(probe, 0, 15, base, alive)
    assert probe.spin_until(lambda: stamps[-1] in probe.got["tracks"], 20, alive)
    before = probe.wait_diag("tracker", lambda v: int(v["frames_with_features"]) >= 10, runner=alive)
    ids = confirmed_ids(probe, stamps[-1])
    assert len(ids) == 2

    embedder = runner.procs["embedder"]
    os.killpg(embedder.pid, signal.SIGKILL)
    embedder.wait(10)
    stamps = stream(probe, 15, 15, base, alive)
    assert probe.spin_until(lambda: all(s in probe.got["tracks"] for s in stamps), 20, alive), \
        "frames without tracks while the embedder was down"
    assert confirmed_ids(probe, stamps[-1]) == ids  # motion alone keeps the identities
    down = probe.wait_diag("tracker", lambda v: int(v["frames_motion_only"]) >= 15, runner=alive)
    probe.spin_until(lambda: "motion only" in probe.diag["tracker"].message, 5, alive)
    assert probe.level("tracker") == 1 and "motion only" in probe.diag["tracker"].message

    spec = next(s for s in runner.specs if s.name == "embedder")
    revived = GraphRunner([spec], tmp_path / "logs2", profile="local").start()
    try:
        features_before = int(down["frames_with_features"])
        k = 30
        while int(probe.values("tracker")["frames_with_features"]) < features_before + 5 and k < 95:
            stamps = stream(probe, k, 5, base, Alive(revived, ("embedder",)))
            probe.spin_until(lambda: stamps[-1] in probe.got["tracks"], 5, alive)
            k += 5
        after = probe.wait_diag("tracker", lambda v: int(v["frames_with_features"]) >= features_before + 5,
                                runner=alive)
        assert int(after["frames_with_features"]) > int(before["frames_with_features"])
        assert confirmed_ids(probe, stamps[-1]) == ids  # same model: galleries kept, same people
    finally:
        revived.stop()


def test_stalled_embedder_on_the_live_path_drops_and_counts_frames_but_tracks_every_one(live_graph):
    runner, probe = live_graph
    alive = Alive(runner, ("detector", "tracker"))
    base = 10**9 * 8000
    stamps = stream(probe, 0, 10, base, alive)
    assert probe.spin_until(lambda: stamps[-1] in probe.got["embedded_detections"], 20, alive)
    embedder = runner.procs["embedder"]
    os.kill(embedder.pid, signal.SIGSTOP)
    try:
        stamps = stream(probe, 10, 30, base, alive)  # 1.5 s while the embedder does not run
    finally:
        os.kill(embedder.pid, signal.SIGCONT)
    stamps += stream(probe, 40, 10, base, alive)
    assert probe.spin_until(lambda: all(s in probe.got["tracks"] for s in stamps), 20, alive)
    diag = probe.wait_diag("embedder", lambda v: int(v["dropped"]) > 0, runner=alive)
    assert any(k.startswith("dropped.transport") or k.startswith("dropped.unpaired") for k in diag), diag
    missing = [s for s in stamps if s not in probe.got["embedded_detections"]]
    assert missing, "a 1.5 s stall with keep-last queues must lose frames on the live path"


def test_stalled_embedder_on_the_lockstep_path_loses_nothing(ros_context, tmp_path):
    runner, probe = start_graph(evaluation_pipeline(detector_backend="public"), tmp_path / "logs")
    try:
        base = 10**9 * 9000
        embedder = runner.procs["embedder"]
        os.kill(embedder.pid, signal.SIGSTOP)
        try:
            stamps = stream(probe, 0, 30, base, runner)
        finally:
            os.kill(embedder.pid, signal.SIGCONT)
        assert probe.spin_until(lambda: all(s in probe.got["tracks"] for s in stamps), 30, runner)
        assert all(s in probe.got["embedded_detections"] for s in stamps)
        diag = probe.wait_diag("embedder", lambda v: int(v["outputs"]) >= 30, runner=runner)
        assert diag["dropped"] == "0", diag
        tracker = probe.wait_diag("tracker", lambda v: int(v["frames_with_features"]) >= 30, runner=runner)
        assert tracker["frames_motion_only"] == "0" and tracker["dropped"] == "0"
    finally:
        probe.destroy_node()
        runner.stop()
