"""k-reciprocal re-ranking and the k-reciprocal Jaccard distance.

Written from the description in Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding" (CVPR 2017):

1. ``N(i, k)``: the k nearest neighbours of sample i (itself included) over probe + gallery.
2. k-reciprocal set ``R(i, k) = {j in N(i, k) : i in N(j, k)}`` -- true matches tend to be
   each other's neighbours, hard negatives tend not to be.
3. Expansion: ``R*(i) = R(i, k1) U R(q, k1/2)`` for every ``q in R(i, k1)`` whose half-size set
   shares at least 2/3 of its members with ``R(i, k1)`` (recovers positives missed in 2.).
4. Encoding: sparse vector ``V_i`` with weight ``exp(-d(i, j))`` on ``j in R*(i)``, normalised
   to sum 1; local query expansion replaces ``V_i`` by the mean over ``N(i, k2)``.
5. Jaccard distance ``1 - sum_j min(V_i, V_j) / sum_j max(V_i, V_j)``; final distance
   ``(1 - lambda) * d_J + lambda * d``.

Distances are divided by each sample's largest distance first, so the ``exp(-d)`` weights do
not depend on the feature scale or metric. All set operations are sparse-matrix products
(scipy) and the Jaccard step uses an inverted index (the columns of the sparse encoding), so
cost grows with N * k1 * k2 per sample instead of N^2 per sample. Memory is O(N^2) for the
dense input distances (N = probes + gallery), as in the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .distance import as_numpy_features, compute_distance


@dataclass(frozen=True)
class RerankParams:
    """k-reciprocal re-ranking settings: neighbourhood ``k1``, query expansion ``k2``, weight
    ``lambda_value`` of the original distance."""

    k1: int
    k2: int
    lambda_value: float


# The one place for the re-ranking defaults (evaluator CLI, training evaluation, API defaults).
# Chosen by the worst rank-1 change over 16 DEV pairs: four dev sets of both renderers, dense and
# sparse (personsreid-dev, -dev2, crowdreid-dev, -dev2) x four models, with
# `python -m reid_training.rerank_tune` (docs/reid.md), never on the reported test sets: worst
# change +0.020. The paper's k1=20, k2=6, lambda=0.3 lowered rank-1 on the sparse crowd dev set
# (-0.027): with two true matches per query a large k1 pulls impostors into the neighbourhood.
RERANK_DEFAULTS = RerankParams(k1=8, k2=2, lambda_value=0.9)


def _check_k(k1: int, k2: int) -> None:
    if int(k1) < 1 or int(k2) < 1:
        raise ValueError(f"k1 and k2 must be >= 1, got k1={k1}, k2={k2}")


def _knn(dist: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of the k nearest samples of each row, nearest first, the sample itself
    always first (duplicates at distance 0 must not push it out)."""
    n = len(dist)
    k = min(int(k), n)
    d = dist.copy()
    np.fill_diagonal(d, -np.inf)
    part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (n, 1))
    sub = np.take_along_axis(d, part, axis=1)
    return np.take_along_axis(part, np.argsort(sub, axis=1, kind="stable"), axis=1)


def _membership(nn: np.ndarray, n: int) -> sp.csr_matrix:
    """Sparse 0/1 matrix with A[i, j] = 1 iff j is in row i of ``nn``."""
    rows = np.repeat(np.arange(n), nn.shape[1])
    return sp.csr_matrix((np.ones(nn.size, np.float32), (rows, nn.ravel())), shape=(n, n))


def _reciprocal(nn: np.ndarray, n: int) -> sp.csr_matrix:
    a = _membership(nn, n)
    return a.multiply(a.T).tocsr()


def k_reciprocal_encoding(dist: np.ndarray, k1: int = 20, k2: int = 6) -> sp.csr_matrix:
    """Sparse (N, N) encoding ``V`` (rows sum to 1) of an all-vs-all distance matrix (steps 1-4)."""
    _check_k(k1, k2)
    dist = np.asarray(dist, np.float32)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"k-reciprocal encoding needs a square (N, N) distance matrix, got {dist.shape}")
    n = len(dist)
    scale = dist.max(axis=1, keepdims=True)
    dist = dist / np.where(scale > 0, scale, 1.0)
    nn = _knn(dist, k1 + 1)
    recip = _reciprocal(nn, n)
    half = _reciprocal(nn[:, :int(round(k1 / 2)) + 1], n)
    half_size = np.asarray(half.sum(axis=1)).ravel()
    # overlap[i, q] = |R(i, k1) & R(q, k1/2)| for q in R(i, k1)
    overlap = (recip @ half.T).multiply(recip).tocsr()
    overlap.data = (overlap.data >= (2.0 / 3.0) * half_size[overlap.indices]).astype(np.float32)
    overlap.eliminate_zeros()
    expanded = (recip + overlap @ half).tocsr()
    expanded.data[:] = 1.0
    # weights exp(-d) on the expanded set, normalised per row
    r, c = expanded.nonzero()
    w = np.exp(-dist[r, c].astype(np.float64))
    v = sp.csr_matrix((w, (r, c)), shape=(n, n))
    sums = np.asarray(v.sum(axis=1)).ravel()
    v = sp.diags(1.0 / np.where(sums > 0, sums, 1.0)) @ v
    if k2 > 1:  # local query expansion: average the encodings of the k2 nearest neighbours
        q_nn = nn[:, :min(int(k2), nn.shape[1])]
        v = (_membership(q_nn, n) @ v) / q_nn.shape[1]
    return v.tocsr()


