"""Lockstep with camera-motion compensation, the real tracker node on real DDS: a frame whose
detections reach the tracker before its image (DDS delivers a large image late now and then)
waits for the image, and the frames after it queue behind it, so every run compensates the same
frames; a frame whose image never comes is tracked without it after IMAGE_WAIT_S."""
from __future__ import annotations

import time

import numpy as np

from ros_probe import GraphProbe, two_walkers
from reid_tracker_ros.graph import LOCKSTEP_CONFIG, evaluation_pipeline
from reid_tracker_ros.nodes.tracker_node import IMAGE_WAIT_S
from reid_tracker_ros.runner import GraphRunner

T0 = 10**9 * 3000
PERIOD = 10**9 // 30


def test_detections_before_their_image_wait_for_it(ros_context, tmp_path):
    cfg = tmp_path / "cmc.yaml"
    cfg.write_text("/**/tracker:\n  ros__parameters:\n    tracker: sort\n    n_init: 1\n")  # sort: CMC on
    specs = [s for s in evaluation_pipeline(detector_backend="public", extra_config=[LOCKSTEP_CONFIG, str(cfg)],
                                            embedder_model="tiny-untrained") if s.name == "tracker"]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    probe = GraphProbe()  # images on the pipeline's camera topic
    try:
        assert probe.spin_until(lambda: probe.image_pub.get_subscription_count() > 0
                                and probe.embedded_pub.get_subscription_count() > 0
                                and probe.count_publishers("/tracks") > 0, 60, runner), "tracker did not come up"
        stamps = [T0 + k * PERIOD for k in range(6)]
        tracks = probe.got["tracks"]
        # frame 0 in the usual order, then frames 1 and 2 detections-first
        rgb, boxes = two_walkers(0)
        probe.send_image(stamps[0], rgb)
        probe.spin_until(lambda: False, 0.2, runner)
        probe.send_embedded(stamps[0], boxes, None)
        assert probe.spin_until(lambda: stamps[0] in tracks, 10, runner), runner.log_tail("tracker")
        for k in (1, 2):
            probe.send_embedded(stamps[k], two_walkers(k)[1], None)
        probe.spin_until(lambda: False, 0.25, runner)
        assert stamps[1] not in tracks and stamps[2] not in tracks, "tracked before their images came"
        probe.send_image(stamps[2], two_walkers(2)[0])  # frame 2's image first: still waits behind frame 1
        probe.spin_until(lambda: False, 0.1, runner)
        assert stamps[1] not in tracks and stamps[2] not in tracks
        probe.send_image(stamps[1], two_walkers(1)[0])
        assert probe.spin_until(lambda: stamps[1] in tracks and stamps[2] in tracks, 5, runner), \
            runner.log_tail("tracker")
        # frame 3's image never comes: tracked anyway, after about IMAGE_WAIT_S
        sent = time.monotonic()
        probe.send_embedded(stamps[3], two_walkers(3)[1], None)
        assert probe.spin_until(lambda: stamps[3] in tracks, 10 * IMAGE_WAIT_S, runner), runner.log_tail("tracker")
        waited = time.monotonic() - sent
        assert IMAGE_WAIT_S * 0.8 <= waited <= IMAGE_WAIT_S + 2.0, waited
        # every frame kept both people, and frame 2 (compensated from frame 1) is where they are
        for k in range(4):
            assert len(tracks[stamps[k]].tracks) == 2, (k, tracks[stamps[k]].tracks)
        xs = sorted(t.x for t in tracks[stamps[2]].tracks)
        np.testing.assert_allclose(xs, [40 + 3 * 2, 220 - 3 * 2], atol=3.0)
    finally:
        probe.destroy_node()
        runner.stop()
