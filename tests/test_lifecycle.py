"""Lifecycle transitions and run-time parameter changes of the real nodes, through their
real ROS services (lifecycle_msgs, rcl_interfaces) on DDS (shared memory, own domain)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from reid_msgs.msg import Track

from reid_tracker_ros.config import load_node_parameters
from reid_tracker_ros.graph import evaluation_pipeline
from reid_tracker_ros.runner import GraphRunner
from ros_probe import GraphProbe

BASE = 10**9 * 5000


def _specs(names, autostart: bool, **kwargs):
    specs = [s for s in evaluation_pipeline(**kwargs) if s.name in names]
    return [dataclasses.replace(s, overrides={**s.overrides, "autostart": autostart}) for s in specs]


def _features(n: int, seed: int = 0) -> np.ndarray:
    f = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_tracker_transitions_configure_activate_deactivate_cleanup_shutdown(ros_context, tmp_path):
    runner = GraphRunner(_specs({"tracker"}, autostart=False), tmp_path / "logs", profile="local").start()
    probe = GraphProbe("lifecycle_probe")
    boxes = [(40, 60, 30, 80), (200, 70, 32, 84)]
    # the probe's own /embedded_detections subscription is 1; the tracker's makes it 2
    try:
        assert probe.lifecycle_state("tracker") == "unconfigured"
        status = probe.wait_diag("tracker", lambda v: v.get("state") == "unconfigured", runner=runner)
        assert probe.level("tracker") == 1 and status["tracker"] == load_node_parameters("tracker")["tracker"]  # WARN: not processing
        assert probe.embedded_pub.get_subscription_count() == 1  # nothing subscribed before activate
        assert probe.change_state("tracker", "configure") and probe.lifecycle_state("tracker") == "inactive"
        assert probe.embedded_pub.get_subscription_count() == 1
        assert not probe.change_state("tracker", "configure")  # not a transition of 'inactive'

        assert probe.change_state("tracker", "activate") and probe.lifecycle_state("tracker") == "active"
        assert probe.spin_until(lambda: probe.embedded_pub.get_subscription_count() == 2, 20, runner)
        for k in range(4):
            probe.send_embedded(BASE + k, [(x + 2 * k, y, w, h) for x, y, w, h in boxes], _features(2))
            assert probe.spin_until(lambda: BASE + k in probe.got["tracks"], 10, runner), f"frame {k}"
        assert sum(t.state == Track.CONFIRMED for t in probe.got["tracks"][BASE + 3].tracks) == 2
        probe.wait_diag("tracker", lambda v: v["state"] == "active" and int(v["outputs"]) >= 4, runner=runner)

        assert probe.change_state("tracker", "deactivate") and probe.lifecycle_state("tracker") == "inactive"
        assert probe.spin_until(lambda: probe.embedded_pub.get_subscription_count() == 1, 20, runner)
        assert probe.change_state("tracker", "cleanup") and probe.lifecycle_state("tracker") == "unconfigured"

        # configured afresh: the tracks of before are gone (new tracker), processing works again
        assert probe.change_state("tracker", "configure") and probe.change_state("tracker", "activate")
        assert probe.spin_until(lambda: probe.embedded_pub.get_subscription_count() == 2, 20, runner)
        probe.send_embedded(BASE + 10, boxes, _features(2))
        assert probe.spin_until(lambda: BASE + 10 in probe.got["tracks"], 10, runner)
        assert all(t.state == Track.TENTATIVE for t in probe.got["tracks"][BASE + 10].tracks)

        assert probe.change_state("tracker", "deactivate") and probe.change_state("tracker", "cleanup")
        assert probe.change_state("tracker", "shutdown")
        assert probe.lifecycle_state("tracker") == "finalized"
        runner.check_alive()  # finalized, not crashed
    finally:
        probe.destroy_node()
        runner.stop()


def test_failed_configure_without_autostart_leaves_the_node_up_and_says_why(ros_context, tmp_path):
    missing = tmp_path / "missing_reid.onnx"
    specs = _specs({"embedder"}, autostart=False, embedder_model=str(missing))
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    probe = GraphProbe("lifecycle_probe_fail")
    try:
        assert not probe.change_state("embedder", "configure")
        assert probe.lifecycle_state("embedder") == "unconfigured"
        probe.spin_until(lambda: "missing_reid.onnx" in (probe.diag["embedder"].message
                                                         if "embedder" in probe.diag else ""), 20, runner)
        assert "missing_reid.onnx" in probe.diag["embedder"].message
        runner.check_alive()  # a lifecycle manager may retry: the process stays
    finally:
        probe.destroy_node()
        runner.stop()


def test_runtime_parameter_changes_take_effect_or_are_rejected_with_a_reason(ros_context, tmp_path):
    specs = [s for s in evaluation_pipeline(detector_backend="public") if s.name in ("detector", "tracker")]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    probe = GraphProbe("param_probe")
    try:
        assert probe.spin_until(lambda: probe.public_pub.get_subscription_count() > 0
                                and probe.embedded_pub.get_subscription_count() > 1, 60, runner)
        # out of range / wrong type / read-only: rejected, with the reason
        ok, reason = probe.set_parameter("tracker", "max_age", -3)
        assert not ok and "max_age" in reason
        ok, reason = probe.set_parameter("detector", "min_score", "high")
        assert not ok
        ok, reason = probe.set_parameter("tracker", "nn_budget", 5)
        assert not ok and "read-only" in reason.lower()

        # detector threshold: a low-score box disappears once min_score rises
        stamp = BASE + 100
        probe.send_public(stamp, [(10, 10, 20, 40), (100, 50, 20, 40)], scores=[0.3, 0.9])
        assert probe.spin_until(lambda: stamp in probe.got["detections"], 20, runner)
        assert len(probe.got["detections"][stamp].detections) == 2
        assert probe.set_parameter("detector", "min_score", 0.5) == (True, "")
        probe.send_public(stamp + 1, [(10, 10, 20, 40), (100, 50, 20, 40)], scores=[0.3, 0.9])
        assert probe.spin_until(lambda: stamp + 1 in probe.got["detections"], 20, runner)
        assert [d.score for d in probe.got["detections"][stamp + 1].detections] == pytest.approx([0.9])

        # tracker max_age: a vanished person is kept as LOST with 30, deleted at once with 1
        def run_person(first: int, x: float) -> list:
            for k in range(4):  # straight to the tracker: motion only
                probe.send_embedded(first + k, [(x, 60, 30, 80)], None)
            for k in range(4, 7):
                probe.send_embedded(first + k, [], None)
            last = first + 6
            assert probe.spin_until(lambda: last in probe.got["tracks"], 20, runner)
            return probe.got["tracks"][last].tracks

        assert [t.state for t in run_person(BASE + 200, 150)] == [Track.LOST]
        assert probe.set_parameter("tracker", "max_age", 1) == (True, "")
        probe.wait_diag("tracker", lambda v: v.get("max_age") == "1", runner=runner)
        assert run_person(BASE + 300, 60) == []  # both the new and the old person are gone
    finally:
        probe.destroy_node()
        runner.stop()
