"""MOTChallenge folder I/O: ``seqinfo.ini``, ``det/det.txt``, ``gt/gt.txt`` and result files.

A MOTChallenge sequence folder looks like::

    <seq>/seqinfo.ini          [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    <seq>/img1/000001.jpg ...  1-based, zero-padded to 6 digits
    <seq>/det/det.txt          frame, -1, left, top, width, height, conf, x, y, z
    <seq>/gt/gt.txt            frame, id, left, top, width, height, consider, class, visibility

Boxes in these files are ``tlwh`` pixels (see :mod:`reid_tracker_ros.types` for conversions).
Everything here is pure Python/numpy (OpenCV is imported lazily, only by :func:`infer_seqinfo`).
"""
from __future__ import annotations

import configparser
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from reid_tracker_ros.types import xyxy_to_tlwh

LOGGER = logging.getLogger(__name__)

#: MOT16/17 class id of walking/standing pedestrians (the only class that is evaluated).
PEDESTRIAN_CLASS = 1
#: Column count of a results / det line as written by :func:`write_results`.
RESULT_COLUMNS = 10
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class MotFormatError(ValueError):
    """A MOTChallenge file is missing or malformed; the message names the file and the bad entry."""


@dataclass(frozen=True)
class SequenceInfo:
    """Contents of ``seqinfo.ini`` plus the folder it belongs to (``path`` may be None for
    sequences that only exist in memory, e.g. while writing a bag)."""

    name: str
    frame_rate: float
    seq_length: int
    im_width: int
    im_height: int
    im_ext: str = ".jpg"
    im_dir: str = "img1"
    path: Path | None = None

    @property
    def image_dir(self) -> Path:
        """Folder holding the frames (``<path>/<im_dir>``)."""
        if self.path is None:
            raise ValueError(f"SequenceInfo {self.name!r} has no folder path; cannot locate its images")
        return self.path / self.im_dir

    def to_ini(self) -> str:
        """``seqinfo.ini`` text in the layout MOTChallenge ships (keys in camelCase)."""
        rate = int(self.frame_rate) if float(self.frame_rate).is_integer() else self.frame_rate
        return (
            "[Sequence]\n"
            f"name={self.name}\n"
            f"imDir={self.im_dir}\n"
            f"frameRate={rate}\n"
            f"seqLength={self.seq_length}\n"
            f"imWidth={self.im_width}\n"
            f"imHeight={self.im_height}\n"
            f"imExt={self.im_ext}\n"
        )


def _normalise_ext(ext: str) -> str:
    ext = ext.strip()
    return ext if ext.startswith(".") else "." + ext


