"""detector: sensor_msgs/Image -> reid_msgs/DetectionArray.

Backends (parameter ``backend``): ``ultralytics`` runs a YOLO model on every image;
``public`` relays MOTChallenge public detections (topic ``public_detections``, from a bag)
so trackers can be compared on the same boxes. One DetectionArray is published per input,
also when empty or when the input was bad, so every frame stays accounted for.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from reid_msgs.msg import Detection, DetectionArray
from sensor_msgs.msg import Image

from ..detection import build_detector
from ..detection.public import PublicDetections
from ..ros.conversions import (ImageConversionError, detection_msgs_from, detections_from_msg_list,
                               image_to_rgb, sanitize_detections)
from ..ros.node_runtime import ErrorCounter, run_node
from ..ros.params import declare_node_parameters
from ..ros.qos import data_qos, image_qos
from ..types import Detections


class DetectorNode(Node):
    def __init__(self) -> None:
        super().__init__("detector")
        self.params = declare_node_parameters(self, "detector", self._on_change)
        self.errors = ErrorCounter(self)
        p = self.params
        self.pub = self.create_publisher(DetectionArray, "detections", data_qos(p["queue_depth"]))
        if p["backend"] == "public":
            self.public = PublicDetections(min_score=p["min_score"])
            self.source = "public"
            self.create_subscription(DetectionArray, "public_detections", self.on_public,
                                     data_qos(p["queue_depth"]))
            self.get_logger().info("relaying public detections from 'public_detections'")
        else:
            # start-up work: load (and on first use export) the model before subscribing
            self.backend = build_detector("ultralytics", model=p["model"], conf=p["confidence"],
                                          iou=p["iou"], imgsz=p["imgsz"], device=p["device"],
                                          classes=tuple(int(c) for c in p["classes"]))
            self.source = self.backend.name
            self.create_subscription(Image, "image", self.on_image,
                                     image_qos(p["image_qos"], p["queue_depth"]))
            self.get_logger().info(f"detector ready: {self.source} imgsz={p['imgsz']} device={p['device']}")

    def _on_change(self, changes: dict) -> None:
        self.params.update(changes)
        if "min_score" in changes and self.params["backend"] == "public":
            self.public.min_score = changes["min_score"]
        if self.params["backend"] == "ultralytics":
            self.backend.set_thresholds(conf=self.params["confidence"], iou=self.params["iou"])

    def _publish(self, header, width: int, height: int, dets, started: float) -> None:
        out = DetectionArray(header=header, image_width=width, image_height=height, source=self.source)
        out.detections = detection_msgs_from(dets, Detection)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)

    def on_image(self, msg: Image) -> None:
        started = time.perf_counter()
        try:
            rgb = image_to_rgb(msg)
            dets = self.backend.detect(rgb)
        except ImageConversionError as exc:
            self.errors.report("bad_image", f"image skipped: {exc}")
            dets = Detections.empty()
        self._publish(msg.header, msg.width, msg.height, dets, started)

    def on_public(self, msg: DetectionArray) -> None:
        started = time.perf_counter()
        dets, dropped = sanitize_detections(detections_from_msg_list(msg.detections),
                                            msg.image_width, msg.image_height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} public detection(s) with NaN/inf, non-positive "
                               "size or outside the image dropped")
        self._publish(msg.header, msg.image_width, msg.image_height, self.public.filter(dets), started)


def main(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
