"""Read back bags written by :mod:`reid_tracker_ros.mot.bag_writer`, one record per frame.

Each :class:`FrameRecord` carries both the deserialised ``rosbags`` message (for numpy access)
and the raw CDR bytes plus the ROS type name, so an rclpy publisher can forward a message
with ``rclpy.serialization.deserialize_message(raw, MsgClass)`` without field-by-field
conversion (the CDR layout is the one rclpy/rosbag2 use). No ROS imports here.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_types_from_msg

from reid_tracker_ros.mot.bag_writer import (
    COMPRESSED_TYPE,
    DETECTIONS_TYPE,
    IMAGE_TYPE,
    SEQUENCE_INFO_TOPIC,
    frame_from_stamp,
)
from reid_tracker_ros.mot.msg_types import get_store
from reid_tracker_ros.images import compressed_to_rgb, image_to_rgb

_IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_TYPE)


@dataclass(frozen=True)
class FrameRecord:
    """One frame of the bag: the image and the public detections sharing its header stamp."""

    index: int  # 1-based MOT frame number (from the stamp and sequence_info; else bag position)
    stamp_ns: int  # image header stamp
    image_msg: Any  # rosbags sensor_msgs Image or CompressedImage object
    image_raw: bytes  # its CDR bytes as stored in the bag
    image_msgtype: str  # "sensor_msgs/msg/Image" or "sensor_msgs/msg/CompressedImage"
    image_topic: str
    public_detections: Any | None  # rosbags reid_msgs DetectionArray, or None (no topic / not found)
    detections_raw: bytes | None
    detections_msgtype: str | None
    log_time_ns: int  # bag receive/log timestamp of the image


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


def image_to_numpy(msg: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a rosbags ``Image`` or ``CompressedImage``: the same conversion
    the nodes use (rosbags messages carry the same fields, ``data`` as a uint8 array)."""
    if hasattr(msg, "format"):  # CompressedImage
        return compressed_to_rgb(msg)
    return np.ascontiguousarray(image_to_rgb(msg))


