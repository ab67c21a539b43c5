"""Conversions between ROS messages and the cores' numpy types. Incoming images: the pure
:mod:`reid_tracker_ros.images`, with ``cv_bridge`` (apt ROS only: it cannot be installed from
PyPI) for encodings numpy does not convert.

Speed notes (rclpy): the generated setters of array fields take ``array.array`` without a
per-element check or copy loop, while an ndarray (and, on Humble, ``bytes``) is walked element
by element (30-90 ms for one 960x540 frame). Outgoing arrays are therefore wrapped with
:func:`uint8_array` / :func:`float32_array`; on receive ``np.frombuffer(msg.data, np.uint8)``
is a zero-copy view.
"""
from __future__ import annotations

import array
from collections.abc import Mapping

import numpy as np

from .. import images
from ..images import ImageConversionError
from ..identity.assign import TrackSummary
from ..types import Detections, TrackSnapshot, tlwh_to_xyxy, valid_box_mask, xyxy_to_tlwh

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


_BRIDGE = None  # cv_bridge.CvBridge, imported on first need (its import is slow and may fail)


def cv_bridge_to_rgb(msg) -> np.ndarray | None:
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


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB; cv_bridge converts the encodings numpy does not."""
    return images.image_to_rgb(msg, fallback=cv_bridge_to_rgb)


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


def track_msgs_from(snapshot: TrackSnapshot, msg_type, global_ids: Mapping[int, int] | None = None) -> list:
    """TrackSnapshot -> list of reid_msgs/Track; ``global_ids``: track id -> global id (else 0)."""
    global_ids = global_ids or {}
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
            velocity_x=float(vel[i, 0]), velocity_y=float(vel[i, 1]),
            global_id=int(global_ids.get(int(snapshot.track_ids[i]), 0))))
    return out


def summary_msgs_from(summaries: list[TrackSummary], msg_type) -> list:
    """TrackSummary rows -> list of reid_msgs/TrackSummary (features flattened row-major)."""
    out = []
    for s in summaries:
        feats = np.asarray(s.features, np.float32)
        partial = np.zeros(0, np.uint8) if s.partial is None else np.asarray(s.partial, np.uint8)
        out.append(msg_type(track_id=int(s.track_id), quality=float(s.quality), feature_count=len(feats),
                            features=float32_array(feats), partial=uint8_array(partial.tobytes())))
    return out


def summaries_from_msg(msg) -> list[TrackSummary]:
    """reid_msgs/TrackSummaryArray -> TrackSummary rows; ValueError naming the track whose
    features do not fit ``feature_count`` x ``feature_dim``."""
    dim = int(msg.feature_dim)
    out = []
    for t in msg.tracks:
        flat = np.asarray(t.features, np.float32)
        n = int(t.feature_count)
        if flat.size != n * dim or (n and not np.isfinite(flat).all()):
            raise ValueError(f"summary of camera {msg.camera!r}, track {t.track_id}: {flat.size} finite feature "
                             f"values expected {n} x {dim}")
        partial = np.frombuffer(bytes(t.partial), np.uint8) if len(t.partial) else None
        if partial is not None and len(partial) != n:
            raise ValueError(f"summary of camera {msg.camera!r}, track {t.track_id}: {len(partial)} partial flags "
                             f"for {n} features")
        out.append(TrackSummary(int(t.track_id), flat.reshape(n, dim), float(t.quality),
                                None if partial is None else partial.astype(bool)))
    return out


def stamp_to_ns(stamp) -> int:
    """builtin_interfaces/Time -> integer nanoseconds (the pairing key between topics)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
