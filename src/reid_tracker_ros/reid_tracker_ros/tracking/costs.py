"""Association cost matrices (rows = tracks, columns = detections) and gating helpers.

All functions are vectorised and NaN-free: degenerate inputs (zero-area or inverted boxes,
all-zero embeddings, non-finite values) give well-defined worst-case costs, so the assignment
solver never sees a NaN.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..vectors import normalize_rows

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


# Coordinates beyond this are garbage (and their areas would overflow to inf/NaN).
_MAX_COORD = 1e15


def _finite_or_empty(x: np.ndarray) -> np.ndarray:
    """Rows with NaN/inf/absurd values become the empty box at the origin (IoU 0 with all)."""
    bad = ~(np.abs(x) < _MAX_COORD).all(axis=1)
    if bad.any():
        x = x.copy()
        x[bad] = 0.0
    return x


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of xyxy boxes, in [0, 1].

    Inverted or zero-area boxes count as empty, and rows with non-finite (or |x| >= 1e15)
    coordinates as empty boxes, so degenerate pairs get 0 rather than NaN.
    """
    a = _finite_or_empty(_boxes(boxes_a, "boxes_a"))
    b = _finite_or_empty(_boxes(boxes_b, "boxes_b"))
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    wh_a = np.maximum(a[:, 2:] - a[:, :2], 0.0)
    wh_b = np.maximum(b[:, 2:] - b[:, :2], 0.0)
    area_a = wh_a[:, 0] * wh_a[:, 1]
    area_b = wh_b[:, 0] * wh_b[:, 1]
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    iwh = np.maximum(rb - lt, 0.0)
    inter = iwh[..., 0] * iwh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    # union >= inter >= 0; it is 0 only for two empty boxes, whose inter is 0 too.
    iou = inter / np.maximum(union, 1e-12)
    return np.clip(iou, 0.0, 1.0, out=iou)


def iou_distance(track_boxes: np.ndarray, det_boxes: np.ndarray) -> np.ndarray:
    """(N, M) 1 - IoU: 0 for identical boxes, 1 for disjoint or degenerate ones."""
    return 1.0 - iou_matrix(track_boxes, det_boxes)


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
                              empty_value: float = 2.0, mask: np.ndarray | None = None
                              ) -> np.ndarray:
    """(M, N) smallest cosine distance between each gallery (G_i, D) and each embedding.

    Galleries and embeddings are assumed unit-norm (tracks store normalised features); an empty
    gallery gets ``empty_value`` (the worst cosine distance by default), so it never matches.
    ``mask`` (M, N) limits the work to the pairs that matter (e.g. those passing the motion gate);
    the others are left at ``empty_value``. Gallery matmuls dominate appearance matching, so
    this saves most of the time.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {emb.shape}")
    out = np.full((len(galleries), len(emb)), float(empty_value))
    if len(emb) == 0:
        return out
    dim = emb.shape[1]
    for i, gallery in enumerate(galleries):
        if len(gallery) and gallery.shape[1] != dim:
            raise ValueError(f"gallery {i} has feature dim {gallery.shape[1]}, embeddings have {dim}")
    if mask is None:
        for i, gallery in enumerate(galleries):
            if len(gallery):
                out[i] = 1.0 - (emb @ gallery.T).max(axis=1)
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != out.shape:
            raise ValueError(f"mask shape {mask.shape} differs from the cost shape {out.shape}")
        rows, cols = np.nonzero(mask)  # row-major: each row's columns are contiguous
        start = 0
        for i, n in enumerate(np.bincount(rows, minlength=len(galleries)).tolist()):
            sel, start = cols[start:start + n], start + n
            gallery = galleries[i]
            if n == 0 or len(gallery) == 0:
                continue
            if n <= 2:  # the common case under a motion gate: one matrix-vector product per pair
                for c in sel.tolist():
                    out[i, c] = 1.0 - float((gallery @ emb[c]).max())
            else:
                out[i, sel] = 1.0 - (emb[sel] @ gallery.T).max(axis=1)
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
