"""Feature-vector helpers shared by the embedder, the tracker and reid_training (one rule for
degenerate rows everywhere: a zero or non-finite feature has no direction and becomes zero,
so a NaN can never poison the distances it takes part in)."""
from __future__ import annotations

import numpy as np


def normalize_rows(x: np.ndarray, eps: float = 1e-12, out: np.ndarray | None = None) -> np.ndarray:
    """L2-normalised float32 rows of an (N, D) array; zero or non-finite rows become all-zero.
    ``out`` (e.g. ``x`` itself) receives the result instead of a new array."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected an (N, D) array, got shape {x.shape}")
    sq = np.einsum("ij,ij->i", x, x)
    ok = (sq > eps * eps) & np.isfinite(sq)  # a NaN/inf entry makes its row's sum non-finite
    scale = np.zeros_like(sq)
    np.divide(1.0, np.sqrt(sq, where=ok, out=np.ones_like(sq)), out=scale, where=ok)
    out = np.multiply(x, scale[:, None], out=out)
    if not ok.all():
        out[~ok] = 0.0  # 0 * inf would be NaN
    return out