def _jaccard_rows(v: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Jaccard distance between encodings ``rows`` and ``cols`` of ``v`` (len(rows), len(cols))."""
    v_csc = v.tocsc()
    sums = np.asarray(v.sum(axis=1)).ravel()
    n = v.shape[0]
    out = np.empty((len(rows), len(cols)), np.float32)
    for out_row, i in enumerate(rows):
        start, end = v.indptr[i], v.indptr[i + 1]
        idx, vals = v.indices[start:end], v.data[start:end]
        sub = v_csc[:, idx]  # inverted index: every sample that shares a non-zero with row i
        mins = np.minimum(sub.data, np.repeat(vals, np.diff(sub.indptr)))
        inter = np.bincount(sub.indices, weights=mins, minlength=n)[cols]
        union = sums[i] + sums[cols] - inter
        out[out_row] = 1.0 - inter / np.where(union > 0, union, 1.0)
    return out


def k_reciprocal_parts(q_g, q_q, g_g, k1: int = RERANK_DEFAULTS.k1,
                       k2: int = RERANK_DEFAULTS.k2) -> tuple[np.ndarray, np.ndarray]:
    """``(jaccard, original)``, both ``(nq, ng)``: the k-reciprocal Jaccard distance and the
    query-gallery distance scaled per query, which :func:`k_reciprocal_rerank` mixes with
    ``lambda`` (separate so a sweep over ``lambda`` encodes once)."""
    _check_k(k1, k2)
    q_g, q_q, g_g = (np.asarray(a, np.float32) for a in (q_g, q_q, g_g))
    nq, ng = q_g.shape
    if q_q.shape != (nq, nq) or g_g.shape != (ng, ng):
        raise ValueError(f"shapes do not fit: q_g {q_g.shape}, q_q {q_q.shape} (want {(nq, nq)}), "
                         f"g_g {g_g.shape} (want {(ng, ng)})")
    full = np.block([[q_q, q_g], [q_g.T, g_g]])
    v = k_reciprocal_encoding(full, k1, k2)
    jac = _jaccard_rows(v, np.arange(nq), np.arange(nq, nq + ng))
    scale = full[:nq].max(axis=1, keepdims=True)
    return jac, (q_g / np.where(scale > 0, scale, 1.0)).astype(np.float32)


def k_reciprocal_rerank(q_g, q_q, g_g, k1: int = RERANK_DEFAULTS.k1, k2: int = RERANK_DEFAULTS.k2,
                        lambda_value: float = RERANK_DEFAULTS.lambda_value) -> np.ndarray:
    """Re-ranked ``(nq, ng)`` distances from the query-gallery, query-query and gallery-gallery
    distance matrices (any metric): ``(1 - lambda) * jaccard + lambda * original``."""
    _check_k(k1, k2)
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f"lambda_value must be in [0, 1], got {lambda_value}")
    jac, original = k_reciprocal_parts(q_g, q_q, g_g, k1, k2)
    return ((1.0 - lambda_value) * jac + lambda_value * original).astype(np.float32)


def jaccard_distance(x, k1: int = 20, k2: int = 6, *, is_distance: bool | None = None,
                     metric: str = "euclidean") -> np.ndarray:
    """All-vs-all k-reciprocal Jaccard distance ``(N, N)`` float32 (symmetric, zero diagonal),
    e.g. for DBSCAN pseudo-labelling in unsupervised domain adaptation.

    ``x``: features ``(N, D)`` (distances via ``metric``) or a distance matrix ``(N, N)``.
    ``is_distance=None`` treats ``x`` as distances when it is square, symmetric and has a
    zero diagonal; pass True/False to decide explicitly.
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, np.float32)
    if is_distance is None:
        is_distance = (x.ndim == 2 and x.shape[0] == x.shape[1] and np.allclose(np.diag(x), 0.0, atol=1e-5)
                       and np.allclose(x, x.T, atol=1e-5))
    if is_distance:
        if x.ndim != 2 or x.shape[0] != x.shape[1]:
            raise ValueError(f"jaccard_distance: a distance matrix must be square, got {x.shape}")
        dist = x
    else:
        feats = as_numpy_features(x, "features")
        dist = compute_distance(feats, feats, metric)
    n = len(dist)
    v = k_reciprocal_encoding(dist, k1, k2)
    jac = _jaccard_rows(v, np.arange(n), np.arange(n))
    jac = np.minimum(jac, jac.T)  # exact symmetry despite float rounding
    np.fill_diagonal(jac, 0.0)
    return np.clip(jac, 0.0, 1.0)
