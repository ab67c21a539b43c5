"""Conversions between ROS messages and the cores' numpy types.

Images: numpy converts the common 8-bit encodings (a zero-copy view for rgb8); for any other
encoding ``cv_bridge`` is used when it is importable (apt ROS; it cannot be installed from
PyPI). Either way the result is an RGB uint8 HxWx3 array, the single layout every core expects.

Speed notes (rclpy): the generated setters of array fields take ``array.array`` without a
per-element check or copy loop, while an ndarray (and, on Humble, ``bytes``) is walked element
by element (30-90 ms for one 960x540 frame). Outgoing arrays are therefore wrapped with
:func:`uint8_array` / :func:`float32_array`; on receive ``np.frombuffer(msg.data, np.uint8)``
is a zero-copy view.
"""
from __future__ import annotations

import array

import numpy as np

from ..types import Detections, TrackSnapshot, tlwh_to_xyxy, valid_box_mask, xyxy_to_tlwh

_BRIDGE = None  # cv_bridge.CvBridge, imported on first need (its import is slow and may fail)


def uint8_array(data: bytes) -> array.array:
    """bytes -> array('B') in one memcpy: the fast path of rclpy's uint8[] setters."""
    out = array.array("B")
    out.frombytes(data)
    return out


def float32_array(values: np.ndarray) -> array.array:
    """ndarray -> array('f') in one memcpy: the fast path of rclpy's float32[] setters."""
    out = array.array("f")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


def _cv_bridge_to_rgb(msg) -> np.ndarray | None:
    """Convert with cv_bridge when it is importable, else None."""
    global _BRIDGE
    if _BRIDGE is None:
        try:
            from cv_bridge import CvBridge  # type: ignore
        except Exception:  # noqa: BLE001 - missing, or built against another numpy
            _BRIDGE = False
        else:
            _BRIDGE = CvBridge()
    if not _BRIDGE:
        return None
    try:
        return np.ascontiguousarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception as exc:  # noqa: BLE001 - cv_bridge raises its own error types
        raise ImageConversionError(f"cv_bridge could not convert '{msg.encoding}' image: {exc}") from exc

# encoding -> (channels, channel order to take for R, G, B or None for grey)
_ENCODINGS: dict[str, tuple[int, tuple[int, int, int] | None]] = {
    "rgb8": (3, (0, 1, 2)),
    "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)),
    "mono8": (1, None),
    "8UC3": (3, (0, 1, 2)),
    "8UC1": (1, None),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)


class ImageConversionError(ValueError):
    """An image message that cannot be turned into an RGB array (the message says why)."""


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB (a view when the encoding is already rgb8)."""
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    encoding = msg.encoding
    if encoding not in _ENCODINGS:
        converted = _cv_bridge_to_rgb(msg) if height and width else None
        if converted is not None:
            return converted
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}' (supported: {', '.join(SUPPORTED_ENCODINGS)})")
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    channels, order = _ENCODINGS[encoding]
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if step < width * channels:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {width * channels} for '{encoding}'")
    if buf.size < step * height:
        raise ImageConversionError(
            f"data holds {buf.size} bytes but step*height = {step * height} ({width}x{height} '{encoding}')")
    rows = buf[: step * height].reshape(height, step)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    if order is None:
        return np.repeat(pixels, 3, axis=2)
    if order == (0, 1, 2) and channels == 3:
        return pixels
    return np.ascontiguousarray(pixels[:, :, list(order)])


def compressed_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 RGB."""
    import cv2

    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageConversionError("empty CompressedImage")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageConversionError(f"could not decode CompressedImage (format '{msg.format}')")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fill_image_msg(msg, rgb: np.ndarray, encoding: str = "rgb8") -> None:
    """Write an HxWx3 uint8 array into a sensor_msgs/Image as ``encoding`` (rgb8, or bgr8 for
    OpenCV frames: no colour conversion either way; bytes assignment)."""
    if encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"fill_image_msg writes rgb8 or bgr8, not {encoding!r}")
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = 3 * msg.width
    msg.data = uint8_array(rgb.tobytes())


