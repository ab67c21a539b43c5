"""source: a video file, webcam or image folder -> sensor_msgs/Image (bgr8) + CameraInfo, for
users without a camera driver and for playing recorded videos through the graph. Playback
``realtime``, ``fast`` or ``lockstep`` (the next frame once the previous frame's tracks are
back, so a slow computer still processes every frame)."""
from __future__ import annotations

import time

from rclpy.node import Node
from reid_msgs.msg import TrackArray
from sensor_msgs.msg import CameraInfo, Image

from ..ros.conversions import fill_image_msg, stamp_to_ns
from ..ros.node_runtime import run_node
from ..ros.params import declare_node_parameters
from ..ros.qos import data_qos
from ..ros.viz_conversions import camera_info_msg
from ..sources import CameraReader, iterate, open_source
from ..topics import CAMERA_INFO, IMAGE, TRACKS
from ..visualization.geometry import CameraModel

SETTLE_S = 0.5  # after the subscribers appear: let their own connections (detector -> embedder ...) match


def camera_from_params(p: dict, width: int, height: int) -> CameraModel:
    """Intrinsics from fx/fy/cx/cy (0 = derived), else from the horizontal field of view."""
    if p["fx"] <= 0:
        return CameraModel.from_hfov(width, height, p["hfov_deg"])
    return CameraModel(p["fx"], p["fy"] or p["fx"], p["cx"] or width / 2.0, p["cy"] or height / 2.0, width, height)


class SourceNode(Node):
    def __init__(self) -> None:
        super().__init__("source")
        p = self.params = declare_node_parameters(self, "source")
        self.reader = open_source(p["uri"], p["start_frame"], camera_fps=p["fps"])
        self.live = isinstance(self.reader, CameraReader)
        self.frames = iterate(self.reader, p["max_frames"], p["loop"])
        self.rate = p["fps"] or self.reader.fps
        q = data_qos(p["queue_depth"])  # reliable: matches best-effort and reliable subscribers alike
        self.image_pub = self.create_publisher(Image, IMAGE, q)
        self.info_pub = self.create_publisher(CameraInfo, CAMERA_INFO, q)
        self.camera: CameraModel | None = None
        self.sent = 0
        self.unanswered = 0
        self._last_stamp = 0
        self._waiting_for: int | None = None  # lockstep: stamp whose tracks are awaited
        self._waiting_since = 0.0
        self._ready_at: float | None = None
        self._timers = []
        self.done = False
        self._tracks_sub = None
        if p["playback"] == "lockstep":
            self._tracks_sub = self.create_subscription(TrackArray, TRACKS, self.on_tracks, data_qos(10))
        count = self.reader.frame_count
        self.get_logger().info(
            f"source '{self.reader.name}' ({self.reader.width}x{self.reader.height}, "
            f"{'endless' if count is None else f'{count} frames'}, {self.reader.fps:g} frames/s), playback "
            f"{p['playback']}" + (f" at {self.rate:g} frames/s" if p["playback"] == "realtime" else ""))
        self._gate = self.create_timer(0.05, self._wait_for_graph)

    # -- start: wait for the subscribers (files only: a camera's frames are worth nothing later) --
    def _wait_for_graph(self) -> None:
        wanted = 0 if self.live else self.params["wait_for_subscribers"]
        if self.image_pub.get_subscription_count() < wanted:
            return
        if self._tracks_sub is not None and self.count_publishers(self._tracks_sub.topic_name) == 0:
            return
        now = time.monotonic()
        if self._ready_at is None:
            self._ready_at = now + (SETTLE_S if wanted else 0.0)
        if now < self._ready_at:
            return
        self._gate.cancel()
        mode = self.params["playback"]
        if mode == "realtime":
            self._timers.append(self.create_timer(1.0 / self.rate, self.publish_next))
        elif mode == "fast":
            self._timers.append(self.create_timer(0.001, self.publish_next))
        else:
            self._timers.append(self.create_timer(0.05, self._check_timeout))
            self.publish_next()

    def _stamp_ns(self) -> int:
        now = self.get_clock().now().nanoseconds
        self._last_stamp = max(now, self._last_stamp + 1)  # unique and increasing: the pairing key
        return self._last_stamp

    def publish_next(self) -> None:
        if self.done:
            return
        frame = next(self.frames, None)
        if frame is None:
            self._finish()
            return
        image = frame.image
        if self.camera is None or (self.camera.width, self.camera.height) != (image.shape[1], image.shape[0]):
            self.camera = camera_from_params(self.params, image.shape[1], image.shape[0])
        stamp = self._stamp_ns()
        msg = Image()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.header.frame_id = self.params["frame_id"]
        fill_image_msg(msg, image, encoding="bgr8")
        self.info_pub.publish(camera_info_msg(msg.header, self.camera))
        self.image_pub.publish(msg)
        self.sent += 1
        if self.params["playback"] == "lockstep":
            self._waiting_for, self._waiting_since = stamp, time.monotonic()

    def on_tracks(self, msg: TrackArray) -> None:
        if msg.kind != TrackArray.DETECTED:
            return  # a prediction does not mean the frame went through the graph
        if self._waiting_for is not None and stamp_to_ns(msg.header.stamp) == self._waiting_for:
            self._waiting_for = None
            self.publish_next()

    def _check_timeout(self) -> None:
        if self._waiting_for is None or self.done:
            return
        if time.monotonic() - self._waiting_since >= self.params["lockstep_timeout_s"]:
            self.unanswered += 1
            self.get_logger().warn(f"no tracks for frame {self.sent - 1} within "
                                   f"{self.params['lockstep_timeout_s']:g} s: going on "
                                   f"({self.unanswered} unanswered so far)")
            self._waiting_for = None
            self.publish_next()

    def _finish(self) -> None:
        self.done = True
        for timer in self._timers:
            timer.cancel()
        self.reader.close()
        extra = f", {self.unanswered} without tracks" if self.params["playback"] == "lockstep" else ""
        self.get_logger().info(f"end of source '{self.reader.name}': {self.sent} frames sent{extra}")


def main(args: list[str] | None = None) -> int:
    return run_node(SourceNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
