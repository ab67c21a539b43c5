"""A detector slower than the camera, with the real nodes on real DDS (shared memory only, this
run's own ROS_DOMAIN_ID): every camera frame still gets a TrackArray, DETECTED where the frame's
detections went through detector, embedder and tracker, PREDICTED (Kalman boxes extrapolated to
the frame) where the detector skipped it, and a frame whose detections come after the budget is
answered twice, PREDICTED first, then DETECTED.

The camera is this test at 30 Hz; the detector is the graph's public-detection relay, given
detections for every third frame only: exactly a detector that keeps up with one frame in three
(the frames it skips never reach the embedder or the tracker as detections)."""
from __future__ import annotations

import time

import numpy as np

from rclpy.node import Node
from reid_msgs.msg import Detection, DetectionArray, TrackArray
from sensor_msgs.msg import Image

from ros_probe import GraphProbe, two_walkers
from reid_tracker_ros.graph import evaluation_pipeline, image_subscriber_count, node_parameters
from reid_tracker_ros.ros.conversions import fill_image_msg, stamp_to_ns
from reid_tracker_ros.ros.qos import data_qos
from reid_tracker_ros.runner import GraphRunner
from reid_tracker_ros.topics import DEFAULT_IMAGE_TOPIC, DEFAULT_PUBLIC_DETECTIONS_TOPIC, IMAGE, tracker_image_input

W, H = 320, 240
PERIOD_S = 1 / 30
FRAMES = 30
DETECTED_EVERY = 3
LATE = 27  # the last detected frame: its detections come 0.3 s after its image (budget 0.05 s)
T0 = 10**9 * 2000


class Camera(Node):
    def __init__(self) -> None:
        super().__init__("live_camera_probe")
        q = data_qos(100)
        self.image_pub = self.create_publisher(Image, DEFAULT_IMAGE_TOPIC, q)
        self.det_pub = self.create_publisher(DetectionArray, DEFAULT_PUBLIC_DETECTIONS_TOPIC, q)
        self.answers: dict[int, list[TrackArray]] = {}
        self.order: list[tuple[int, int]] = []  # (stamp, kind) as they came
        self.create_subscription(TrackArray, "/tracks", self.on_tracks, q)

    def on_tracks(self, msg: TrackArray) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        self.answers.setdefault(stamp, []).append(msg)
        self.order.append((stamp, msg.kind))

    spin_until = GraphProbe.spin_until

    @staticmethod
    def header(stamp: int):
        header = Image().header
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        header.frame_id = "camera"
        return header

    def send_image(self, stamp: int, rgb: np.ndarray) -> None:
        img = Image(header=self.header(stamp))
        fill_image_msg(img, rgb)
        self.image_pub.publish(img)

    def send_detections(self, stamp: int, boxes_tlwh) -> None:
        dets = DetectionArray(header=self.header(stamp), image_width=W, image_height=H, source="public")
        dets.detections = [Detection(x=float(x), y=float(y), width=float(w), height=float(h), score=0.9, class_id=0)
                           for x, y, w, h in boxes_tlwh]
        self.det_pub.publish(dets)


