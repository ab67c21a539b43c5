"""visualizer: tracks + image (+ camera_info, + aligned depth) -> annotated image, RViz markers,
poses and a point cloud of people, in the image's frame and with its stamp (topics: README,
"On a robot camera"). The 3D outputs go out as soon as the tracks arrive; the annotated image
waits for the image of the same stamp."""
from __future__ import annotations

from collections import deque

import numpy as np
from geometry_msgs.msg import PoseArray
from rclpy.node import Node
from reid_msgs.msg import TrackArray
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from ..images import ImageConversionError
from ..ros.conversions import fill_image_msg, image_to_rgb, stamp_to_ns
from ..ros.node_runtime import ErrorCounter, run_node
from ..ros.params import declare_node_parameters
from ..ros.qos import data_qos, image_qos
from ..stats import StampOrder, StampVerdict
from ..ros.viz_conversions import (camera_from_info, depth_from_msg, marker_array_msg,
                                   point_cloud_msg, pose_array_msg, snapshot_from_msg)
from ..sync import ExactStampPairer
from ..topics import CAMERA_INFO, DEPTH, IMAGE, TRACKS
from ..topics import VISUALIZER_TOPICS as TOPICS
from ..visualization import TrackVisualizer, VisualizerSettings

DEPTH_TOLERANCE_NS = 100_000_000  # an aligned depth frame within 0.1 s of the image belongs to it


def bgr_view(msg: Image) -> np.ndarray | None:
    """A bgr8 image's pixels without conversion (None for other encodings or bad sizes)."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if msg.encoding != "bgr8" or not h or not w or step < 3 * w or len(msg.data) < step * h:
        return None
    rows = np.frombuffer(msg.data, np.uint8)[: step * h].reshape(h, step)[:, : 3 * w]
    return rows.reshape(h, w, 3)


class VisualizerNode(Node):
    def __init__(self) -> None:
        super().__init__("visualizer")
        p = self.params = declare_node_parameters(self, "visualizer", self._on_change)
        self.errors = ErrorCounter(self)
        self.core = TrackVisualizer(VisualizerSettings.from_params(p))
        self.pairer: ExactStampPairer[Image, tuple] = ExactStampPairer(p["pair_cache_size"],
                                                                       b_supersedes_older_a=True)
        self.camera = None
        self._tracks_order = StampOrder()  # a PREDICTED newer frame makes a late DETECTED one stale
        self._depth: deque = deque(maxlen=10)  # (stamp ns, Image)
        q = data_qos(p["queue_depth"])
        self.pub_image = self.create_publisher(Image, TOPICS["annotated_image"], q)
        self.pub_markers = self.create_publisher(MarkerArray, TOPICS["markers"], q)
        self.pub_poses = self.create_publisher(PoseArray, TOPICS["poses"], q)
        self.pub_points = self.create_publisher(PointCloud2, TOPICS["points"], q)
        # camera topics share the image's QoS: sensor_data (best effort) accepts every driver's
        # publishers; reliable (lockstep) loses nothing, not even the first frames
        camera_qos = image_qos(p["image_qos"], p["queue_depth"])
        # created before 'tracks': when both are ready, the executor serves camera data first
        self.create_subscription(CameraInfo, CAMERA_INFO, self.on_camera_info, camera_qos)
        if p["use_depth"]:
            self.create_subscription(Image, DEPTH, self.on_depth, camera_qos)
        self.create_subscription(Image, IMAGE, self.on_image, camera_qos)
        self.create_subscription(TrackArray, TRACKS, self.on_tracks, data_qos(p["queue_depth"]))
        self.get_logger().info("visualizer ready: 3D from " + ("aligned depth, else " if p["use_depth"] else "")
                               + f"the ground plane (camera {p['camera_height_m']:g} m up, pitch "
                               f"{p['camera_pitch_deg']:g} deg)")

    def _on_change(self, changes: dict) -> None:
        self.params.update(changes)
        for key, value in changes.items():
            if hasattr(self.core.settings, key):
                setattr(self.core.settings, key, value)

    def on_camera_info(self, msg: CameraInfo) -> None:
        camera = camera_from_info(msg)
        if camera is None:
            self.errors.report("bad_camera_info", f"CameraInfo with K={list(msg.k)} and size "
                               f"{msg.width}x{msg.height} ignored (uncalibrated?): using hfov_deg")
        self.camera = camera

    def on_depth(self, msg: Image) -> None:
        self._depth.append((stamp_to_ns(msg.header.stamp), msg))

    def _depth_for(self, stamp: int) -> np.ndarray | None:
        if not self._depth:
            return None
        depth_stamp, msg = min(self._depth, key=lambda item: abs(item[0] - stamp))
        if abs(depth_stamp - stamp) > DEPTH_TOLERANCE_NS:
            self.errors.report("no_depth", "no depth image within 0.1 s of the tracks: ground plane used")
            return None
        try:
            return depth_from_msg(msg)
        except ImageConversionError as exc:
            self.errors.report("bad_depth", f"depth image ignored: {exc}")
            return None

    def on_tracks(self, msg: TrackArray) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        if self._tracks_order.check(stamp) not in (StampVerdict.NEW, StampVerdict.JUMP_BACK):
            return  # older than a frame already shown (its PREDICTED answer was drawn): stale
        snapshot = snapshot_from_msg(msg)
        predicted = msg.kind == TrackArray.PREDICTED
        width, height = int(msg.image_width), int(msg.image_height)
        if self.camera is None and (width <= 0 or height <= 0):
            self.errors.report("no_size", "tracks without image size and no CameraInfo yet: no 3D output")
        else:
            camera = self.core.camera_for(self.camera, width or self.camera.width, height or self.camera.height)
            depth = self._depth_for(stamp) if self.params["use_depth"] else None
            scene = self.core.update(snapshot, stamp * 1e-9, camera, depth, predicted=predicted)
            header = msg.header
            if scene.markers:
                self.pub_markers.publish(marker_array_msg(header, scene.markers))
            self.pub_poses.publish(pose_array_msg(header, scene.positions, scene.orientations))
            self.pub_points.publish(point_cloud_msg(header, scene.cloud))
        pair = self.pairer.add_b(stamp, (snapshot, predicted))
        if pair is not None:
            self.publish_annotated(*pair)

    def on_image(self, msg: Image) -> None:
        pair = self.pairer.add_a(stamp_to_ns(msg.header.stamp), msg)
        if pair is not None:
            self.publish_annotated(*pair)

    def publish_annotated(self, image: Image, tracks: tuple) -> None:
        snapshot, predicted = tracks
        out = Image(header=image.header)
        bgr = bgr_view(image)
        try:
            if bgr is not None:
                fill_image_msg(out, self.core.annotate(bgr.copy(), snapshot, rgb=False, predicted=predicted), encoding="bgr8")
            else:
                fill_image_msg(out, self.core.annotate(image_to_rgb(image).copy(), snapshot, rgb=True,
                                                         predicted=predicted))
        except ImageConversionError as exc:
            self.errors.report("bad_image", f"no annotated image for this frame: {exc}")
            return
        self.pub_image.publish(out)


def main(args: list[str] | None = None) -> int:
    return run_node(VisualizerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
