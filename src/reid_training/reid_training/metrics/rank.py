"""CMC and mAP with the standard Market-1501 protocol, vectorised over query chunks.

Protocol: for each query, gallery images with the same person id AND the same camera are
removed from its ranking (re-finding a person in the camera that just saw her is trivial), as
are gallery images with a negative (junk) id. Queries without any remaining true match are
skipped. CMC at rank r: fraction of queries whose first true match is within the top r;
AP: mean over the query's true matches of the precision at each match.
"""
from __future__ import annotations

import logging

import numpy as np

from .distance import iter_distance_chunks

LOG = logging.getLogger(__name__)


def _ids(a, n: int, name: str) -> np.ndarray:
    a = np.asarray(a).reshape(-1)
    if len(a) != n:
        raise ValueError(f"{name} has {len(a)} entries but the distance matrix needs {n}")
    return a.astype(np.int64)


class RankAccumulator:
    """Accumulates CMC hits and APs over chunks of query rows (used by both entry points)."""

    def __init__(self, g_pids, g_camids, max_rank: int) -> None:
        self.g_pids = np.asarray(g_pids, np.int64).reshape(-1)
        self.g_camids = np.asarray(g_camids, np.int64).reshape(-1)
        if len(self.g_pids) != len(self.g_camids):
            raise ValueError(f"g_pids ({len(self.g_pids)}) and g_camids ({len(self.g_camids)}) differ in length")
        if max_rank < 1:
            raise ValueError(f"max_rank must be >= 1, got {max_rank}")
        self.max_rank = min(int(max_rank), len(self.g_pids))
        self.hits = np.zeros(self.max_rank, np.int64)
        self.ap_sum = 0.0
        self.valid = 0
        self.total = 0

    def add(self, dist: np.ndarray, q_pids: np.ndarray, q_camids: np.ndarray) -> np.ndarray:
        """Rank one chunk of query rows; returns their APs (NaN for queries without a match)."""
        n = len(dist)
        self.total += n
        order = np.argsort(dist, axis=1, kind="stable")
        gp, gc = self.g_pids[order], self.g_camids[order]
        same_pid = gp == q_pids[:, None]
        keep = ~((same_pid & (gc == q_camids[:, None])) | (gp < 0))
        match = same_pid & keep
        del gp, gc, order, same_pid
        has = match.any(axis=1)
        ap = np.full(n, np.nan)
        if not has.any():
            return ap
        keep_rank = np.cumsum(keep, axis=1, dtype=np.int32)  # 1-based rank among kept entries
        rows = np.flatnonzero(has)
        first = match[rows].argmax(axis=1)
        first_rank = keep_rank[rows, first] - 1
        self.hits += np.bincount(first_rank[first_rank < self.max_rank], minlength=self.max_rank)[:self.max_rank]
        r, c = np.nonzero(match)
        cum_match = np.cumsum(match, axis=1, dtype=np.int32)
        precision = cum_match[r, c] / keep_rank[r, c]
        ap_num = np.bincount(r, weights=precision, minlength=n)
        ap[has] = ap_num[has] / match[has].sum(axis=1)
        self.ap_sum += float(ap[has].sum())
        self.valid += len(rows)
        return ap

    def result(self) -> tuple[np.ndarray, float]:
        if self.valid == 0:
            raise ValueError(f"none of the {self.total} queries has a true match in the gallery "
                             f"(same id in another camera); check the query/gallery ids and cameras")
        if self.valid < self.total:
            LOG.warning("%d of %d queries have no true match in the gallery and were skipped",
                        self.total - self.valid, self.total)
        return (np.cumsum(self.hits) / self.valid).astype(np.float64), self.ap_sum / self.valid


def _chunk_rows(ng: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        return int(chunk_size)
    return max(1, int(4_000_000 // max(ng, 1)))  # ~4M entries: a few tens of MB of temporaries


def evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 50,
                  chunk_size: int | None = None) -> tuple[np.ndarray, float]:
    """``(cmc, mAP)`` for a ``(nq, ng)`` distance matrix (numpy array or np.memmap).

    ``cmc[r-1]`` is the rank-r accuracy (length ``min(max_rank, ng)``); both are fractions.
    Query rows are ranked ``chunk_size`` at a time (default: ~4M entries per chunk), so the
    temporaries stay bounded for a 20k x 20k matrix.
    """
    if hasattr(distmat, "detach"):
        distmat = distmat.detach().cpu().numpy()
    if getattr(distmat, "ndim", None) != 2:
        raise ValueError(f"distmat must be a 2-D (num_query, num_gallery) array, got shape {np.shape(distmat)}")
    nq, ng = distmat.shape
    q_pids, q_camids = _ids(q_pids, nq, "q_pids"), _ids(q_camids, nq, "q_camids")
    acc = RankAccumulator(_ids(g_pids, ng, "g_pids"), _ids(g_camids, ng, "g_camids"), max_rank)
    step = _chunk_rows(ng, chunk_size)
    for s in range(0, nq, step):
        acc.add(np.asarray(distmat[s:s + step], dtype=np.float32), q_pids[s:s + step], q_camids[s:s + step])
    return acc.result()


def evaluate_features(qf, gf, q_pids, g_pids, q_camids, g_camids, metric: str = "cosine", max_rank: int = 50,
                      chunk_size: int | None = None) -> tuple[np.ndarray, float]:
    """Like :func:`evaluate_rank` from features: the distance matrix is never held in full
    (memory ~ chunk x gallery), so 20k x 20k and larger evaluate on a small machine."""
    ng = len(gf)
    acc = RankAccumulator(_ids(g_pids, ng, "g_pids"), _ids(g_camids, ng, "g_camids"), max_rank)
    q_pids, q_camids = _ids(q_pids, len(qf), "q_pids"), _ids(q_camids, len(qf), "q_camids")
    for s, block in iter_distance_chunks(qf, gf, metric, _chunk_rows(ng, chunk_size)):
        acc.add(block, q_pids[s:s + len(block)], q_camids[s:s + len(block)])
    return acc.result()
