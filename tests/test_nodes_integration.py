"""The real nodes on real DDS (shared memory only, this run's own ROS_DOMAIN_ID).

The graph is started exactly as the evaluator and demo start it (reid_tracker_ros.graph +
runner); this test process is one more ROS node publishing images/public detections and
listening to every stage's output.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import rclpy  # noqa: E402
from rclpy.node import Node  # noqa: E402
from reid_msgs.msg import Detection, DetectionArray, EmbeddedDetectionArray, Track, TrackArray  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from reid_tracker_ros.graph import PUBLIC_DETECTIONS_TOPIC, evaluation_pipeline, pipeline  # noqa: E402
from reid_tracker_ros.ros.conversions import fill_image_msg, stamp_to_ns  # noqa: E402
from reid_tracker_ros.ros.qos import data_qos  # noqa: E402
from reid_tracker_ros.runner import GraphRunner  # noqa: E402

W, H = 320, 240


class Probe(Node):
    """Publishes frames into the graph and records what each stage sends back, by stamp."""

    def __init__(self, image_topic: str = "/camera/image_raw") -> None:
        super().__init__("test_probe")
        q = data_qos(100)
        self.image_pub = self.create_publisher(Image, image_topic, q)
        self.det_pub = self.create_publisher(DetectionArray, PUBLIC_DETECTIONS_TOPIC, q)
        self.got: dict[str, dict[int, object]] = {"detections": {}, "embedded_detections": {}, "tracks": {}}
        for topic, cls in (("detections", DetectionArray), ("embedded_detections", EmbeddedDetectionArray),
                           ("tracks", TrackArray)):
            self.create_subscription(cls, f"/{topic}", lambda m, t=topic: self.got[t].__setitem__(
                stamp_to_ns(m.header.stamp), m), q)

    def spin_until(self, predicate, timeout: float, runner: GraphRunner | None = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if runner is not None:
                runner.check_alive()
            rclpy.spin_once(self, timeout_sec=0.02)
        return predicate()

    def send(self, stamp_ns: int, rgb: np.ndarray | None, boxes_tlwh=(), scores=None, encoding=None) -> None:
        header = Image().header
        header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
        header.frame_id = "camera"
        if boxes_tlwh is not None:
            dets = DetectionArray(header=header, image_width=W, image_height=H, source="public")
            scores = [0.9] * len(boxes_tlwh) if scores is None else scores
            dets.detections = [Detection(x=float(b[0]), y=float(b[1]), width=float(b[2]), height=float(b[3]),
                                         score=float(s), class_id=0) for b, s in zip(boxes_tlwh, scores)]
            self.det_pub.publish(dets)
        if rgb is not None:
            img = Image(header=header)
            fill_image_msg(img, rgb)
            if encoding is not None:
                img.encoding = encoding
            self.image_pub.publish(img)


def _scene(k: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Two coloured 'people' moving apart; boxes in tlwh."""
    rgb = np.full((H, W, 3), 90, np.uint8)
    boxes = [(40 + 3 * k, 60, 30, 80), (220 - 3 * k, 70, 32, 84)]
    colours = [(220, 40, 40), (40, 200, 60)]
    for (x, y, w, h), c in zip(boxes, colours):
        cv2.rectangle(rgb, (int(x), int(y)), (int(x + w), int(y + h)), c, -1)
    return rgb, boxes


@pytest.fixture(scope="module")
def ros_context():
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture(scope="module")
def graph(ros_context, tmp_path_factory, repo_root):
    cfg = tmp_path_factory.mktemp("cfg") / "small_cache.yaml"
    cfg.write_text("embedder:\n  ros__parameters:\n    pair_cache_size: 5\n")
    specs = evaluation_pipeline(detector_backend="public", extra_config=[str(cfg)])
    runner = GraphRunner(specs, tmp_path_factory.mktemp("logs"), profile="local").start()
    probe = Probe()
    ok = probe.spin_until(lambda: probe.image_pub.get_subscription_count() > 0
                          and probe.det_pub.get_subscription_count() > 0
                          and probe.count_publishers("/tracks") > 0, 60, runner)
    assert ok, "graph did not come up"
    # the nodes' own pub/sub pairs may still be matching: send empty frames (no detections, so
    # no tracker state) until one comes back as tracks, as the evaluator does
    ping = 1
    while ping < 60 and not any(s < 100 for s in probe.got["tracks"]):
        probe.send(ping, np.zeros((H, W, 3), np.uint8), [])
        probe.spin_until(lambda: ping in probe.got["tracks"], 1.0, runner)
        ping += 1
    assert any(s < 100 for s in probe.got["tracks"]), "the graph never answered an empty frame"
    yield runner, probe
    probe.destroy_node()
    runner.stop()


