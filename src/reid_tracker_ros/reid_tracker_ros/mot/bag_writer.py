"""Convert a MOTChallenge sequence folder into a rosbag2 (mcap or sqlite3) with ``rosbags``.

The bag replays the sequence as a camera would: one image per frame at the sequence frame rate,
header stamps ``start_time_ns + round((frame - 1) * 1e9 / fps)`` (so the frame index is
recoverable from the stamp alone), one ``reid_msgs/DetectionArray`` of public detections per
frame with the image's exact header (also when empty), and a single ``std_msgs/String`` with the
sequence metadata as JSON so an evaluator needs nothing but the bag and the ground truth.
Every frame is written: a missing or unreadable image becomes a black frame of the seqinfo size
(listed in the metadata and the returned summary) rather than a gap, because evaluation must
account for every frame. No ROS installation is needed.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from reid_tracker_ros.mot.io import SequenceInfo, frame_paths, read_detections, read_seqinfo
from reid_tracker_ros.mot.msg_types import get_store, message_definition, rihs01

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
DETECTIONS_TYPE = "reid_msgs/msg/DetectionArray"
STRING_TYPE = "std_msgs/msg/String"
SEQUENCE_INFO_TOPIC = "/mot/sequence_info"
DEFAULT_START_TIME_NS = 1_700_000_000 * 10**9  # fixed (deterministic bags), far from the "unset" stamp 0
FORMAT_VERSION = 1  # of the sequence_info JSON layout

_STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_COMPRESSED_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
# Latched: a late subscriber (the evaluator) still receives the one metadata message.
_LATCHED_QOS = Qos(
    history=QosHistory.KEEP_LAST,
    depth=1,
    reliability=QosReliability.RELIABLE,
    durability=QosDurability.TRANSIENT_LOCAL,
    deadline=QosTime(0, 0),
    lifespan=QosTime(0, 0),
    liveliness=QosLiveliness.AUTOMATIC,
    liveliness_lease_duration=QosTime(0, 0),
    avoid_ros_namespace_conventions=False,
)


@dataclass(frozen=True)
class ConversionSummary:
    """What was written. Usable as a path (``os.fspath``) to the bag directory."""

    path: Path
    sequence: str
    frames: int  # image messages written (= frames of the sequence, or max_frames)
    blank_frames: tuple[int, ...]  # 1-based frames written black (image missing/unreadable)
    detection_messages: int  # DetectionArray messages (0 without public detections)
    detections: int  # boxes over all frames
    storage: str
    compressed: bool
    warnings: tuple[str, ...] = field(default=())

    def __fspath__(self) -> str:
        return str(self.path)


def frame_stamp_ns(frame: int, frame_rate: float, start_time_ns: int = DEFAULT_START_TIME_NS) -> int:
    """Header stamp of 1-based ``frame``; inverse of :func:`frame_from_stamp`."""
    return int(start_time_ns) + round((int(frame) - 1) * 1e9 / float(frame_rate))


def frame_from_stamp(stamp_ns: int, frame_rate: float, start_time_ns: int = DEFAULT_START_TIME_NS) -> int:
    """1-based frame index of a stamp written by :func:`frame_stamp_ns`."""
    return round((int(stamp_ns) - int(start_time_ns)) * float(frame_rate) / 1e9) + 1


class _Messages:
    """Builds the rosbags message objects (one place that knows the field layouts)."""

    def __init__(self, frame_id: str) -> None:
        self.store = get_store()
        types = self.store.types
        self.Time = types["builtin_interfaces/msg/Time"]
        self.Header = types["std_msgs/msg/Header"]
        self.Image = types[IMAGE_TYPE]
        self.CompressedImage = types[COMPRESSED_TYPE]
        self.Detection = types["reid_msgs/msg/Detection"]
        self.DetectionArray = types[DETECTIONS_TYPE]
        self.String = types[STRING_TYPE]
        self.frame_id = frame_id

    def header(self, stamp_ns: int):
        sec, nanosec = divmod(int(stamp_ns), 10**9)
        return self.Header(stamp=self.Time(sec=sec, nanosec=nanosec), frame_id=self.frame_id)

    def image(self, header, rgb: np.ndarray) -> bytes:
        h, w = rgb.shape[:2]
        msg = self.Image(
            header=header, height=h, width=w, encoding="rgb8", is_bigendian=0, step=3 * w,
            data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
        )
        return bytes(self.store.serialize_cdr(msg, IMAGE_TYPE))

    def compressed(self, header, fmt: str, payload: bytes) -> bytes:
        msg = self.CompressedImage(header=header, format=fmt, data=np.frombuffer(payload, dtype=np.uint8))
        return bytes(self.store.serialize_cdr(msg, COMPRESSED_TYPE))

    def detections(
        self, header, width: int, height: int, tlwh: np.ndarray, scores: np.ndarray, class_id: int
    ) -> bytes:
        dets = [
            self.Detection(x=float(x), y=float(y), width=float(bw), height=float(bh), score=float(s),
                           class_id=int(class_id))
            for (x, y, bw, bh), s in zip(tlwh.tolist(), scores.tolist())
        ]
        msg = self.DetectionArray(
            header=header, image_width=int(width), image_height=int(height), detections=dets,
            source="public", processing_ms=0.0,
        )
        return bytes(self.store.serialize_cdr(msg, DETECTIONS_TYPE))

    def string(self, text: str) -> bytes:
        return bytes(self.store.serialize_cdr(self.String(data=text), STRING_TYPE))


def _check_size(path: Path, got_hw: tuple[int, int], want_hw: tuple[int, int]) -> None:
    if got_hw != want_hw:
        raise ValueError(
            f"image {path} is {got_hw[1]}x{got_hw[0]} but seqinfo.ini says {want_hw[1]}x{want_hw[0]}"
        )


def _read_rgb(path: Path, hw: tuple[int, int]) -> np.ndarray | None:
    """RGB pixels of ``path``; None when missing/undecodable; ValueError on a size mismatch."""
    if not path.is_file():
        return None
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    _check_size(path, bgr.shape[:2], hw)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_compressed(path: Path, hw: tuple[int, int], fmt: str | None) -> tuple[str, bytes] | None:
    """(format, file bytes as-is) for jpeg/png files, re-encoded jpeg otherwise; None if unusable.

    Validity is checked with a 1/8-scale greyscale decode (cheap for JPEG) so a truncated or
    corrupt file becomes a counted blank frame instead of a frame no consumer can decode.
    """
    if not path.is_file():
        return None
    payload = path.read_bytes()
    buf = np.frombuffer(payload, dtype=np.uint8)
    if fmt is None:  # not a format CompressedImage consumers accept: re-encode once
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if bgr is None:
            return None
        _check_size(path, bgr.shape[:2], hw)
        ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
        return ("jpeg", enc.tobytes()) if ok else None
    small = cv2.imdecode(buf, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if small is None:
        return None
    want = (-(-hw[0] // 8), -(-hw[1] // 8))
    if abs(small.shape[0] - want[0]) > 1 or abs(small.shape[1] - want[1]) > 1:
        full = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)  # exact size for the error message
        _check_size(path, full.shape[:2] if full is not None else small.shape[:2], hw)
    return fmt, payload


def _blank_compressed(hw: tuple[int, int], fmt: str) -> bytes:
    ext = ".png" if fmt == "png" else ".jpg"
    ok, enc = cv2.imencode(ext, np.zeros((hw[0], hw[1], 3), dtype=np.uint8))
    if not ok:  # pragma: no cover - OpenCV always encodes a black image
        raise RuntimeError(f"OpenCV could not encode a blank {ext} image")
    return enc.tobytes()


def _prepare_output(bag_path: Path, overwrite: bool) -> None:
    if not bag_path.exists() and not bag_path.is_symlink():
        bag_path.parent.mkdir(parents=True, exist_ok=True)
        return
    if not overwrite:
        raise FileExistsError(f"output bag {bag_path} exists already; remove it or pass overwrite (--overwrite)")
    if bag_path.is_dir() and ((bag_path / "metadata.yaml").exists() or not any(bag_path.iterdir())):
        shutil.rmtree(bag_path)
        return
    # Only ever delete something that is a rosbag2 directory: a typo must not wipe a data folder.
    raise FileExistsError(f"refusing to overwrite {bag_path}: it is not a rosbag2 directory (no metadata.yaml)")


def convert_sequence(
    seq_dir: str | Path,
    bag_path: str | Path,
    storage: str = "mcap",
    compressed: bool = False,
    with_public_detections: bool = True,
    image_topic: str = "/camera/image_raw",
    detections_topic: str = "/mot/public_detections",
    frame_id: str = "camera",
    start_time_ns: int = DEFAULT_START_TIME_NS,
    progress: bool = True,
    max_frames: int | None = None,
    overwrite: bool = False,
    det_min_score: float = -np.inf,
    public_class_id: int = 0,
    seqinfo: "SequenceInfo | None" = None,
) -> ConversionSummary:
    """Write ``seq_dir`` (MOTChallenge layout) as a rosbag2 at ``bag_path``; returns a summary.

    ``compressed`` writes ``sensor_msgs/CompressedImage`` with the image files' bytes unchanged
    (``format`` "jpeg"/"png") instead of raw ``rgb8`` ``sensor_msgs/Image``. ``det_min_score``
    defaults to keeping every public detection (MOT17 DPM scores are negative; the tracker
    applies its own threshold). ``public_class_id`` is 0 (COCO person): MOT public detections
    are pedestrian detections. ``max_frames`` truncates to the first N frames (the metadata
    records how many were written so evaluation can cut the ground truth to match).
    """
    seq_dir = Path(seq_dir)
    bag_path = Path(bag_path)
    if storage not in _STORAGES:
        raise ValueError(f"storage must be one of {sorted(_STORAGES)}, got {storage!r}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    # MotFormatError (names seqinfo.ini) propagates; callers may pass inferred info (MOT15 folders)
    info = seqinfo if seqinfo is not None else read_seqinfo(seq_dir)
    fps = float(info.frame_rate)
    if not fps > 0:
        raise ValueError(f"frame rate must be > 0 in {seq_dir / 'seqinfo.ini'}, got {info.frame_rate!r}")
    hw = (int(info.im_height), int(info.im_width))
    paths = list(frame_paths(info))
    n_total = len(paths)
    n_frames = n_total if max_frames is None else min(len(paths), int(max_frames))
    if n_frames == 0:
        raise ValueError(f"sequence {seq_dir} has no frames (seqLength={info.seq_length})")
    paths = paths[:n_frames]
    notes: list[str] = []

    def warn(text: str) -> None:
        notes.append(text)
        warnings.warn(text, stacklevel=3)

    detections: dict | None = None
    if with_public_detections:
        det_file = seq_dir / "det" / "det.txt"
        if det_file.is_file():
            detections = read_detections(det_file, det_min_score)
            if getattr(detections, "skipped", 0):  # io.py already logged it; keep it in the summary
                notes.append(f"{det_file}: {detections.skipped} invalid detection rows skipped")
            beyond = sorted(f for f in detections if not 1 <= int(f) <= n_total)
            if beyond:
                warn(f"{det_file}: detections for frames outside 1..{info.seq_length} ignored: {beyond[:10]}")
        else:
            warn(f"{det_file} not found: writing empty public detection arrays for every frame")
            detections = {}

    comp_fmt = _COMPRESSED_FORMATS.get(str(info.im_ext).lower())
    _prepare_output(bag_path, overwrite)
    msgs = _Messages(frame_id)
    writer = Writer(bag_path, version=9, storage_plugin=_STORAGES[storage])
    blank: list[int] = []
    n_dets = 0
    n_det_msgs = 0
    try:
        writer.open()

        def connect(topic: str, msgtype: str, qos: list[Qos]):
            return writer.add_connection(
                topic, msgtype, msgdef=message_definition(msgtype), rihs01=rihs01(msgtype),
                offered_qos_profiles=qos,
            )

        img_type = COMPRESSED_TYPE if compressed else IMAGE_TYPE
        info_conn = connect(SEQUENCE_INFO_TOPIC, STRING_TYPE, [_LATCHED_QOS])
        img_conn = connect(image_topic, img_type, [])
        det_conn = connect(detections_topic, DETECTIONS_TYPE, []) if detections is not None else None
        blank_payload = None
        empty = (np.zeros((0, 4)), np.zeros(0))
        for frame, path in enumerate(tqdm(paths, desc=info.name, unit="frame", disable=not progress), start=1):
            stamp = frame_stamp_ns(frame, fps, start_time_ns)
            header = msgs.header(stamp)
            if compressed:
                got = _read_compressed(path, hw, comp_fmt)
                if got is None:
                    blank.append(frame)
                    fmt = comp_fmt or "jpeg"
                    blank_payload = blank_payload or _blank_compressed(hw, fmt)
                    got = (fmt, blank_payload)
                raw = msgs.compressed(header, *got)
            else:
                rgb = _read_rgb(path, hw)
                if rgb is None:
                    blank.append(frame)
                    rgb = np.zeros((hw[0], hw[1], 3), dtype=np.uint8)
                raw = msgs.image(header, rgb)
            writer.write(img_conn, stamp, raw)
            if det_conn is not None:
                tlwh, scores = detections.get(frame, empty)
                writer.write(det_conn, stamp, msgs.detections(header, hw[1], hw[0], np.asarray(tlwh).reshape(-1, 4),
                                                              np.asarray(scores).reshape(-1), public_class_id))
                n_dets += len(scores)
                n_det_msgs += 1
        if blank:
            warn(f"{len(blank)} image(s) missing or unreadable in {info.im_dir}, written black: frames {blank[:20]}"
                 + (" ..." if len(blank) > 20 else ""))
        meta = {
            "format_version": FORMAT_VERSION,
            "name": info.name,
            "frame_rate": fps,
            "seq_length": int(info.seq_length),
            "frames_written": n_frames,
            "im_width": hw[1],
            "im_height": hw[0],
            "im_ext": str(info.im_ext),
            "start_time_ns": int(start_time_ns),
            "stamp_rule": "start_time_ns + round((frame - 1) * 1e9 / frame_rate)",
            "image_topic": image_topic,
            "image_type": img_type,
            "detections_topic": detections_topic if det_conn is not None else None,
            "frame_id": frame_id,
            "blank_frames": blank,
            "public_detections": det_conn is not None,
            "source_dir": str(seq_dir.resolve()),
        }
        # Stamped at frame 1 (the bag's first instant) so a player emits it before the images.
        writer.write(info_conn, int(start_time_ns), msgs.string(json.dumps(meta, sort_keys=True)))
    except BaseException:
        if writer.storage is not None:
            writer.abort()
        shutil.rmtree(bag_path, ignore_errors=True)  # no half-written bag that would block a rerun
        raise
    writer.close()
    return ConversionSummary(
        path=bag_path, sequence=info.name, frames=n_frames, blank_frames=tuple(blank),
        detection_messages=n_det_msgs, detections=n_dets, storage=storage, compressed=compressed,
        warnings=tuple(notes),
    )


def main(argv: list[str] | None = None) -> int:
    """``mot_to_bag SEQ_DIR [-o BAG]``: console entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="mot_to_bag", description=__doc__.split("\n\n")[0])
    parser.add_argument("seq_dir", type=Path, help="MOTChallenge sequence folder (with seqinfo.ini, img1/, det/)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output bag directory (default: bags/<sequence name> in the current directory)")
    parser.add_argument("--storage", choices=sorted(_STORAGES), default="mcap")
    parser.add_argument("--compressed", action="store_true",
                        help="write sensor_msgs/CompressedImage with the files' JPEG/PNG bytes (no re-encode)")
    parser.add_argument("--no-public-detections", action="store_true", help="omit the det/det.txt topic")
    parser.add_argument("--max-frames", type=int, default=None, help="convert only the first N frames")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output bag")
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--detections-topic", default="/mot/public_detections")
    parser.add_argument("--frame-id", default="camera")
    parser.add_argument("--start-time-ns", type=int, default=DEFAULT_START_TIME_NS)
    parser.add_argument("--det-min-score", type=float, default=-np.inf,
                        help="drop public detections below this score (default: keep all)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be >= 1, got {args.max_frames}")
    output = args.output
    try:
        if output is None:
            output = Path("bags") / read_seqinfo(args.seq_dir).name
        summary = convert_sequence(
            args.seq_dir, output, storage=args.storage, compressed=args.compressed,
            with_public_detections=not args.no_public_detections, image_topic=args.image_topic,
            detections_topic=args.detections_topic, frame_id=args.frame_id, start_time_ns=args.start_time_ns,
            progress=not args.no_progress, max_frames=args.max_frames, overwrite=args.overwrite,
            det_min_score=args.det_min_score,
        )
    except (OSError, ValueError) as exc:  # MotFormatError is a ValueError
        print(f"mot_to_bag: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.path} ({summary.storage}): {summary.frames} frames of {summary.sequence}, "
        f"{summary.detections} public detections in {summary.detection_messages} messages, "
        f"{len(summary.blank_frames)} blank frame(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