class BagFrames:
    """Iterate a converted MOT bag frame by frame, in stamp order.

    ``image_topic`` / ``detections_topic`` default to what the bag's ``/mot/sequence_info``
    names (else the only image topic, and no detections unless the default public topic
    exists); pass ``detections_topic=""`` to skip detections. Iterating opens the bag anew
    each time, so the object can be iterated more than once.
    """

    def __init__(self, bag_path: str | Path, image_topic: str | None = None,
                 detections_topic: str | None = None) -> None:
        self.path = Path(bag_path)
        if not self.path.exists():
            raise FileNotFoundError(f"bag {self.path} does not exist")
        self.store = get_store()
        with Reader(self.path) as reader:
            conns = list(reader.connections)
            self._info = self._read_info(reader, conns)
        by_topic: dict[str, list] = {}
        for conn in conns:
            by_topic.setdefault(conn.topic, []).append(conn)
        self.image_topic = self._pick_image_topic(image_topic, by_topic)
        self.detections_topic = self._pick_detections_topic(detections_topic, by_topic)
        self._image_conns = by_topic[self.image_topic]
        self._det_conns = by_topic.get(self.detections_topic, []) if self.detections_topic else []
        for conn in self._image_conns + self._det_conns:
            self._ensure_type(conn)
        self._length = sum(c.msgcount for c in self._image_conns)

    # -- set-up helpers -------------------------------------------------------------------
    def _read_info(self, reader: Reader, conns: list) -> dict | None:
        info_conns = [c for c in conns if c.topic == SEQUENCE_INFO_TOPIC]
        for _, _, raw in reader.messages(connections=info_conns):
            msg = self.store.deserialize_cdr(raw, "std_msgs/msg/String")
            try:
                return json.loads(msg.data)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{self.path}: {SEQUENCE_INFO_TOPIC} is not valid JSON: {exc}") from exc
        return None

    def _pick_image_topic(self, wanted: str | None, by_topic: dict[str, list]) -> str:
        images = sorted(t for t, cs in by_topic.items() if cs[0].msgtype in _IMAGE_TYPES)
        if wanted is None and self._info and self._info.get("image_topic") in images:
            wanted = self._info["image_topic"]
        if wanted is None:
            if len(images) != 1:
                raise ValueError(f"{self.path}: cannot choose the image topic among {images}; pass image_topic")
            wanted = images[0]
        if wanted not in images:
            raise ValueError(f"{self.path}: no image topic {wanted!r} (image topics: {images})")
        return wanted

    def _pick_detections_topic(self, wanted: str | None, by_topic: dict[str, list]) -> str | None:
        if wanted == "":
            return None
        if wanted is None:
            wanted = self._info.get("detections_topic") if self._info else "/mot/public_detections"
            if wanted is None or wanted not in by_topic:
                return None
        if wanted not in by_topic or by_topic[wanted][0].msgtype != DETECTIONS_TYPE:
            raise ValueError(f"{self.path}: no {DETECTIONS_TYPE} topic {wanted!r} (topics: {sorted(by_topic)})")
        return wanted

    def _ensure_type(self, conn) -> None:
        """Register types unknown here from the bag's own definition; refuse changed definitions."""
        if conn.msgtype not in self.store.fielddefs:
            self.store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
            return
        if conn.digest.startswith("RIHS01_") and conn.digest != self.store.hash_rihs01(conn.msgtype):
            raise ValueError(
                f"{self.path}: topic {conn.topic} was written with a different {conn.msgtype} definition "
                f"({conn.digest}) than the one installed here ({self.store.hash_rihs01(conn.msgtype)}); "
                "reconvert the sequence"
            )

    # -- public API ---------------------------------------------------------------------
    def sequence_info(self) -> dict | None:
        """The JSON of ``/mot/sequence_info`` (name, frame_rate, im_width, ...), or None if absent."""
        return None if self._info is None else dict(self._info)

    def __len__(self) -> int:
        """Number of image messages (= frames) in the bag."""
        return self._length

    def _index(self, stamp_ns: int, position: int) -> int:
        info = self._info
        if info and info.get("frame_rate") and info.get("start_time_ns") is not None:
            return frame_from_stamp(stamp_ns, info["frame_rate"], info["start_time_ns"])
        return position

    def __iter__(self) -> Iterator[FrameRecord]:
        """Frames in log-time order. Detections are paired by header stamp; with our bags they
        are logged at the image's time, so a group of equal log times is complete once a later
        message arrives (one streaming pass, memory bounded by one frame)."""
        image_ids = {c.id for c in self._image_conns}
        pending_images: list[tuple[int, Any, bytes, str]] = []
        dets: dict[int, tuple[Any, bytes, str]] = {}
        group_time: int | None = None
        position = 0

        def flush() -> Iterator[FrameRecord]:
            nonlocal position
            for log_time, msg, raw, msgtype in pending_images:
                position += 1
                stamp = _stamp_ns(msg)
                det = dets.pop(stamp, None)
                yield FrameRecord(
                    index=self._index(stamp, position), stamp_ns=stamp, image_msg=msg, image_raw=raw,
                    image_msgtype=msgtype, image_topic=self.image_topic,
                    public_detections=det[0] if det else None, detections_raw=det[1] if det else None,
                    detections_msgtype=det[2] if det else None, log_time_ns=log_time,
                )
            if pending_images:  # detections older than the last image can no longer match
                last = _stamp_ns(pending_images[-1][1])
                for stale in [s for s in dets if s <= last]:
                    del dets[stale]
            pending_images.clear()

        with Reader(self.path) as reader:
            for conn, log_time, raw in reader.messages(connections=self._image_conns + self._det_conns):
                if group_time is not None and log_time != group_time:
                    yield from flush()
                group_time = log_time
                raw = bytes(raw)
                msg = self.store.deserialize_cdr(raw, conn.msgtype)
                if conn.id in image_ids:
                    pending_images.append((log_time, msg, raw, conn.msgtype))
                else:
                    dets[_stamp_ns(msg)] = (msg, raw, conn.msgtype)
            yield from flush()
