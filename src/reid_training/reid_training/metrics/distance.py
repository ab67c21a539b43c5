"""Query-gallery distance matrices, computed in row chunks (bounded temporary memory)."""
from __future__ import annotations

import numpy as np
from reid_tracker_ros.vectors import normalize_rows

METRICS = ("cosine", "euclidean")


def as_numpy_features(x, name: str = "features") -> np.ndarray:
    """(N, D) float32 numpy array from numpy or a torch tensor; names ``name`` on bad shapes."""
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def compute_distance(qf, gf, metric: str = "cosine", chunk_size: int = 4096) -> np.ndarray:
    """``(len(qf), len(gf))`` float32 distances.

    ``cosine``: ``1 - cos`` in [0, 2]; ``euclidean``: the L2 distance (not squared). Rows of
    ``qf`` are processed ``chunk_size`` at a time so the temporaries stay small; the result
    itself is ``nq * ng * 4`` bytes (for very large sets use :func:`iter_distance_chunks`).
    """
    q = as_numpy_features(qf, "query features")
    g = as_numpy_features(gf, "gallery features")
    out = np.empty((len(q), len(g)), np.float32)
    for start, block in iter_distance_chunks(q, g, metric, chunk_size):
        out[start:start + len(block)] = block
    return out


def iter_distance_chunks(qf, gf, metric: str = "cosine", chunk_size: int = 4096):
    """Yield ``(start_row, distances of query rows start..start+chunk)`` without the full matrix."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    q = as_numpy_features(qf, "query features")
    g = as_numpy_features(gf, "gallery features")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query and gallery feature sizes differ: {q.shape[1]} vs {g.shape[1]}")
    if metric == "cosine":
        q, g = normalize_rows(q), normalize_rows(g)
    else:
        g_sq = np.einsum("ij,ij->i", g, g)
    for start in range(0, len(q), chunk_size):
        qc = q[start:start + chunk_size]
        dots = qc @ g.T
        if metric == "cosine":
            block = 1.0 - dots
        else:
            block = np.einsum("ij,ij->i", qc, qc)[:, None] + g_sq[None, :] - 2.0 * dots
            np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        yield start, block.astype(np.float32, copy=False)
