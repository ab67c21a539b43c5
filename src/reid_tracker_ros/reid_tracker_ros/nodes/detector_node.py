"""detector: sensor_msgs/Image (or CompressedImage) -> reid_msgs/DetectionArray. A lifecycle node.

Backend ``ultralytics`` runs a YOLO model on every image; ``public`` relays MOTChallenge public
detections so trackers can be compared on the same boxes. One DetectionArray per input, also
when empty or bad, so every frame stays accounted for. With compressed input the detector
decodes each frame once and passes the pixels on (docs/nodes.md says why)."""
from __future__ import annotations

import time

from reid_msgs.msg import Detection, DetectionArray
from sensor_msgs.msg import CompressedImage, Image

from ..detection import build_detector
from ..detection.public import PublicDetections
from ..images import ImageConversionError, compressed_to_rgb
from ..ros.conversions import (detection_msgs_from, detections_from_msg_list, fill_image_msg, image_to_rgb,
                               sanitize_detections, stamp_to_ns)
from ..ros.lifecycle import ManagedNode, message_info_value
from ..ros.node_runtime import run_node
from ..ros.qos import MIN_DATA_DEPTH, data_qos, image_qos
from ..stats import StampOrder
from ..topics import DECODED_IMAGE, DETECTIONS, IMAGE, PUBLIC_DETECTIONS
from ..types import Detections


class DetectorNode(ManagedNode):
    schema_name = "detector"

    def __init__(self) -> None:
        self.backend = None
        self.public: PublicDetections | None = None
        self.source = "unconfigured"
        self.pub = self.decoded_pub = None
        self._image_order = StampOrder()  # the images' own order when they are only relayed (public)
        super().__init__("detector")

    # -- lifecycle ---------------------------------------------------------------------------
    def configure_resources(self) -> None:
        p = self.params
        # queue_depth is the images' (keep-last 1 live: newest frame only); outputs are never dropped
        out = data_qos(max(p["queue_depth"], MIN_DATA_DEPTH))
        self.pub = self.make_publisher(DetectionArray, DETECTIONS, out)
        if p["image_transport"] == "compressed":
            self.decoded_pub = self.make_publisher(Image, DECODED_IMAGE, out)
        if p["backend"] == "public":
            self.public = PublicDetections(min_score=p["min_score"])
            self.source = "public"
        else:
            # the slow part of start-up: load (and on first use export) the model
            self.backend = build_detector("ultralytics", model=p["model"], conf=p["confidence"],
                                          iou=p["iou"], imgsz=p["imgsz"], device=p["device"],
                                          classes=tuple(int(c) for c in p["classes"]), runtime=p["runtime"])
            self.source = self.backend.name
        self.get_logger().info(f"detector ready: {self.source} imgsz={p['imgsz']} device={p['device']} "
                               f"input={p['image_transport']}")

    def create_inputs(self) -> list:
        p = self.params
        subs = []
        if p["backend"] == "public":
            subs.append(self.create_subscription(DetectionArray, PUBLIC_DETECTIONS, self.on_public,
                                                 data_qos(max(p["queue_depth"], MIN_DATA_DEPTH))))
        qos = image_qos(p["image_qos"], p["queue_depth"])
        if p["image_transport"] == "compressed":
            topic = self.resolve_topic_name(IMAGE) + "/compressed"
            subs.append(self.create_subscription(CompressedImage, topic, self.on_compressed, qos))
        elif p["backend"] != "public":
            subs.append(self.create_subscription(Image, IMAGE, self.on_image, qos))
        return subs

    def release_resources(self) -> None:
        self.backend = None
        self.public = None
        self.pub = self.decoded_pub = None
        self.source = "unconfigured"

    def on_parameters(self, changes: dict) -> None:
        if self.public is not None and "min_score" in changes:
            self.public.min_score = changes["min_score"]
        if self.backend is not None and ({"confidence", "iou"} & set(changes)):
            self.backend.set_thresholds(conf=self.params["confidence"], iou=self.params["iou"])

    def diagnostic_values(self) -> list[tuple[str, str]]:
        p = self.params
        return [("backend", p["backend"]), ("model", self.source), ("device", p["device"]),
                ("image_transport", p["image_transport"]), ("image_qos", p["image_qos"]),
                ("queue_depth", str(p["queue_depth"])), ("confidence", str(p["confidence"]))]

    # -- processing --------------------------------------------------------------------------
    def _publish(self, header, width: int, height: int, dets: Detections, started: float,
                 received_ns: int | None) -> None:
        out = DetectionArray(header=header, image_width=width, image_height=height, source=self.source)
        out.detections = detection_msgs_from(dets, Detection)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)
        self.stats.on_output(self.now_s(), self.latency_ms(received_ns))

    def _accept(self, msg, info, topic: str, order: StampOrder | None = None) -> int | None:
        """Count the input; returns DDS's receive time, or None when the frame is to be skipped.
        Images only relayed for the embedder (public backend) are not frames of this stage."""
        self.stats.on_input(self.now_s(), topic, message_info_value(info, "publication_sequence_number"),
                            counts_as_frame=order is None)
        if not self.check_stamp(stamp_to_ns(msg.header.stamp), topic, order):
            return None
        return message_info_value(info, "received_timestamp") or time.time_ns()

    def _detect(self, msg, rgb, started: float, received: int) -> None:
        if self.backend is None:
            return  # public backend: images are only relayed, detections come from the bag
        height, width = (rgb.shape[0], rgb.shape[1]) if rgb is not None else (int(getattr(msg, "height", 0)),
                                                                               int(getattr(msg, "width", 0)))
        dets = self.backend.detect(rgb) if rgb is not None else Detections.empty()
        self._publish(msg.header, width, height, dets, started, received)

    def on_image(self, msg: Image, info) -> None:
        started = time.perf_counter()
        received = self._accept(msg, info, "image")
        if received is None:
            return
        try:
            rgb = image_to_rgb(msg)
        except ImageConversionError as exc:
            self.errors.report("bad_image", f"image skipped: {exc}")
            rgb = None
        self._detect(msg, rgb, started, received)

    def on_compressed(self, msg: CompressedImage, info) -> None:
        started = time.perf_counter()
        order = self._image_order if self.backend is None else None
        received = self._accept(msg, info, "image/compressed", order)
        if received is None:
            return
        try:
            rgb = compressed_to_rgb(msg)
        except ImageConversionError as exc:
            self.errors.report("bad_image", f"compressed image skipped: {exc}")
            rgb = None
        if rgb is not None:
            decoded = Image(header=msg.header)
            fill_image_msg(decoded, rgb)
            self.decoded_pub.publish(decoded)  # before detecting: the embedder holds it meanwhile
        self._detect(msg, rgb, started, received)

    def on_public(self, msg: DetectionArray, info) -> None:
        started = time.perf_counter()
        received = self._accept(msg, info, "public_detections")
        if received is None:
            return
        dets, dropped = sanitize_detections(detections_from_msg_list(msg.detections),
                                            msg.image_width, msg.image_height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} public detection(s) with NaN/inf, non-positive "
                               "size or outside the image dropped")
        self._publish(msg.header, msg.image_width, msg.image_height, self.public.filter(dets), started, received)


def main(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
