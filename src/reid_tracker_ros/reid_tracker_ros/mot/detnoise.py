"""Detector noise and score models: public detections (``det/det.txt``) from ground truth.

Shared by every validation family (:mod:`reid_tracker_ros.mot.families`) so trackers meet the
score scales and failure modes of real detectors rather than one generator's habits:

- ``yolo``:   scores in [0, 1] (sigmoid), rising with visibility and size; low-score tail kept
              down to 0.1 (what ByteTrack-style second stages feed on);
- ``dpm``:    unbounded scores (about -1 .. 3, many negative), more misses, jitter, duplicates
              and false positives, as in MOT16/17's DPM detections;
- ``frcnn``:  scores bunched near 1, few misses, tight boxes;
- ``bursty``: yolo-like scores with long bursts of misses (a person lost for 5-30 frames),
              frequent duplicates and false positives.

Every model misses people by visibility and size, misses in bursts (a per-track Markov chain),
duplicates boxes, adds false positives (displaced person-sized boxes and upper-body parts) and
jitters boxes in proportion to their size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class DetectorModel:
    """Parameters of one detector noise/score model (see module docstring)."""

    name: str
    bounded: bool            # True: scores are probabilities in [0, 1]; False: unbounded logits
    miss_base: float         # miss probability of a fully visible, large person
    vis_half: float          # visibility at which half of the people are found
    vis_slope: float         # steepness of the visibility -> detection curve
    small_px: float          # people shorter than this (px) are missed more
    burst_rate: float        # per track and frame: probability that a miss burst starts
    burst_len: float         # mean burst length (frames)
    dup_rate: float          # probability of a duplicate box per detection
    fp_per_frame: float      # mean false positives per frame
    jitter: float            # std of box noise as a fraction of the box size
    s0: float                # score (logit) offset
    s_vis: float             # score gain per unit visibility
    s_size: float            # score gain per log(height / 100 px)
    s_noise: float           # score noise std (logit units)
    fp_mu: float             # false-positive score mean (logit units)
    fp_sd: float
    min_score: float         # detections below this are not written (detector threshold)

    def score(self, logit: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-logit)) if self.bounded else logit


DETECTOR_MODELS: dict[str, DetectorModel] = {
    "yolo": DetectorModel("yolo", True, 0.03, 0.35, 12.0, 22.0, 0.004, 6.0, 0.02, 0.5, 0.04,
                          -1.2, 3.8, 0.7, 0.7, -2.2, 0.8, 0.1),
    "dpm": DetectorModel("dpm", False, 0.08, 0.5, 9.0, 35.0, 0.008, 8.0, 0.06, 1.5, 0.08,
                         -0.6, 1.8, 0.5, 0.5, -0.5, 0.45, -1.0),
    "frcnn": DetectorModel("frcnn", True, 0.02, 0.25, 14.0, 18.0, 0.002, 4.0, 0.01, 0.2, 0.03,
                           1.2, 3.0, 0.4, 0.6, -0.2, 1.0, 0.5),
    "bursty": DetectorModel("bursty", True, 0.05, 0.4, 10.0, 25.0, 0.03, 12.0, 0.08, 1.0, 0.06,
                            -1.0, 3.5, 0.6, 0.8, -1.8, 0.9, 0.1),
}


def get_model(model: str | DetectorModel) -> DetectorModel:
    if isinstance(model, DetectorModel):
        return model
    try:
        return DETECTOR_MODELS[model]
    except KeyError:
        raise ValueError(f"unknown detector model {model!r}; choose one of {sorted(DETECTOR_MODELS)}") from None


def _burst_mask(frames: np.ndarray, ids: np.ndarray, m: DetectorModel, rng: np.random.Generator) -> np.ndarray:
    """True where a row falls inside a miss burst of its track (Markov chain over its frames)."""
    out = np.zeros(len(frames), bool)
    if m.burst_rate <= 0:
        return out
    for tid in np.unique(ids):
        rows = np.flatnonzero(ids == tid)
        rows = rows[np.argsort(frames[rows], kind="stable")]
        starts = rng.random(len(rows)) < m.burst_rate
        lengths = rng.geometric(1.0 / max(m.burst_len, 1.0), len(rows))
        left = 0
        for k in range(len(rows)):
            if left == 0 and starts[k]:
                left = int(lengths[k])
            if left > 0:
                out[rows[k]] = True
                left -= 1
    return out


def noisy_detections(gt: np.ndarray, model: str | DetectorModel = "yolo", rng: np.random.Generator | None = None,
                     image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Public detections from gt rows ``frame, id, l, t, w, h, consider, class, visibility``.

    Returns (M, 10) rows ``frame, -1, l, t, w, h, score, -1, -1, -1`` sorted by frame. Rows with
    consider 0 or visibility 0 are never detected; visibility -1 (unknown) counts as 1.
    ``image_size`` (width, height) clips boxes to the image and bounds false positives.
    """
    m = get_model(model)
    rng = np.random.default_rng() if rng is None else rng
    gt = np.asarray(gt, np.float64)
    if gt.ndim != 2 or gt.shape[1] < 6:
        raise ValueError(f"noisy_detections: gt must be (N, >=6) rows frame,id,l,t,w,h,..., got {gt.shape}")
    n = len(gt)
    if n == 0:
        return np.zeros((0, 10))
    frames = gt[:, 0].astype(np.int64)
    ids = gt[:, 1].astype(np.int64)
    box = gt[:, 2:6].copy()
    consider = gt[:, 6] if gt.shape[1] > 6 else np.ones(n)
    vis = gt[:, 8].copy() if gt.shape[1] > 8 else np.ones(n)
    vis[vis < 0] = 1.0
    h = np.maximum(box[:, 3], 1.0)
    if image_size is None:
        W = float((box[:, 0] + box[:, 2]).max()) + 1
        H = float((box[:, 1] + box[:, 3]).max()) + 1
    else:
        W, H = float(image_size[0]), float(image_size[1])
    # detection probability: visibility sigmoid x size penalty x base miss, minus bursts
    p_vis = 1.0 / (1.0 + np.exp(-m.vis_slope * (vis - m.vis_half)))
    p_size = np.clip(h / m.small_px, 0.0, 1.0) ** 1.5
    p_det = (1.0 - m.miss_base) * p_vis * p_size
    found = (rng.random(n) < p_det) & (consider != 0) & (vis > 0)
    found &= ~_burst_mask(frames, ids, m, rng)
    logit = m.s0 + m.s_vis * vis + m.s_size * np.log(h / 100.0) + rng.normal(0, m.s_noise, n)
    # box noise: centre and size jitter proportional to size; occluded people get tighter boxes
    sel = np.flatnonzero(found)
    b = box[sel]
    w_, h_ = b[:, 2], b[:, 3]
    cx = b[:, 0] + w_ / 2 + rng.normal(0, m.jitter, len(sel)) * w_
    cy = b[:, 1] + h_ / 2 + rng.normal(0, m.jitter * 0.7, len(sel)) * h_
    nw = w_ * np.exp(rng.normal(0, m.jitter, len(sel)))
    nh = h_ * np.exp(rng.normal(0, m.jitter * 0.7, len(sel)))
    dets = [np.column_stack([frames[sel], cx - nw / 2, cy - nh / 2, nw, nh, logit[sel]])]
    # duplicates: a second, shifted/rescaled box with a lower score
    dup = rng.random(len(sel)) < m.dup_rate
    if dup.any():
        d = dets[0][dup].copy()
        scale = rng.uniform(0.75, 1.25, (len(d), 2))
        d[:, 1] += rng.normal(0, 0.12, len(d)) * d[:, 3]
        d[:, 2] += rng.normal(0, 0.08, len(d)) * d[:, 4]
        d[:, 3:5] *= scale
        d[:, 5] -= rng.uniform(0.5, 2.0, len(d))
        dets.append(d)
    # false positives: displaced person-sized boxes (same bottom row) and upper-body parts
    all_frames = np.arange(frames.min(), frames.max() + 1)
    n_fp = rng.poisson(m.fp_per_frame, len(all_frames))
    total_fp = int(n_fp.sum())
    if total_fp:
        fp_frames = np.repeat(all_frames, n_fp)
        src = box[rng.integers(0, n, total_fp)]
        partial = rng.random(total_fp) < 0.3
        fw = src[:, 2] * rng.uniform(0.7, 1.3, total_fp)
        fh = src[:, 3] * np.where(partial, rng.uniform(0.35, 0.6, total_fp), rng.uniform(0.8, 1.2, total_fp))
        fx = rng.uniform(0, np.maximum(W - fw, 1.0))
        fy = np.clip(src[:, 1] + rng.normal(0, 0.1, total_fp) * src[:, 3], 0, np.maximum(H - fh, 0))
        fs = rng.normal(m.fp_mu, m.fp_sd, total_fp)
        dets.append(np.column_stack([fp_frames, fx, fy, fw, fh, fs]))
    d = np.concatenate(dets, axis=0)
    # clip to the image, drop slivers, map logits to the model's score scale, apply threshold
    x0 = np.clip(d[:, 1], 0, W)
    y0 = np.clip(d[:, 2], 0, H)
    x1 = np.clip(d[:, 1] + d[:, 3], 0, W)
    y1 = np.clip(d[:, 2] + d[:, 4], 0, H)
    score = m.score(d[:, 5])
    keep = (x1 - x0 >= 2) & (y1 - y0 >= 4) & (score >= m.min_score)
    out = np.full((int(keep.sum()), 10), -1.0)
    out[:, 0] = d[keep, 0]
    out[:, 2] = x0[keep]
    out[:, 3] = y0[keep]
    out[:, 4] = (x1 - x0)[keep]
    out[:, 5] = (y1 - y0)[keep]
    out[:, 6] = score[keep]
    return out[np.argsort(out[:, 0], kind="stable")]


def write_detections(path: str | Path, det: np.ndarray) -> int:
    """Write (M, 10) detection rows as ``det.txt`` (readable by :func:`mot.io.read_detections`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    det = np.asarray(det, np.float64).reshape(-1, 10)
    if len(det) and not np.isfinite(det).all():
        raise ValueError(f"write_detections({path}): non-finite values")
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{int(r[0])},-1,{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.4f},-1,-1,-1\n"
                      for r in det.tolist())
    return len(det)


def summary(det: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Rough statistics of a det set against gt: rows per frame, score range (for docs/tests)."""
    frames = max(1, len(np.unique(np.asarray(gt)[:, 0])))
    s = np.asarray(det)[:, 6] if len(det) else np.zeros(1)
    return {"det_per_frame": len(det) / frames, "gt_per_frame": len(gt) / frames,
            "score_min": float(s.min()), "score_max": float(s.max()),
            "score_neg_share": float((s < 0).mean()), "log_ratio": math.log((len(det) + 1) / (len(gt) + 1))}
