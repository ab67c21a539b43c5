"""The one offline loop: a MOTChallenge folder's public detections (and optional appearance
features) through a tracker core, without ROS, into result rows and TrackEval scores.

Used by the tracker benchmark, camera adaptation and anything else that tracks a folder
offline, so their numbers are comparable with each other and with the ROS evaluator:

- Input rule: invalid boxes are dropped; scores outside [0, 1] (MOT17's DPM detections) are
  min-max scaled to [0, 1] for the whole sequence, so score thresholds mean the same on every
  data set (and peers that reject such scores get the same input).
- Reporting rule (:func:`reported_mask`, also used by the ROS evaluator): a frame's results
  are its confirmed tracks that were matched to a detection in that frame; predicted boxes of
  lost tracks and tentative tracks are not reported.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Detections, TrackSnapshot, TrackState, tlwh_to_xyxy, valid_box_mask
from .io import SequenceInfo, frame_paths, read_detections, read_seqinfo, snapshot_rows, write_results


@dataclass
class OfflineSequence:
    """Everything a tracker run needs, loaded once: per-frame xyxy boxes, scores, features."""

    name: str
    info: SequenceInfo
    boxes: list[np.ndarray]
    scores: list[np.ndarray]
    images: list[Path] = field(default_factory=list)
    embeddings: list[np.ndarray] | None = None
    model: str = "none"  # the embedder that made ``embeddings``
    det_file: Path | None = None

    def __len__(self) -> int:
        return len(self.boxes)

    def detections(self, f: int) -> Detections:
        """Frame ``f`` (0-based) as the tracker's input."""
        emb = None if self.embeddings is None else self.embeddings[f]
        return Detections(self.boxes[f], self.scores[f], np.zeros(len(self.boxes[f]), np.int64), emb)


def load_sequence(seq_dir: str | Path, max_frames: int | None = None) -> OfflineSequence:
    """Public detections of a MOT folder (``det/det.txt``), by the module's input rule."""
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir, infer_if_missing=True)
    if max_frames:
        info = dataclasses.replace(info, seq_length=min(info.seq_length, max_frames))
    det_file = seq_dir / "det" / "det.txt"
    if not det_file.is_file():
        raise FileNotFoundError(f"offline tracking needs public detections: {det_file} not found")
    per_frame = read_detections(det_file)
    boxes, scores = [], []
    for f in range(1, info.seq_length + 1):
        tlwh, s = per_frame.frame(f)
        xyxy = tlwh_to_xyxy(tlwh) if len(tlwh) else np.zeros((0, 4))
        keep = valid_box_mask(xyxy, s)
        boxes.append(xyxy[keep])
        scores.append(np.asarray(s, np.float64)[keep])
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    if len(all_scores) and (all_scores.min() < 0 or all_scores.max() > 1):
        lo, hi = float(all_scores.min()), float(all_scores.max())
        scores = [(s - lo) / max(hi - lo, 1e-9) for s in scores]
    images = frame_paths(info)[:info.seq_length]
    return OfflineSequence(info.name, info, boxes, scores, images, det_file=det_file)


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"cannot read frame {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def embed_sequence(seq: OfflineSequence, embedder: Any, progress: bool = True) -> list[np.ndarray]:
    """Appearance features of every detection of ``seq`` (an ``Embedder``: ``embed(rgb, boxes)``)."""
    frames = enumerate(seq.boxes)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, total=len(seq), desc=f"embedding {seq.name} ({embedder.name})", unit="frame")
    out = []
    for f, boxes in frames:
        if len(boxes) == 0:
            out.append(np.zeros((0, embedder.feature_dim), np.float32))
        else:
            out.append(np.asarray(embedder.embed(read_rgb(seq.images[f]), boxes), np.float32))
    return out


def frames_of(seq: OfflineSequence, need_images: bool) -> Iterator[tuple[int, np.ndarray | None]]:
    """(0-based index, BGR image or None) per frame; images are read outside any timed call."""
    import cv2

    for f in range(len(seq)):
        img = None
        if need_images:
            img = cv2.imread(str(seq.images[f]))
            if img is None:
                raise FileNotFoundError(f"cannot read frame {seq.images[f]}")
        yield f, img


def reported_mask(states: np.ndarray, frames_since_update: np.ndarray) -> np.ndarray:
    """The reporting rule: confirmed tracks matched to a detection in this frame."""
    return (np.asarray(states) == int(TrackState.CONFIRMED)) & (np.asarray(frames_since_update) == 0)


def reported_rows(frame: int, snap: TrackSnapshot) -> np.ndarray:
    """MOT result rows of one frame's snapshot (1-based ``frame``), by :func:`reported_mask`."""
    keep = reported_mask(snap.states, snap.frames_since_update)
    return snapshot_rows(frame, snap.track_ids[keep], snap.boxes[keep], snap.scores[keep])


@dataclass
class RunResult:
    rows: np.ndarray  # MOT result rows
    times_ms: np.ndarray  # per-frame update time
    metrics: dict[str, Any] = field(default_factory=dict)
    cmc_ms: np.ndarray | None = None  # per-frame camera-motion estimate time inside the update
    cmc: str | None = None  # the camera-motion method that ran inside the update ("none": none)

    def summary(self) -> dict[str, Any]:
        m = self.metrics
        out = {"HOTA": round(float(m["HOTA"]), 3), "IDF1": round(float(m["IDF1"]), 3),
               "MOTA": round(float(m["MOTA"]), 3), "IDSW": int(m["IDSW"]),
               "ms_p50": round(float(np.percentile(self.times_ms, 50)), 4),
               "ms_p95": round(float(np.percentile(self.times_ms, 95)), 4)}
        if self.cmc is not None:
            out["cmc"] = self.cmc
        if self.cmc_ms is not None and len(self.cmc_ms):
            out["cmc_ms_p50"] = round(float(np.percentile(self.cmc_ms, 50)), 4)
        return out


def run_tracker(tracker: Any, seq: OfflineSequence) -> RunResult:
    """Every frame of ``seq`` through ``tracker.update`` (timed), results by the reporting rule.
    Frames are read only when the tracker compensates camera motion."""
    need_images = getattr(getattr(tracker, "config", None), "cmc", "none") != "none"
    rows, times = [], []
    for f, img in frames_of(seq, need_images):
        dets = seq.detections(f)
        t0 = time.perf_counter()
        snap = tracker.update(dets, frame=img)
        times.append(time.perf_counter() - t0)
        rows.append(reported_rows(f + 1, snap))
    return RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), 1e3 * np.array(times))


def score(result: RunResult, seq: OfflineSequence, results_file: str | Path) -> dict[str, Any]:
    """Write ``result.rows`` to ``results_file`` and score them with TrackEval against the
    folder's ground truth (only the frames that were tracked)."""
    from .metrics import evaluate_mot

    path = Path(results_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results(path, result.rows)
    result.metrics = evaluate_mot(seq.info.path, path, seqinfo=seq.info)
    return result.metrics
