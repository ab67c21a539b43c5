"""Video ReID: one feature per tracklet by temporal pooling of its frame features.

A tracklet's frames differ in pose, blur and occlusion; pooling them gives a steadier
descriptor than any single crop. ``mean`` averages the (L2-normalised) frame features, ``max``
takes the per-dimension maximum, ``quality`` weights frames by how typical they are (cosine
to the tracklet mean, softmax with temperature ``tau``), which down-weights occluded or
misaligned frames without a learned attention module.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from reid_tracker_ros.vectors import normalize_rows

POOLING = ("mean", "max", "quality")


def temporal_pool(frame_features: np.ndarray, method: str = "mean", tau: float = 0.1) -> np.ndarray:
    """``(T, D)`` frame features -> ``(D,)`` L2-normalised tracklet feature."""
    f = np.asarray(frame_features, np.float32)
    if f.ndim != 2 or len(f) == 0:
        raise ValueError(f"frame_features must be a non-empty (T, D) array, got shape {f.shape}")
    f = normalize_rows(f)
    if method == "mean":
        pooled = f.mean(axis=0)
    elif method == "max":
        pooled = f.max(axis=0)
    elif method == "quality":
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau!r}")
        score = f @ normalize_rows(f.mean(axis=0)[None])[0]
        w = np.exp((score - score.max()) / tau)
        pooled = (w[:, None] * f).sum(axis=0) / w.sum()
    else:
        raise ValueError(f"unknown temporal pooling {method!r}; choose one of {list(POOLING)}")
    return normalize_rows(pooled[None])[0]


def pool_tracklets(frame_features: np.ndarray, tracklet_index: np.ndarray, method: str = "mean",
                   tau: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Pool rows of ``frame_features`` that share a ``tracklet_index`` value.

    Returns ``(features (K, D), tracklet ids (K,))`` in sorted id order.
    """
    frame_features = np.asarray(frame_features, np.float32)
    idx = np.asarray(tracklet_index)
    if len(idx) != len(frame_features):
        raise ValueError(f"tracklet_index has {len(idx)} entries for {len(frame_features)} feature rows")
    ids, inverse = np.unique(idx, return_inverse=True)
    if method == "mean":  # vectorised fast path
        f = normalize_rows(frame_features)
        sums = np.zeros((len(ids), f.shape[1]), np.float64)
        np.add.at(sums, inverse, f)
        return normalize_rows(sums), ids
    return np.stack([temporal_pool(frame_features[inverse == k], method, tau) for k in range(len(ids))]), ids


def tracklet_features(tracklets: Sequence, embed_paths: Callable[[list[str]], np.ndarray], method: str = "mean",
                      max_frames: int | None = 16, tau: float = 0.1) -> np.ndarray:
    """One pooled feature per :class:`~reid_training.data.Tracklet` (``paths`` attribute).

    ``embed_paths(paths) -> (N, D)`` embeds image files; at most ``max_frames`` frames per
    tracklet are used, spread evenly over its length (long tracklets add little but time).
    """
    paths: list[str] = []
    owner: list[int] = []
    for k, t in enumerate(tracklets):
        p = list(t.paths)
        if not p:
            raise ValueError(f"tracklet {k} (pid {getattr(t, 'pid', '?')}) has no frames")
        if max_frames and len(p) > max_frames:
            p = [p[i] for i in np.linspace(0, len(p) - 1, max_frames).round().astype(int)]
        paths += p
        owner += [k] * len(p)
    feats = np.asarray(embed_paths(paths), np.float32)
    pooled, _ = pool_tracklets(feats, np.asarray(owner), method, tau)
    return pooled
