"""Association cost matrices (rows = tracks, columns = detections) and gating helpers.

All functions are vectorised and NaN-free: degenerate inputs (zero-area or inverted boxes,
all-zero embeddings, non-finite values) give well-defined worst-case costs, so the assignment
solver never sees a NaN.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Finite stand-in for "impossible": the Hungarian solver rejects infeasible (all-inf) rows.
GATED_COST = 1e5


def _boxes(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.reshape(0, 4)
    if x.ndim == 1 and x.size == 4:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) xyxy, got {x.shape}")
    return x


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of xyxy boxes, in [0, 1].

    Inverted boxes count as empty; pairs whose union is zero or non-finite get 0.
    """
    a = _boxes(boxes_a, "boxes_a")
    b = _boxes(boxes_b, "boxes_b")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    # NaN/inf inputs make the union NaN (never > 0) or inf (ratio 0): both end up at 0.
    valid = union > 0.0
    iou = np.zeros_like(union)
    np.divide(inter, union, out=iou, where=valid)
    iou[~np.isfinite(iou)] = 0.0
    return np.clip(iou, 0.0, 1.0, out=iou)


def iou_distance(track_boxes: np.ndarray, det_boxes: np.ndarray) -> np.ndarray:
    """(N, M) 1 - IoU: 0 for identical boxes, 1 for disjoint or degenerate ones."""
    return 1.0 - iou_matrix(track_boxes, det_boxes)


def normalize_rows(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """L2-normalised copy of (N, D) rows; zero or non-finite rows become all-zero."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected an (N, D) array, got shape {x.shape}")
    x = np.where(np.isfinite(x), x, 0.0).astype(np.float32, copy=False)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > eps)


def cosine_distance(a: np.ndarray, b: np.ndarray, normalize: bool = True) -> np.ndarray:
    """(N, M) cosine distance ``1 - cos`` in [0, 2].

    Rows are (re)normalised unless ``normalize=False`` (caller guarantees unit rows); an
    all-zero row has no direction and gets distance 1 to everything.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"cosine_distance needs (N, D) and (M, D) arrays, got {a.shape}, {b.shape}")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    if normalize:
        a, b = normalize_rows(a), normalize_rows(b)
    dist = 1.0 - (a @ b.T).astype(np.float64)
    return np.clip(dist, 0.0, 2.0, out=dist)


def nearest_neighbor_distance(galleries: Sequence[np.ndarray], embeddings: np.ndarray,
                              empty_value: float = 2.0) -> np.ndarray:
    """(M, N) smallest cosine distance between each gallery (G_i, D) and each embedding.

    Galleries and embeddings are assumed unit-norm (tracks store normalised features); an empty
    gallery gets ``empty_value`` (the worst cosine distance by default), so it never matches.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {emb.shape}")
    out = np.full((len(galleries), len(emb)), float(empty_value))
    if len(emb) == 0:
        return out
    emb_t = emb.T
    for i, gallery in enumerate(galleries):
        if len(gallery) == 0:
            continue
        if gallery.shape[1] != emb.shape[1]:
            raise ValueError(f"gallery {i} has feature dim {gallery.shape[1]}, "
                             f"embeddings have {emb.shape[1]}")
        out[i] = 1.0 - (gallery @ emb_t).max(axis=0)
    return np.clip(out, 0.0, max(2.0, float(empty_value)), out=out)


def gate_cost(cost: np.ndarray, gating_distance: np.ndarray, gating_threshold: float,
              gated_value: float = GATED_COST) -> np.ndarray:
    """Copy of ``cost`` with ``gated_value`` wherever the Mahalanobis gate fails."""
    out = np.array(cost, dtype=np.float64, copy=True)
    out[~(np.asarray(gating_distance) <= gating_threshold)] = gated_value
    return out


def threshold_cost(cost: np.ndarray, max_cost: float, gated_value: float = GATED_COST) -> np.ndarray:
    """Copy of ``cost`` with ``gated_value`` wherever it exceeds ``max_cost`` or is NaN."""
    out = np.array(cost, dtype=np.float64, copy=True)
    out[~(out <= max_cost)] = gated_value
    return out


def fuse_motion(appearance_cost: np.ndarray, gating_distance: np.ndarray, gating_threshold: float,
                appearance_weight: float = 1.0, gated_value: float = GATED_COST) -> np.ndarray:
    """``w * appearance + (1 - w) * d_maha / threshold``, gated by the Mahalanobis test.

    The motion term is normalised by the gate so both terms lie in comparable ranges
    (the motion term is <= 1 wherever the gate passes).
    """
    if not 0.0 <= appearance_weight <= 1.0:
        raise ValueError(f"appearance_weight must be in [0, 1], got {appearance_weight}")
    gd = np.asarray(gating_distance, dtype=np.float64)
    cost = np.asarray(appearance_cost, dtype=np.float64)
    if appearance_weight < 1.0:
        cost = appearance_weight * cost + (1.0 - appearance_weight) * (gd / gating_threshold)
    return gate_cost(cost, gd, gating_threshold, gated_value)
