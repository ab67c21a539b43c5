"""The evaluator's ROS side: plays bag frames into the running graph and collects tracks.

Two modes:
- lockstep: publish frame k (its public detections, then its image) and wait until the
  tracks stamped k arrive; a frame whose tracks do not arrive within the timeout is counted
  as dropped (nothing is skipped silently). Reliable QoS everywhere.
- realtime: publish at the sequence frame rate (times ``rate``) without waiting, then wait
  for the stragglers; frames whose tracks never arrive are dropped.

A live graph (``prediction_budget_s`` > 0) may answer a frame first with a PREDICTED TrackArray
and later, when its detections come, with a DETECTED one of the same stamp. The latency is taken
at the first answer; the DETECTED answer replaces the PREDICTED one for scoring (the best answer
per frame, as docs/nodes.md tells consumers), and ``first`` keeps the first answers so both can
be scored. Lockstep waits for a DETECTED answer: a prediction never advances it.

"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import rclpy
from rclpy.node import Node
from reid_msgs.msg import DetectionArray, EmbeddedDetectionArray, TrackArray
from sensor_msgs.msg import Image

from ..topics import DEFAULT_PUBLIC_DETECTIONS_TOPIC, DETECTIONS, EMBEDDED_DETECTIONS, TRACKS
from ..mot.timing import StageClock
from ..ros.conversions import stamp_to_ns
from ..ros.qos import data_qos

DEPTH = 1000  # evaluation keeps everything: a deep reliable history


@dataclass
class ReplayFrame:
    index: int  # 1-based MOT frame number
    stamp_ns: int
    image: Image
    detections: DetectionArray | None  # public detections


@dataclass
class ReplayResult:
    tracks: dict[int, TrackArray] = field(default_factory=dict)  # frame index -> tracks (DETECTED preferred)
    first: dict[int, TrackArray] = field(default_factory=dict)  # frame index -> the first tracks that came
    dropped: list[int] = field(default_factory=list)  # frame indices without tracks
    late: int = 0  # tracks that arrived after their frame was declared dropped
    clock: StageClock = field(default_factory=StageClock)
    wall_s: float = 0.0


class ReplayNode(Node):
    def __init__(self, image_topic: str, public_detections: bool, topics_ns: str = "",
                 detections_topic: str = DEFAULT_PUBLIC_DETECTIONS_TOPIC, name: str = "mot_replay") -> None:
        super().__init__(name)
        q = data_qos(DEPTH)
        self.image_pub = self.create_publisher(Image, image_topic, q)
        self.det_pub = (self.create_publisher(DetectionArray, detections_topic, q)
                        if public_detections else None)
        self.clock = StageClock()
        self._frame_of_stamp: dict[int, int] = {}
        self.result = ReplayResult(clock=self.clock)
        self._ping_stamps: set[int] = set()
        self._ping_seen: set[int] = set()
        self._ping = 1  # stamps 2, 3, ... ns after the epoch: never a real frame's stamp
        ns = topics_ns.rstrip("/")
        self.create_subscription(DetectionArray, f"{ns}/{DETECTIONS}", self._on_stage(DETECTIONS), q)
        self.create_subscription(EmbeddedDetectionArray, f"{ns}/{EMBEDDED_DETECTIONS}",
                                 self._on_stage(EMBEDDED_DETECTIONS), q)
        self.tracks_topic = f"{ns}/{TRACKS}"
        self.create_subscription(TrackArray, self.tracks_topic, self._on_tracks, q)

    def _on_stage(self, event: str) -> Callable:
        stage = {DETECTIONS: "detector", EMBEDDED_DETECTIONS: "embedder"}[event]

        def callback(msg, info: dict) -> None:
            stamp = stamp_to_ns(msg.header.stamp)
            if stamp in self._frame_of_stamp:
                # when the stage published (DDS source timestamp, system clock): not when this
                # process got round to the callback, which its own work would delay
                self.clock.mark(event, stamp, info["source_timestamp"] * 1e-9)
                self.clock.processing_ms[stage].append(float(msg.processing_ms))
        return callback

    def _on_tracks(self, msg: TrackArray, info: dict) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        if stamp in self._ping_stamps:
            if msg.kind == TrackArray.DETECTED:  # through every stage, not a live graph's prediction
                self._ping_seen.add(stamp)
            return
        frame = self._frame_of_stamp.get(stamp)
        if frame is None:
            return
        if frame in self.result.tracks:
            if msg.kind == TrackArray.DETECTED and self.result.tracks[frame].kind == TrackArray.PREDICTED:
                self.result.tracks[frame] = msg  # its detections came after the prediction
                self.clock.mark("tracks_detected", stamp, info["received_timestamp"] * 1e-9)
                self.clock.processing_ms["tracker"].append(float(msg.processing_ms))
            return  # else a duplicate
        if frame in self.result.dropped:
            self.result.late += 1
            return
        self.clock.mark("tracks", stamp, info["received_timestamp"] * 1e-9)
        if msg.kind == TrackArray.DETECTED:
            self.clock.mark("tracks_detected", stamp, info["received_timestamp"] * 1e-9)
            self.clock.processing_ms["tracker"].append(float(msg.processing_ms))
        self.result.tracks[frame] = msg
        self.result.first[frame] = msg

    def _detected(self, frame: int) -> bool:
        msg = self.result.tracks.get(frame)
        return msg is not None and msg.kind == TrackArray.DETECTED

    # -- start-up ----------------------------------------------------------------------------
    def wait_for_graph(self, timeout_s: float, alive: Callable[[], None] = lambda: None,
                       blank_image: Image | None = None, image_subscribers: int = 1) -> None:
        """Wait until the graph's nodes are discovered and all ``image_subscribers``
        (:func:`~reid_tracker_ros.graph.image_subscriber_count`) are matched, then send blank
        frames (no people, no detections) until one comes back as tracks: proves the whole
        chain is connected without giving the tracker any state. The blank frames cannot prove
        the images' paths (the embedder answers empty detections without its image), hence
        the count: with one subscriber too few the first frame's image could miss the embedder."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            alive()
            rclpy.spin_once(self, timeout_sec=0.05)
            if self.count_publishers(self.tracks_topic) > 0 and \
                    self.image_pub.get_subscription_count() >= max(1, image_subscribers) and (
                    self.det_pub is None or self.det_pub.get_subscription_count() > 0):
                break
        else:
            raise TimeoutError(f"the node graph did not appear within {timeout_s:.0f} s (image subscribers "
                               f"{self.image_pub.get_subscription_count()} of {image_subscribers})")
        if blank_image is None:
            return
        while time.monotonic() < deadline:
            alive()
            self._ping += 1
            stamp = self._ping
            self._ping_stamps.add(stamp)
            blank_image.header.stamp.sec, blank_image.header.stamp.nanosec = 0, stamp
            if self.det_pub is not None:
                ping = DetectionArray(header=blank_image.header, image_width=blank_image.width,
                                      image_height=blank_image.height, source="ping")
                self.det_pub.publish(ping)
            self.image_pub.publish(blank_image)
            until = time.monotonic() + 1.0
            while time.monotonic() < until and stamp not in self._ping_seen:
                rclpy.spin_once(self, timeout_sec=0.02)
            # done only when the ping just sent came back within its second: an answer to an
            # older ping means the graph is still working off a start-up backlog, and the first
            # real frame sent into that backlog was, now and then, never answered
            if stamp in self._ping_seen:
                return
        raise TimeoutError(f"no tracks came back for a blank frame within {timeout_s:.0f} s: "
                           "the graph is up but not connected end to end")

    # -- replay ------------------------------------------------------------------------------
    def _publish(self, frame: ReplayFrame) -> None:
        self._frame_of_stamp[frame.stamp_ns] = frame.index
        if self.det_pub is not None:
            if frame.detections is not None:
                self.det_pub.publish(frame.detections)
        self.clock.mark("published", frame.stamp_ns, time.time_ns() * 1e-9)  # same clock as DDS stamps
        self.image_pub.publish(frame.image)

    def run_lockstep(self, frames: Iterable[ReplayFrame], timeout_s: float,
                     alive: Callable[[], None] = lambda: None, progress=None) -> ReplayResult:
        start = time.monotonic()
        for frame in frames:
            self._publish(frame)
            deadline = time.monotonic() + timeout_s
            while not self._detected(frame.index) and time.monotonic() < deadline:
                rclpy.spin_once(self, timeout_sec=0.01)
            if not self._detected(frame.index):
                self.result.tracks.pop(frame.index, None)
                alive()
                self.result.dropped.append(frame.index)
            if progress is not None:
                progress(frame.index)
        self.result.wall_s = time.monotonic() - start
        return self.result

    def run_realtime(self, frames: Iterable[ReplayFrame], fps: float, drain_timeout_s: float,
                     alive: Callable[[], None] = lambda: None, progress=None) -> ReplayResult:
        start = time.monotonic()
        sent: list[int] = []
        period = 1.0 / fps if fps > 0 else 0.0
        for k, frame in enumerate(frames):
            due = start + k * period
            while time.monotonic() < due:
                rclpy.spin_once(self, timeout_sec=max(0.0, min(0.005, due - time.monotonic())))
            self._publish(frame)
            sent.append(frame.index)
            rclpy.spin_once(self, timeout_sec=0.0)
            if progress is not None:
                progress(frame.index)
        deadline = time.monotonic() + drain_timeout_s
        while len(self.result.tracks) < len(sent) and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.01)
        alive()
        self.result.dropped = [i for i in sent if i not in self.result.tracks]
        self.result.wall_s = time.monotonic() - start
        return self.result
