"""sensor_msgs/CompressedImage input on real DDS: the detector decodes each frame once and
passes the pixels on ('image_decoded'); the embedder never subscribes to the JPEG stream."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
from reid_msgs.msg import TrackArray
from sensor_msgs.msg import CompressedImage

from reid_tracker_ros.embedding.default_model import default_model_path
from reid_tracker_ros.embedding.metadata import read_metadata
from reid_tracker_ros.graph import pipeline
from reid_tracker_ros.ros.conversions import uint8_array
from reid_tracker_ros.runner import GraphRunner
from ros_probe import GraphProbe, header_for


def test_compressed_frames_are_decoded_once_and_tracked(ros_context, tmp_path):
    import ultralytics

    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    jpeg = bus.read_bytes()
    h, w = cv2.imread(str(bus)).shape[:2]
    specs = [dataclasses.replace(s, overrides={**s.overrides, "image_transport": "compressed",
                                               "image_qos": "reliable"})
             if s.name in ("detector", "embedder", "tracker") else s for s in pipeline(detector_backend="ultralytics")]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    probe = GraphProbe("compressed_probe")
    try:
        # the detector decodes the JPEG stream, the embedder reads its decoded frames; the tracker
        # reads the JPEGs' stamps only (to answer the frames the detector skips, PREDICTED)
        assert probe.spin_until(lambda: probe.compressed_pub.get_subscription_count() == 2
                                and probe.count_subscribers("/image_decoded") >= 2
                                and probe.count_publishers("/tracks") == 1, 180, runner)
        assert probe.image_pub.get_subscription_count() == 0  # nobody listens to raw images

        def send(stamp: int, data: bytes, fmt: str = "jpeg") -> None:
            probe.compressed_pub.publish(CompressedImage(header=header_for(stamp), format=fmt,
                                                         data=uint8_array(data)))

        def detected(s: int) -> bool:
            """Tracks from the frame's own detections (the live tracker answers it PREDICTED first
            when they take longer than its prediction budget)."""
            return s in probe.got["tracks"] and probe.got["tracks"][s].kind == TrackArray.DETECTED

        stamp = 10**9 * 6000
        sent = 0
        while not detected(stamp) and sent < 5:  # matching may still be under way: resend
            send(stamp, jpeg)
            sent += 1
            probe.spin_until(lambda: detected(stamp), 20, runner)
        dets = probe.got["detections"][stamp]
        people = [d for d in dets.detections if d.class_id == 0 and d.score >= 0.25]
        assert len(people) == 4 and (dets.image_width, dets.image_height) == (w, h)
        decoded = probe.got["image_decoded"][stamp]
        assert (decoded.width, decoded.height, decoded.encoding) == (w, h, "rgb8")
        # the tracker does not wait for features longer than its appearance timeout (a first
        # frame through a freshly started embedder can take longer): wait for them here
        assert probe.spin_until(lambda: stamp in probe.got["embedded_detections"], 30, runner)
        emb = probe.got["embedded_detections"][stamp]
        meta = read_metadata(default_model_path())  # the embedder's default model
        assert len(emb.detections) == len(dets.detections) and emb.embedding_dim == meta.feature_dim
        assert emb.model_name == meta.name
        feats = np.asarray(emb.embeddings, np.float32).reshape(len(emb.detections), meta.feature_dim)
        assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-4)

        # garbage bytes: an empty DetectionArray, no decoded image, counted; the next frame is fine
        send(stamp + 1, b"\xff\xd8 not a jpeg")
        # one at a time: the live detector keeps only the newest frame (a frame sent while it is
        # busy is skipped, and answered PREDICTED by the tracker)
        assert probe.spin_until(lambda: stamp + 1 in probe.got["detections"], 30, runner)
        send(stamp + 2, jpeg)
        assert probe.spin_until(lambda: detected(stamp + 2), 30, runner)
        assert stamp + 1 in probe.got["tracks"] and probe.got["detections"][stamp + 1].detections == []
        assert stamp + 1 not in probe.got["image_decoded"]
        # frames sent faster than the detector takes them: every one still gets tracks, the
        # skipped ones PREDICTED (the tracker saw them only as JPEGs: the size is the camera's)
        burst = [stamp + 3 + k for k in range(4)]
        for s in burst:
            send(s, jpeg)
        assert probe.spin_until(lambda: detected(burst[-1]) and all(s in probe.got["tracks"] for s in burst),
                                30, runner)
        kinds = [probe.got["tracks"][s].kind for s in burst]  # the last answer of each frame
        assert TrackArray.PREDICTED in kinds, kinds
        predicted = [probe.got["tracks"][s] for s in burst if probe.got["tracks"][s].kind == TrackArray.PREDICTED]
        assert all((m.image_width, m.image_height) == (w, h) for m in predicted), [
            (m.image_width, m.image_height) for m in predicted]
        values = probe.wait_diag("detector", lambda v: int(v.get("errors.bad_image", 0)) >= 1, runner=runner)
        assert values["image_transport"] == "compressed"
        assert "could not decode CompressedImage" in runner.log_tail("detector", 100)
    finally:
        probe.destroy_node()
        runner.stop()