def test_every_camera_frame_gets_tracks_when_the_detector_is_slower(ros_context, tmp_path):
    cfg = tmp_path / "live.yaml"
    cfg.write_text("/**/tracker:\n  ros__parameters:\n    prediction_budget_s: 0.05\n    tracker: sort\n"
                   "    n_init: 1\n")
    specs = evaluation_pipeline(detector_backend="public", extra_config=[str(cfg)], embedder_model="tiny-untrained")
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    cam = Camera()
    try:
        assert cam.spin_until(lambda: cam.image_pub.get_subscription_count() >= image_subscriber_count(specs)
                              and cam.det_pub.get_subscription_count() > 0
                              and cam.count_publishers("/tracks") > 0, 60, runner), "graph did not come up"
        # the tracker subscribes to the camera for predictions (sort has no camera-motion compensation)
        tracker = next(s for s in specs if s.name == "tracker")
        assert tracker_image_input(node_parameters(tracker)) == IMAGE
        ping = 1  # empty frames until one comes back DETECTED: every link of the chain is matched
        while ping < 60 and not any(m.kind == TrackArray.DETECTED for s in range(1, ping) for m in cam.answers.get(s, ())):
            cam.send_detections(ping, [])
            cam.send_image(ping, np.zeros((H, W, 3), np.uint8))
            cam.spin_until(lambda: any(m.kind == TrackArray.DETECTED for m in cam.answers.get(ping, ())), 1.0, runner)
            ping += 1
        assert ping < 60, "the graph never answered an empty frame"
        cam.spin_until(lambda: False, 0.3, runner)  # the pings' own predictions, if any, come now
        cam.answers.clear()
        cam.order.clear()

        stamps = [T0 + round(k * PERIOD_S * 1e9) for k in range(FRAMES)]
        start = time.monotonic()
        late_at = None
        for k, stamp in enumerate(stamps):
            cam.spin_until(lambda: time.monotonic() >= start + k * PERIOD_S, 1.0)
            rgb, boxes = two_walkers(k)
            cam.send_image(stamp, rgb)
            if k % DETECTED_EVERY == 0:
                if k == LATE:
                    late_at = time.monotonic() + 0.3
                else:
                    cam.send_detections(stamp, boxes)
        cam.spin_until(lambda: time.monotonic() >= late_at, 1.0)
        cam.send_detections(stamps[LATE], two_walkers(LATE)[1])
        assert cam.spin_until(lambda: all(s in cam.answers for s in stamps)
                              and any(m.kind == TrackArray.DETECTED for m in cam.answers[stamps[LATE]]), 20, runner), (
            f"frames without tracks: {[k for k, s in enumerate(stamps) if s not in cam.answers]}\n"
            f"{runner.log_tail('tracker')}")
        cam.spin_until(lambda: False, 0.5, runner)  # anything more (there must not be) comes now
    finally:
        cam.destroy_node()
        runner.stop()

    kinds = {k: [m.kind for m in cam.answers[s]] for k, s in enumerate(stamps)}
    for k in range(FRAMES):
        if k % DETECTED_EVERY:  # skipped by the detector: exactly one answer, a prediction
            assert kinds[k] == [TrackArray.PREDICTED], f"frame {k}: {kinds[k]}"
        else:  # detected: one DETECTED answer, after at most one prediction (detections past the budget)
            assert kinds[k][-1] == TrackArray.DETECTED and kinds[k].count(TrackArray.DETECTED) == 1, f"frame {k}: {kinds[k]}"
            assert kinds[k] in ([TrackArray.DETECTED], [TrackArray.PREDICTED, TrackArray.DETECTED]), f"frame {k}"
    assert kinds[LATE] == [TrackArray.PREDICTED, TrackArray.DETECTED]
    # the late frame's DETECTED answer came after the predictions of the newer frames 28 and 29
    position = {entry: i for i, entry in enumerate(cam.order)}
    assert position[(stamps[LATE], TrackArray.DETECTED)] > position[(stamps[LATE + 2], TrackArray.PREDICTED)]

    def centre_x(msg: TrackArray, near: float) -> float:
        xs = [t.x + t.width / 2 for t in msg.tracks]
        assert xs, f"no tracks in a {msg.kind} answer"
        return min(xs, key=lambda x: abs(x - near))

    # predicted boxes move with the walkers between detections (person 1: +3 px/frame to the right)
    for k in (12, 15, 18, 21):
        truth = [55 + 3 * j for j in (k, k + 1, k + 2)]
        detected = centre_x(cam.answers[stamps[k]][-1], truth[0])
        p1 = centre_x(cam.answers[stamps[k + 1]][0], truth[1])
        p2 = centre_x(cam.answers[stamps[k + 2]][0], truth[2])
        assert detected < p1 < p2, f"frames {k}..{k + 2}: {detected:.1f}, {p1:.1f}, {p2:.1f}"
        assert abs(p2 - truth[2]) < 4.0, f"frame {k + 2}: predicted {p2:.1f}, truth {truth[2]}"