def test_messages_flow_detector_embedder_tracker(graph):
    runner, probe = graph
    stamps = [10**9 * 1000 + k * 33_000_000 for k in range(6)]
    for k, s in enumerate(stamps):
        rgb, boxes = _scene(k)
        probe.send(s, rgb, boxes)
        assert probe.spin_until(lambda: all(s in probe.got[t] for t in
                                            ("tracks", "detections", "embedded_detections")),
                                10, runner), f"no tracks for frame {k}"
    det = probe.got["detections"][stamps[0]]
    assert len(det.detections) == 2 and det.image_width == W
    emb = probe.got["embedded_detections"][stamps[0]]
    assert emb.embedding_dim == 128 and len(emb.embeddings) == 2 * 128
    feats = np.asarray(emb.embeddings, np.float32).reshape(2, 128)
    assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-4)
    assert emb.model_name == "tiny-untrained"
    last = probe.got["tracks"][stamps[-1]]
    confirmed = [t for t in last.tracks if t.state == Track.CONFIRMED]
    assert len(confirmed) == 2 and len({t.track_id for t in confirmed}) == 2
    assert last.header.stamp.nanosec == stamps[-1] % 10**9  # the header travels through every stage
    first_ids = {t.track_id for t in probe.got["tracks"][stamps[3]].tracks if t.state == Track.CONFIRMED}
    assert first_ids == {t.track_id for t in confirmed}  # ids stay put while the people move


def test_bad_input_is_reported_and_the_graph_keeps_going(graph):
    runner, probe = graph
    base = 10**9 * 2000
    rgb, boxes = _scene(0)
    # 1) an encoding no core supports: no features, but the frame still gets tracks (motion only)
    probe.send(base, rgb, boxes, encoding="32FC1")
    # the probe's two subscriptions are served in any order: wait for both messages
    assert probe.spin_until(lambda: base in probe.got["tracks"]
                            and base in probe.got["embedded_detections"], 10, runner)
    assert probe.got["embedded_detections"][base].embedding_dim == 0
    # 2) NaN score, zero-size box, box outside the image: dropped with a log line
    bad = [(10, 10, 20, 40), (50, 50, 0, 30), (W + 50, 10, 20, 20), (100, 100, 20, 40)]
    probe.send(base + 1, rgb, bad, scores=[0.9, 0.9, 0.9, float("nan")])
    assert probe.spin_until(lambda: base + 1 in probe.got["embedded_detections"], 10, runner)
    assert len(probe.got["embedded_detections"][base + 1].detections) == 1
    # 3) detections whose image never arrives: dropped from the bounded cache, counted, logged
    for k in range(8):
        probe.send(base + 100 + k, None, boxes)
    probe.spin_until(lambda: False, 1.0, runner)
    # 4) and a normal frame afterwards still goes all the way through
    probe.send(base + 500, rgb, boxes)
    assert probe.spin_until(lambda: base + 500 in probe.got["tracks"], 10, runner)
    runner.check_alive()
    time.sleep(0.5)
    log = runner.log_tail("embedder", 200)
    assert "unsupported image encoding '32FC1'" in log
    assert "detection message(s) dropped without a partner" in log
    assert "outside the image dropped" in runner.log_tail("detector", 200) + log


def test_missing_model_file_stops_the_node_with_a_clear_message(ros_context, tmp_path):
    specs = [s for s in pipeline(embedder_model=str(tmp_path / "missing_reid.onnx")) if s.name == "embedder"]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    try:
        deadline = time.monotonic() + 60
        while runner.procs["embedder"].poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        with pytest.raises(RuntimeError, match="missing_reid.onnx"):
            runner.check_alive()
    finally:
        runner.stop()


def test_yolo_detector_node_finds_the_four_people_on_bus_jpg(ros_context, tmp_path):
    import ultralytics

    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    rgb = cv2.cvtColor(cv2.imread(str(bus)), cv2.COLOR_BGR2RGB)
    specs = [s for s in pipeline(detector_backend="ultralytics") if s.name == "detector"]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    probe = Probe()
    try:
        # model load (and the one-time ONNX export of the default weights) happens before subscribing
        assert probe.spin_until(lambda: probe.image_pub.get_subscription_count() > 0, 180, runner)
        stamp = 10**9 * 3000
        sent = 0
        while stamp not in probe.got["detections"] and sent < 5:  # best-effort subscriber: resend
            img = Image()
            img.header.stamp.sec = 3000
            fill_image_msg(img, rgb)
            probe.image_pub.publish(img)
            sent += 1
            probe.spin_until(lambda: stamp in probe.got["detections"], 10, runner)
        msg = probe.got["detections"][stamp]
        assert (msg.image_width, msg.image_height) == (rgb.shape[1], rgb.shape[0])
        people = [d for d in msg.detections if d.class_id == 0 and d.score >= 0.25]
        assert len(people) == 4, [(d.x, d.y, d.width, d.height, d.score) for d in msg.detections]
    finally:
        probe.destroy_node()
        runner.stop()