def _positive_number(ini: Path, section: configparser.SectionProxy, key: str, kind: type) -> float | int:
    """Read ``key`` as a positive number of ``kind``; MotFormatError names file, key and value."""
    if key not in section:
        raise MotFormatError(f"{ini}: [Sequence] has no key {key!r}")
    raw = section[key].strip()
    try:
        value = float(raw)
    except ValueError:
        raise MotFormatError(f"{ini}: {key}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise MotFormatError(f"{ini}: {key}={raw!r} must be a positive finite number")
    if kind is int:
        if not value.is_integer():
            raise MotFormatError(f"{ini}: {key}={raw!r} must be an integer")
        return int(value)
    return value


def read_seqinfo(seq_dir: str | Path, infer_if_missing: bool = False, frame_rate: float = 30.0) -> SequenceInfo:
    """Parse ``<seq_dir>/seqinfo.ini``.

    Numeric keys (frameRate, seqLength, imWidth, imHeight) are required and must be positive;
    ``name``/``imDir``/``imExt`` fall back to the folder name, ``img1`` and ``.jpg``.
    When the file is missing and ``infer_if_missing`` is True the info is derived from the
    images with :func:`infer_seqinfo` (``frame_rate`` is then used, since images carry no rate).
    """
    seq_dir = Path(seq_dir)
    ini = seq_dir / "seqinfo.ini"
    if not ini.is_file():
        if infer_if_missing:
            return infer_seqinfo(seq_dir, frame_rate=frame_rate)
        raise MotFormatError(f"{ini}: seqinfo.ini not found")
    parser = configparser.ConfigParser(interpolation=None)  # keys become case-insensitive
    try:
        parser.read(ini, encoding="utf-8")
    except configparser.Error as exc:
        raise MotFormatError(f"{ini}: cannot parse ({exc.__class__.__name__}: {exc})") from None
    if not parser.has_section("Sequence"):
        raise MotFormatError(f"{ini}: missing [Sequence] section")
    sec = parser["Sequence"]
    return SequenceInfo(
        name=sec.get("name", seq_dir.name).strip() or seq_dir.name,
        frame_rate=float(_positive_number(ini, sec, "frameRate", float)),
        seq_length=int(_positive_number(ini, sec, "seqLength", int)),
        im_width=int(_positive_number(ini, sec, "imWidth", int)),
        im_height=int(_positive_number(ini, sec, "imHeight", int)),
        im_ext=_normalise_ext(sec.get("imExt", ".jpg")),
        im_dir=sec.get("imDir", "img1").strip() or "img1",
        path=seq_dir,
    )


def write_seqinfo(info: SequenceInfo, seq_dir: str | Path | None = None) -> Path:
    """Write ``seqinfo.ini`` into ``seq_dir`` (default ``info.path``); returns the file path."""
    target = Path(seq_dir) if seq_dir is not None else info.path
    if target is None:
        raise ValueError(f"write_seqinfo: no folder given for sequence {info.name!r}")
    target.mkdir(parents=True, exist_ok=True)
    ini = target / "seqinfo.ini"
    ini.write_text(info.to_ini(), encoding="utf-8")
    return ini


def infer_seqinfo(seq_dir: str | Path, frame_rate: float = 30.0, im_dir: str = "img1") -> SequenceInfo:
    """Build a SequenceInfo from ``<seq_dir>/<im_dir>`` when ``seqinfo.ini`` is absent.

    The size comes from the first image; the length is the largest numeric frame name
    (so gaps stay addressable by :func:`frame_paths`), or the image count if names are not numeric.
    """
    import cv2  # lazy: only this helper needs an image decoder

    seq_dir = Path(seq_dir)
    img_dir = seq_dir / im_dir
    if not img_dir.is_dir():
        raise FileNotFoundError(f"{img_dir}: no image folder to infer sequence info from")
    images = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in _IMAGE_EXTS and p.is_file())
    if not images:
        raise MotFormatError(f"{img_dir}: contains no images ({', '.join(_IMAGE_EXTS)})")
    first = cv2.imread(str(images[0]), cv2.IMREAD_UNCHANGED)
    if first is None:
        raise MotFormatError(f"{images[0]}: cannot be decoded as an image")
    numbers = [int(p.stem) for p in images if p.stem.isdigit()]
    length = max(numbers) if len(numbers) == len(images) else len(images)
    if frame_rate <= 0 or not math.isfinite(frame_rate):
        raise ValueError(f"infer_seqinfo: frame_rate must be positive, got {frame_rate!r}")
    return SequenceInfo(
        name=seq_dir.name,
        frame_rate=float(frame_rate),
        seq_length=length,
        im_width=int(first.shape[1]),
        im_height=int(first.shape[0]),
        im_ext=images[0].suffix,
        im_dir=im_dir,
        path=seq_dir,
    )


def frame_paths(info: SequenceInfo) -> list[Path]:
    """Expected image paths ``<path>/<im_dir>/000001<ext>`` .. ``seq_length``; files may be missing."""
    folder = info.image_dir
    return [folder / f"{i:06d}{info.im_ext}" for i in range(1, info.seq_length + 1)]


# --------------------------------------------------------------------------------------------
# Text tables


_SPLIT = re.compile(r"[,\s]+")


