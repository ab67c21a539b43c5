"""tracker: reid_msgs/EmbeddedDetectionArray -> reid_msgs/TrackArray.

All tracking logic is in ``reid_tracker_ros.tracking`` (Kalman filter, costs, gating,
assignment, lifecycle, strategies); this node converts messages and calls
``Tracker.update`` once per input message, publishing a TrackArray for every input (also
empty) with the input's header, so evaluation can pair every frame.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from reid_msgs.msg import EmbeddedDetectionArray, Track, TrackArray

from ..ros.conversions import detections_from_msg_list, embeddings_from_msg, sanitize_detections, track_msgs_from
from ..ros.node_runtime import ErrorCounter, run_node
from ..ros.params import declare_node_parameters
from ..ros.qos import data_qos
from ..tracking import build_tracker

# node parameters that are tracker-core settings (the rest are ROS plumbing)
_CORE_KEYS = ("n_init", "max_age", "max_iou_distance", "max_cosine_distance", "nn_budget", "min_score",
              "report_lost")


def tracker_config(params: dict) -> dict:
    """Node parameters -> the core's TrackerConfig dict."""
    return {"strategy": params["tracker"], **{k: params[k] for k in _CORE_KEYS}}


class TrackerNode(Node):
    def __init__(self) -> None:
        super().__init__("tracker")
        p = self.params = declare_node_parameters(self, "tracker", self._on_change)
        self.errors = ErrorCounter(self)
        self.tracker = build_tracker(tracker_config(p))
        self._features = None  # (model name, dimension) of the features the galleries hold
        self.pub = self.create_publisher(TrackArray, "tracks", data_qos(p["queue_depth"]))
        self.create_subscription(EmbeddedDetectionArray, "embedded_detections", self.on_detections,
                                 data_qos(p["queue_depth"]))
        self.get_logger().info(f"tracker ready: {p['tracker']}")

    def _on_change(self, changes: dict) -> None:
        self.params.update(changes)
        self.tracker.reconfigure(tracker_config(self.params))

    def on_detections(self, msg: EmbeddedDetectionArray) -> None:
        started = time.perf_counter()
        dets = detections_from_msg_list(msg.detections)
        try:
            dets.embeddings = embeddings_from_msg(msg)
        except ValueError as exc:
            self.errors.report("bad_embeddings", f"features ignored (motion only this frame): {exc}")
            dets.embeddings = None
        if dets.embeddings is not None:
            features = (msg.model_name, dets.embeddings.shape[1])
            if self._features is not None and features != self._features:
                # features of another model cannot be compared with the galleries: start afresh
                self.get_logger().warn(f"appearance features changed from {self._features} to {features} "
                                       "(embedder restarted with another model?): tracks reset")
                self.tracker.reset()
            self._features = features
        dets, dropped = sanitize_detections(dets, msg.image_width, msg.image_height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} detection(s) with NaN/inf, non-positive size or "
                               "outside the image dropped")
        snapshot = self.tracker.update(dets)
        out = TrackArray(header=msg.header, image_width=msg.image_width, image_height=msg.image_height,
                         tracker=self.params["tracker"])
        out.tracks = track_msgs_from(snapshot, Track)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)


def main(args: list[str] | None = None) -> int:
    return run_node(TrackerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
