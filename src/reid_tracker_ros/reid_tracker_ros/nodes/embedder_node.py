"""embedder: image + detections (same stamp) -> reid_msgs/EmbeddedDetectionArray. A lifecycle node.

Images and detections are paired by exact stamp in a bounded cache; crops are normalised with
the model's own mean/std from the metadata beside the model, never from node parameters. A
frame without detections is answered at once, without waiting for its image."""
from __future__ import annotations

import time

from reid_msgs.msg import Detection, DetectionArray, EmbeddedDetectionArray
from sensor_msgs.msg import Image

from ..embedding import resolve_embedder
from ..images import ImageConversionError
from ..ros.conversions import (detection_msgs_from, detections_from_msg_list, float32_array, image_to_rgb,
                               sanitize_detections, stamp_to_ns)
from ..ros.lifecycle import ManagedNode, message_info_value
from ..ros.node_runtime import run_node
from ..ros.qos import data_qos, image_qos
from ..sync import ExactStampPairer
from ..topics import DECODED_IMAGE, DETECTIONS, EMBEDDED_DETECTIONS, IMAGE


class EmbedderNode(ManagedNode):
    schema_name = "embedder"

    def __init__(self) -> None:
        self.embedder = None
        self.model_name = "unconfigured"
        self.pairer: ExactStampPairer | None = None
        self.pub = None
        self._seen = {"dropped_a": 0, "dropped_b": 0, "duplicates_a": 0, "duplicates_b": 0}
        super().__init__("embedder")

    # -- lifecycle ---------------------------------------------------------------------------
    def configure_resources(self) -> None:
        p = self.params
        self.embedder = resolve_embedder(p["model"], device=p["device"], max_batch=p["max_batch"])
        if self.embedder is None:
            self.model_name = "none"
            self.get_logger().warn("embedder model 'none': publishing detections without features")
        else:
            self.model_name = self.embedder.metadata.name
            self.get_logger().info(f"embedder ready: {self.model_name} ({self.embedder.feature_dim}-d) on "
                                   f"{self.embedder.provider}")
            if not self.embedder.metadata.trained:
                self.get_logger().warn(f"appearance model '{self.model_name}' is UNTRAINED: its features "
                                       "carry little identity information")
        # images the detector skipped (live camera) are superseded by newer detections, not errors
        self.pairer = ExactStampPairer(p["pair_cache_size"], b_supersedes_older_a=True)
        self._seen = dict.fromkeys(self._seen, 0)
        self.pub = self.make_publisher(EmbeddedDetectionArray, EMBEDDED_DETECTIONS, data_qos(p["queue_depth"]))

    def create_inputs(self) -> list:
        p = self.params
        if p["image_transport"] == "compressed":
            image_sub = self.create_subscription(Image, DECODED_IMAGE, self.on_image, data_qos(p["queue_depth"]))
        else:
            image_sub = self.create_subscription(Image, IMAGE, self.on_image,
                                                 image_qos(p["image_qos"], p["queue_depth"]))
        return [image_sub, self.create_subscription(DetectionArray, DETECTIONS, self.on_detections,
                                                    data_qos(p["queue_depth"]))]

    def release_resources(self) -> None:
        self.embedder = None
        self.pairer = None
        self.pub = None
        self.model_name = "unconfigured"

    def on_time_jump(self) -> None:
        if self.pairer is not None:
            self.pairer = ExactStampPairer(self.params["pair_cache_size"], b_supersedes_older_a=True)

    def diagnostic_values(self) -> list[tuple[str, str]]:
        p = self.params
        values = [("model", self.model_name), ("device", p["device"]),
                  ("provider", getattr(self.embedder, "provider", "none") if self.embedder else "none"),
                  ("image_transport", p["image_transport"]), ("image_qos", p["image_qos"]),
                  ("queue_depth", str(p["queue_depth"]))]
        if self.pairer is not None:
            a, b = self.pairer.waiting
            values += [("waiting_images", str(a)), ("waiting_detections", str(b)),
                       ("images_superseded", str(self.pairer.stats.skipped_a))]
        return values

    # -- inputs ------------------------------------------------------------------------------
    def on_image(self, msg: Image, info) -> None:
        self.stats.on_input(self.now_s(), "image", message_info_value(info, "publication_sequence_number"),
                            counts_as_frame=False)
        received = message_info_value(info, "received_timestamp") or time.time_ns()
        pair = self.pairer.add_a(stamp_to_ns(msg.header.stamp), (msg, received))
        self._after_offer(pair)

    def on_detections(self, msg: DetectionArray, info) -> None:
        self.stats.on_input(self.now_s(), "detections", message_info_value(info, "publication_sequence_number"))
        received = message_info_value(info, "received_timestamp") or time.time_ns()
        stamp = stamp_to_ns(msg.header.stamp)
        if not self.check_stamp(stamp, "detections"):
            return
        if not msg.detections:
            self.process(None, msg, received)  # nothing to crop: no need to wait for the image
            return
        pair = self.pairer.add_b(stamp, (msg, received))
        self._after_offer(pair)

    def _after_offer(self, pair) -> None:
        stats = self.pairer.stats
        new = {k: getattr(stats, k) - v for k, v in self._seen.items()}
        self._seen = {k: getattr(stats, k) for k in self._seen}
        if new["dropped_a"] or new["dropped_b"]:
            self.stats.drop("unpaired_image", new["dropped_a"])
            self.stats.drop("unpaired_detections", new["dropped_b"])
            for _ in range(new["dropped_a"] + new["dropped_b"]):
                self.errors.report("unpaired", f"{stats.dropped_a} image(s) and {stats.dropped_b} detection "
                                   "message(s) dropped without a partner of the same stamp")
        if new["duplicates_a"]:
            self.stats.drop("duplicate", new["duplicates_a"])
            self.errors.report("duplicate", f"{stats.duplicates_a} image(s) with an already waiting stamp: "
                               "the newer one replaced it")
        if pair is not None:
            (image, received_a), (det_msg, received_b) = pair
            self.process(image, det_msg, max(received_a, received_b))

    # -- processing --------------------------------------------------------------------------
    def process(self, image: Image | None, det_msg: DetectionArray, received_ns: int) -> None:
        started = time.perf_counter()
        dets = detections_from_msg_list(det_msg.detections)
        if image is not None and (not image.width or not image.height):
            self.errors.report("bad_image", f"empty image ({image.width}x{image.height}): no features for this frame")
            image = None
        width, height = (int(image.width), int(image.height)) if image is not None else \
            (int(det_msg.image_width), int(det_msg.image_height))
        dets, dropped = sanitize_detections(dets, width, height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} detection(s) with NaN/inf, non-positive size or "
                               "outside the image dropped")
        out = EmbeddedDetectionArray(header=det_msg.header, image_width=width, image_height=height,
                                     model_name=self.model_name)
        features = None
        size_ok = image is None or not det_msg.image_width or (det_msg.image_width, det_msg.image_height) == (
            width, height)
        if not size_ok:
            self.errors.report("size_mismatch", f"detections are for a {det_msg.image_width}x"
                               f"{det_msg.image_height} image but the image is {width}x{height}: no features "
                               "for this frame")
        if self.embedder is not None and len(dets) and image is not None and size_ok:
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
        self.stats.on_output(self.now_s(), self.latency_ms(received_ns))


def main(args: list[str] | None = None) -> int:
    return run_node(EmbedderNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