def _read_table(path: str | Path, min_cols: int, max_cols: int, fill: Iterable[float]) -> np.ndarray:
    """Parse a comma (or whitespace) separated numeric table into an (N, max_cols) float array.

    Short rows (>= min_cols) are padded with ``fill`` (values for columns min_cols..max_cols-1);
    blank lines and trailing separators are ignored. Non-numeric tokens or rows with a column
    count outside [min_cols, max_cols] raise MotFormatError with the file and line number.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    fill = np.asarray(list(fill), dtype=np.float64)
    if len(fill) != max_cols - min_cols:
        raise ValueError(f"_read_table: need {max_cols - min_cols} fill values, got {len(fill)}")
    rows: list[list[float]] = []
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip().rstrip(",").rstrip()
            if not text:
                continue
            tokens = [t for t in _SPLIT.split(text) if t]
            if not min_cols <= len(tokens) <= max_cols:
                raise MotFormatError(
                    f"{path}:{lineno}: expected {min_cols}..{max_cols} columns, got {len(tokens)}: {text!r}")
            try:
                values = [float(t) for t in tokens]
            except ValueError:
                raise MotFormatError(f"{path}:{lineno}: non-numeric value in {text!r}") from None
            if len(values) < max_cols:
                values.extend(fill[len(values) - min_cols:].tolist())
            rows.append(values)
    if not rows:
        return np.zeros((0, max_cols), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


class FrameDetections(dict):
    """``{frame: (tlwh (N, 4) float64, scores (N,) float64)}`` for frames that have detections.

    ``skipped`` counts rows dropped as invalid (non-finite, w/h <= 0, frame < 1 or fractional);
    ``below_score`` counts valid rows dropped by ``min_score``.
    """

    skipped: int = 0
    below_score: int = 0

    def frame(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Detections of ``frame``; empty (0, 4)/(0,) arrays when the frame has none."""
        got = self.get(int(frame))
        if got is None:
            return np.zeros((0, 4), np.float64), np.zeros(0, np.float64)
        return got


def read_detections(path: str | Path, min_score: float = -math.inf) -> FrameDetections:
    """Read public detections (``det/det.txt``, 7..10 columns) grouped by frame.

    Rows are kept in file order within a frame. Invalid rows are skipped, counted in
    ``result.skipped`` and reported with one logger warning (real MOT17 det files are clean;
    converted/third-party files often are not, and one bad row must not abort a benchmark).
    """
    table = _read_table(path, 7, 10, fill=(-1.0, -1.0, -1.0))
    result = FrameDetections()
    if len(table) == 0:
        return result
    core = table[:, [0, 2, 3, 4, 5, 6]]
    valid = np.isfinite(core).all(axis=1)
    valid &= (table[:, 4] > 0) & (table[:, 5] > 0) & (table[:, 0] >= 1)
    valid &= np.equal(np.floor(table[:, 0]), table[:, 0])
    result.skipped = int((~valid).sum())
    if result.skipped:
        LOGGER.warning("%s: skipped %d invalid detection rows (non-finite, w/h <= 0 or bad frame)",
                       path, result.skipped)
    keep = valid & (table[:, 6] >= min_score)
    result.below_score = int((valid & ~keep).sum())
    table = table[keep]
    frames = table[:, 0].astype(np.int64)
    order = np.argsort(frames, kind="stable")
    frames, table = frames[order], table[order]
    uniq, starts = np.unique(frames, return_index=True)
    ends = np.append(starts[1:], len(frames))
    for f, s, e in zip(uniq.tolist(), starts.tolist(), ends.tolist()):
        result[f] = (np.ascontiguousarray(table[s:e, 2:6]), np.ascontiguousarray(table[s:e, 6]))
    return result


def read_ground_truth(path: str | Path) -> np.ndarray:
    """Raw ``gt.txt`` rows as (N, 9) float64: frame, id, left, top, w, h, consider, class, visibility.

    Accepts 6..10 columns. Missing ``consider`` becomes 1, missing class/visibility -1.
    MOT15-style 10-column files (``..., conf, x, y, z`` with x = y = -1) therefore read as
    class -1 / visibility -1, which :func:`ground_truth_by_frame` treats as "no class info".
    """
    table = _read_table(path, 6, 10, fill=(1.0, -1.0, -1.0, -1.0))
    if len(table) and not np.isfinite(table[:, :7]).all():
        bad = int(np.flatnonzero(~np.isfinite(table[:, :7]).all(axis=1))[0])
        raise MotFormatError(f"{path}: non-finite value in ground-truth row {bad + 1}: {table[bad].tolist()}")
    return table[:, :9].copy()