def detections_from_msg_list(detection_msgs) -> Detections:
    """reid_msgs/Detection[] -> Detections (xyxy). Non-finite values are kept for the cores
    to validate; see :func:`sanitize_detections`."""
    n = len(detection_msgs)
    if n == 0:
        return Detections.empty()
    arr = np.array([(d.x, d.y, d.width, d.height, d.score, d.class_id) for d in detection_msgs],
                   dtype=np.float64)
    return Detections(tlwh_to_xyxy(arr[:, :4]), arr[:, 4], arr[:, 5].astype(np.int64))


def sanitize_detections(dets: Detections, image_width: int, image_height: int) -> tuple[Detections, int]:
    """Drop detections no core can use: NaN/inf values, non-positive size, or (when the image
    size is known) a box with no overlap with the image. Boxes partly outside are kept as they
    are: MOT boxes legitimately extend past the border, clipping would distort the Kalman
    filter's aspect ratio, and the embedder clips its crops itself. Returns (kept, dropped)."""
    if len(dets) == 0:
        return dets, 0
    boxes = dets.boxes
    keep = valid_box_mask(boxes, dets.scores)
    if dets.embeddings is not None:
        keep &= np.isfinite(dets.embeddings).all(axis=1)
    with np.errstate(invalid="ignore"):
        if image_width > 0 and image_height > 0:
            keep &= (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & (boxes[:, 0] < image_width) & \
                (boxes[:, 1] < image_height)
    return dets.subset(keep), int((~keep).sum())


def detection_msgs_from(dets: Detections, msg_type) -> list:
    """Detections -> list of reid_msgs/Detection (tlwh)."""
    tlwh = xyxy_to_tlwh(dets.boxes)
    out = []
    for (x, y, w, h), score, cls in zip(tlwh.tolist(), dets.scores.tolist(), dets.class_ids.tolist()):
        out.append(msg_type(x=float(x), y=float(y), width=float(w), height=float(h),
                            score=float(score), class_id=int(cls)))
    return out


def embeddings_from_msg(msg) -> np.ndarray | None:
    """EmbeddedDetectionArray -> (N, D) float32 view, or None when no model ran (D = 0)."""
    n, dim = len(msg.detections), int(msg.embedding_dim)
    if dim == 0:
        return None
    flat = np.frombuffer(msg.embeddings, dtype=np.float32) if isinstance(msg.embeddings, (bytes, bytearray)) \
        else np.asarray(msg.embeddings, dtype=np.float32)
    if flat.size != n * dim:
        raise ValueError(f"embeddings hold {flat.size} values, expected {n} detections x {dim}")
    return flat.reshape(n, dim)


def track_msgs_from(snapshot: TrackSnapshot, msg_type) -> list:
    """TrackSnapshot -> list of reid_msgs/Track."""
    tlwh = xyxy_to_tlwh(snapshot.boxes)
    vel = snapshot.velocities if len(snapshot.velocities) == len(snapshot) else np.zeros((len(snapshot), 2))
    out = []
    for i in range(len(snapshot)):
        x, y, w, h = tlwh[i].tolist()
        out.append(msg_type(
            track_id=int(snapshot.track_ids[i]), x=float(x), y=float(y), width=float(w), height=float(h),
            score=float(snapshot.scores[i]), class_id=int(snapshot.class_ids[i]),
            state=int(snapshot.states[i]), age=int(snapshot.ages[i]), hits=int(snapshot.hits[i]),
            frames_since_update=int(snapshot.frames_since_update[i]),
            velocity_x=float(vel[i, 0]), velocity_y=float(vel[i, 1])))
    return out


def stamp_to_ns(stamp) -> int:
    """builtin_interfaces/Time -> integer nanoseconds (the pairing key between topics)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
