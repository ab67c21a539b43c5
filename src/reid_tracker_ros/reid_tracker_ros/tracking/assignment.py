"""Thresholded minimum-cost bipartite assignment (Hungarian / Jonker-Volgenant via scipy)."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_EMPTY_MATCHES = np.zeros((0, 2), dtype=np.int64)


def linear_assignment(cost: np.ndarray, threshold: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match rows to columns minimising total cost; pairs costing more than ``threshold`` never match.

    Entries above the threshold (and NaN/inf) are clamped to just above it before solving, which
    is the same as letting every row/column stay unmatched at cost ``threshold``: the solver then
    never trades a good pair for a forbidden one. Returns ``(matches (K, 2) [row, col],
    unmatched_rows, unmatched_cols)``, all int64 and sorted by row / index.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {cost.shape}")
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0:
        return _EMPTY_MATCHES.copy(), np.arange(n_rows), np.arange(n_cols)
    allowed = cost <= threshold  # False for NaN
    if threshold == np.inf:
        allowed &= np.isfinite(cost)
    if not allowed.any():
        return _EMPTY_MATCHES.copy(), np.arange(n_rows), np.arange(n_cols)
    if np.isfinite(threshold):
        forbidden = threshold + 1e-5 * max(1.0, abs(threshold))
    else:  # no threshold: only non-finite entries are forbidden
        forbidden = float(np.abs(cost[allowed]).max()) * 2.0 + 1.0
    solver_cost = np.where(allowed, cost, forbidden)
    rows, cols = linear_sum_assignment(solver_cost)
    keep = allowed[rows, cols]
    rows, cols = rows[keep], cols[keep]
    matches = np.stack([rows, cols], axis=1).astype(np.int64, copy=False)
    row_free = np.ones(n_rows, dtype=bool)
    row_free[rows] = False
    col_free = np.ones(n_cols, dtype=bool)
    col_free[cols] = False
    return matches, np.flatnonzero(row_free), np.flatnonzero(col_free)
