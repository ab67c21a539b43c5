"""embedder: image + detections (same stamp) -> reid_msgs/EmbeddedDetectionArray.

Images and detections are paired by exact stamp in a bounded cache (pairs that never
complete are dropped, counted and logged). Crops are resized to the model's input size,
normalised with the model's own mean/std (read from the metadata JSON beside the model,
never from node parameters), batched through the ReID backend and L2-normalised.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from reid_msgs.msg import Detection, DetectionArray, EmbeddedDetectionArray
from sensor_msgs.msg import Image

from ..embedding import resolve_embedder
from ..ros.conversions import (ImageConversionError, detection_msgs_from, detections_from_msg_list, float32_array,
                               image_to_rgb, sanitize_detections, stamp_to_ns)
from ..ros.node_runtime import ErrorCounter, run_node
from ..ros.params import declare_node_parameters
from ..ros.qos import data_qos, image_qos
from ..sync import ExactStampPairer


class EmbedderNode(Node):
    def __init__(self) -> None:
        super().__init__("embedder")
        p = self.params = declare_node_parameters(self, "embedder")
        self.errors = ErrorCounter(self)
        # start-up work: load the model (and its metadata) before any callback can run
        self.embedder = resolve_embedder(p["model"], device=p["device"], max_batch=p["max_batch"])
        if self.embedder is None:
            self.model_name = "none"
            self.get_logger().warn("embedder model 'none': publishing detections without features")
        else:
            self.model_name = self.embedder.metadata.name
            self.get_logger().info(f"embedder ready: {self.model_name} ({self.embedder.feature_dim}-d) on {self.embedder.provider}")
            if not self.embedder.metadata.trained:
                self.get_logger().warn(f"appearance model '{self.model_name}' is UNTRAINED: its features "
                                       "carry little identity information")
        # images the detector skipped (live camera) are superseded by newer detections, not errors
        self.pairer: ExactStampPairer[Image, DetectionArray] = ExactStampPairer(
            p["pair_cache_size"], b_supersedes_older_a=True)
        self._reported_drops = 0
        self.pub = self.create_publisher(EmbeddedDetectionArray, "embedded_detections", data_qos(p["queue_depth"]))
        self.create_subscription(Image, "image", self.on_image, image_qos(p["image_qos"], p["queue_depth"]))
        self.create_subscription(DetectionArray, "detections", self.on_detections, data_qos(p["queue_depth"]))

    def on_image(self, msg: Image) -> None:
        pair = self.pairer.add_a(stamp_to_ns(msg.header.stamp), msg)
        self._after_offer(pair)

    def on_detections(self, msg: DetectionArray) -> None:
        pair = self.pairer.add_b(stamp_to_ns(msg.header.stamp), msg)
        self._after_offer(pair)

    def _after_offer(self, pair) -> None:
        stats = self.pairer.stats
        drops = stats.dropped_a + stats.dropped_b
        if drops > self._reported_drops:
            self.errors.report("unpaired", f"{stats.dropped_a} image(s) and {stats.dropped_b} detection "
                               "message(s) dropped without a partner of the same stamp")
            self._reported_drops = drops
        if pair is not None:
            self.process(*pair)

    def process(self, image: Image, det_msg: DetectionArray) -> None:
        started = time.perf_counter()
        dets = detections_from_msg_list(det_msg.detections)
        width, height = int(image.width), int(image.height)
        dets, dropped = sanitize_detections(dets, width, height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} detection(s) with NaN/inf, non-positive size or "
                               "outside the image dropped")
        out = EmbeddedDetectionArray(header=det_msg.header, image_width=width, image_height=height,
                                     model_name=self.model_name)
        features = None
        if self.embedder is not None and len(dets):
            try:
                features = self.embedder.embed(image_to_rgb(image), dets.boxes)
            except ImageConversionError as exc:
                self.errors.report("bad_image", f"no features for this frame: {exc}")
        out.detections = detection_msgs_from(dets, Detection)
        if features is not None:
            out.embedding_dim = int(features.shape[1])
            out.embeddings = float32_array(features)
        elif self.embedder is not None and not len(dets):
            out.embedding_dim = int(self.embedder.metadata.feature_dim)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)


def main(args: list[str] | None = None) -> int:
    return run_node(EmbedderNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
