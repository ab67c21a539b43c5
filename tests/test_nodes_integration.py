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

from rclpy.node import Node  # noqa: E402
from reid_msgs.msg import Detection, DetectionArray, EmbeddedDetectionArray, Track, TrackArray  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from ros_probe import GraphProbe, two_walkers  # noqa: E402
from reid_tracker_ros.graph import evaluation_pipeline, image_subscriber_count, pipeline  # noqa: E402
from reid_tracker_ros.topics import DEFAULT_PUBLIC_DETECTIONS_TOPIC as PUBLIC_DETECTIONS_TOPIC  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402

from reid_tracker_ros.ros.conversions import fill_image_msg, float32_array, stamp_to_ns  # noqa: E402
from reid_tracker_ros.ros.diagnostics import status_values  # noqa: E402
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
        self.diag: dict[str, dict[str, str]] = {}  # node -> latest /diagnostics values
        self.create_subscription(DiagnosticArray, "/diagnostics", lambda m: self.diag.update(
            {st.hardware_id: status_values(st) for st in m.status}), 50)
        self.embedded_pub = self.create_publisher(EmbeddedDetectionArray, "/embedded_detections", q)
        for topic, cls in (("detections", DetectionArray), ("embedded_detections", EmbeddedDetectionArray),
                           ("tracks", TrackArray)):
            self.create_subscription(cls, f"/{topic}", lambda m, t=topic: self.got[t].__setitem__(
                stamp_to_ns(m.header.stamp), m), q)

    spin_until = GraphProbe.spin_until  # spin until predicate() holds, checking the nodes are alive

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


@pytest.fixture(scope="module")
def graph(ros_context, tmp_path_factory, repo_root):
    cfg = tmp_path_factory.mktemp("cfg") / "small_cache.yaml"
    cfg.write_text("embedder:\n  ros__parameters:\n    pair_cache_size: 5\n")
    specs = evaluation_pipeline(detector_backend="public", extra_config=[str(cfg)],
                                embedder_model="tiny-untrained")  # fast 128-d plumbing model
    runner = GraphRunner(specs, tmp_path_factory.mktemp("logs"), profile="local").start()
    probe = Probe()
    ok = probe.spin_until(lambda: probe.image_pub.get_subscription_count() >= image_subscriber_count(specs)
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
        rgb, boxes = two_walkers(k)
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
    rgb, boxes = two_walkers(0)
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


def _count(values: dict[str, str], key: str) -> int:
    return int(values.get(key, "0"))


def test_bad_input_on_every_topic_is_counted_in_diagnostics(graph):
    """Each subscribed topic gets its kind of bad input; each is counted by kind in the node's
    /diagnostics and a normal frame still goes through afterwards."""
    runner, probe = graph
    base = 10**9 * 2500
    rgb, boxes = two_walkers(0)
    # detector (public_detections): a duplicate and an out-of-order stamp are skipped
    probe.send(base + 10_000_000, rgb, boxes)
    assert probe.spin_until(lambda: base + 10_000_000 in probe.got["tracks"], 10, runner)
    probe.send(base + 10_000_000, None, boxes)
    probe.send(base + 5_000_000, None, boxes)
    # embedder (image): step smaller than a row, and an empty image
    header = Image().header
    header.stamp.sec, header.stamp.nanosec = divmod(base + 20_000_000, 1_000_000_000)
    img = Image(header=header)
    fill_image_msg(img, rgb)
    img.step = 10
    probe.send(base + 20_000_000, None, boxes)
    probe.image_pub.publish(img)
    header.stamp.nanosec += 10_000_000
    probe.send(base + 30_000_000, None, boxes)
    probe.image_pub.publish(Image(header=header, encoding="rgb8"))
    for stamp in (base + 20_000_000, base + 30_000_000):
        assert probe.spin_until(lambda: stamp in probe.got["tracks"], 10, runner)
        assert probe.got["embedded_detections"][stamp].embedding_dim == 0  # no features, frame kept
    # tracker (embedded_detections, straight from the probe): wrong feature count, NaN box, duplicate
    def embedded(stamp, feats, dim, box=(10.0, 10.0, 20.0, 40.0)):
        msg = EmbeddedDetectionArray(image_width=W, image_height=H, model_name="tiny-untrained")
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.detections = [Detection(x=box[0], y=box[1], width=box[2], height=box[3], score=0.9, class_id=0)]
        msg.embedding_dim, msg.embeddings = dim, float32_array(np.asarray(feats, np.float32))
        probe.embedded_pub.publish(msg)
    embedded(base + 40_000_000, np.ones(5), 128)
    embedded(base + 50_000_000, np.ones(128) / np.sqrt(128), 128, box=(float("nan"), 1.0, 2.0, 3.0))
    embedded(base + 50_000_000, np.ones(128) / np.sqrt(128), 128)
    assert probe.spin_until(lambda: base + 50_000_000 in probe.got["tracks"], 10, runner)
    # and a normal frame still goes all the way
    probe.send(base + 60_000_000, rgb, boxes)
    assert probe.spin_until(lambda: base + 60_000_000 in probe.got["tracks"], 10, runner)
    expected = {"detector": ("errors.duplicate", "errors.out_of_order"),
                "embedder": ("errors.bad_image",),
                "tracker": ("errors.bad_embeddings", "errors.bad_box", "errors.duplicate")}
    ok = probe.spin_until(lambda: all(_count(probe.diag.get(n, {}), k) >= 1 for n, keys in expected.items()
                                      for k in keys) and _count(probe.diag["embedder"], "errors.bad_image") >= 2,
                          10, runner)
    assert ok, {n: {k: v for k, v in probe.diag.get(n, {}).items() if "errors" in k} for n in expected}
    runner.check_alive()
    log = runner.log_tail("detector", 200) + runner.log_tail("embedder", 200) + runner.log_tail("tracker", 200)
    # (one line per kind and 5 s: the bad images of the test before may hold the 'bad_image' line back)
    for text in ("skipped: duplicate", "skipped: out-of-order", "embeddings hold 5 values"):
        assert text in log, text


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
        # bad images on the detector's own input: an empty DetectionArray each, counted
        bad = []
        for k, (encoding, step, data_len) in enumerate([("32FC1", None, None), ("rgb8", 7, None),
                                                         ("rgb8", None, 100), ("rgb8", 0, 0)]):
            img = Image()
            img.header.stamp.sec = 3001 + k
            fill_image_msg(img, rgb[:48, :64])
            img.encoding = encoding
            if step is not None:
                img.step = step
            if data_len is not None:
                img.data = img.data[:data_len]
                if data_len == 0:
                    img.width = img.height = 0
            probe.image_pub.publish(img)
            bad.append(10**9 * (3001 + k))
        # best effort: some may be lost on the way; every one that arrives is answered
        probe.spin_until(lambda: all(s in probe.got["detections"] for s in bad), 10, runner)
        answered = [s for s in bad if s in probe.got["detections"]]
        assert answered and all(len(probe.got["detections"][s].detections) == 0 for s in answered)
        assert probe.spin_until(lambda: int(probe.diag.get("detector", {}).get("errors.bad_image", 0))
                                >= len(answered), 10, runner)
        runner.check_alive()
    finally:
        probe.destroy_node()
        runner.stop()