def ground_truth_by_frame(gt: str | Path | np.ndarray,
                          classes: Iterable[int] | None = (PEDESTRIAN_CLASS,),
                          min_visibility: float | None = None,
                          ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-frame evaluated ground truth ``{frame: (tlwh (N,4), ids (N,) int64, visibility (N,))}``.

    Mirrors the MOT16/17 evaluation filter: rows with consider flag 0 are dropped and only
    ``classes`` are kept (rows with class -1, i.e. files without class info, are always kept).
    ``min_visibility`` optionally drops heavily occluded rows (not part of the official filter).
    """
    rows = read_ground_truth(gt) if not isinstance(gt, np.ndarray) else np.asarray(gt, np.float64)
    if rows.ndim != 2 or rows.shape[1] < 9:
        raise ValueError(f"ground_truth_by_frame: expected (N, 9) gt rows, got shape {rows.shape}")
    keep = rows[:, 6] != 0
    if classes is not None:
        cls = rows[:, 7]
        keep &= np.isin(cls, np.asarray(list(classes), dtype=np.float64)) | (cls == -1)
    if min_visibility is not None:
        keep &= (rows[:, 8] >= min_visibility) | (rows[:, 8] == -1)
    rows = rows[keep]
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    frames = rows[:, 0].astype(np.int64)
    uniq, starts = np.unique(frames, return_index=True)
    ends = np.append(starts[1:], len(frames))
    for f, s, e in zip(uniq.tolist(), starts.tolist(), ends.tolist()):
        out[f] = (rows[s:e, 2:6].copy(), rows[s:e, 1].astype(np.int64), rows[s:e, 8].copy())
    return out


# --------------------------------------------------------------------------------------------
# Tracker results


def snapshot_rows(frame: int, track_ids: np.ndarray, boxes_xyxy: np.ndarray,
                  scores: np.ndarray | None = None) -> np.ndarray:
    """(M, 7) result rows ``frame, id, left, top, w, h, score`` from xyxy tracker output
    (e.g. the fields of a :class:`~reid_tracker_ros.types.TrackSnapshot`)."""
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    tlwh = xyxy_to_tlwh(boxes_xyxy)
    if len(tlwh) != len(ids):
        raise ValueError(f"snapshot_rows: {len(ids)} ids but {len(tlwh)} boxes in frame {frame}")
    sc = np.ones(len(ids)) if scores is None else np.asarray(scores, np.float64).reshape(len(ids))
    out = np.empty((len(ids), 7), np.float64)
    out[:, 0] = frame
    out[:, 1] = ids
    out[:, 2:6] = tlwh
    out[:, 6] = sc
    return out


def write_results(path: str | Path, rows: Iterable[Iterable[float]] | np.ndarray) -> int:
    """Write tracker output as MOTChallenge results ``frame,id,left,top,w,h,score,-1,-1,-1``.

    ``rows`` holds (frame, track_id, left, top, w, h, score) tuples or an (N, 7) array; lines are
    sorted by frame then id. Frames must be integers >= 1 and every value finite, because
    TrackEval silently misreads otherwise. Returns the number of lines written.
    """
    path = Path(path)
    arr = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 7)
    if arr.ndim != 2 or arr.shape[1] != 7:
        raise ValueError(f"write_results({path}): rows must have 7 values "
                         f"(frame, id, left, top, w, h, score), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"write_results({path}): non-finite values in row {arr[bad].tolist()}")
    frames = arr[:, 0]
    if len(arr) and ((frames < 1).any() or (np.floor(frames) != frames).any()):
        bad = int(np.flatnonzero((frames < 1) | (np.floor(frames) != frames))[0])
        raise ValueError(f"write_results({path}): frame numbers must be integers >= 1, got {frames[bad]!r}")
    if len(arr) and (np.floor(arr[:, 1]) != arr[:, 1]).any():
        bad = int(np.flatnonzero(np.floor(arr[:, 1]) != arr[:, 1])[0])
        raise ValueError(f"write_results({path}): track ids must be integers, got {arr[bad, 1]!r}")
    arr = arr[np.lexsort((arr[:, 1], arr[:, 0]))]
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{int(f)},{int(i)},{l:.2f},{t:.2f},{w:.2f},{h:.2f},{s:.4f},-1,-1,-1\n"
        for f, i, l, t, w, h, s in arr.tolist()
    ]
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return len(lines)


def read_results(path: str | Path) -> np.ndarray:
    """Read a MOTChallenge results file (6..10 columns) as an (N, 7) float64 array
    ``frame, id, left, top, w, h, score`` sorted by frame then id (missing score -> 1)."""
    table = _read_table(path, 6, 10, fill=(1.0, -1.0, -1.0, -1.0))[:, :7]
    if len(table) and not np.isfinite(table).all():
        bad = int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])
        raise MotFormatError(f"{path}: non-finite value in results row {table[bad].tolist()}")
    return table[np.lexsort((table[:, 1], table[:, 0]))]
