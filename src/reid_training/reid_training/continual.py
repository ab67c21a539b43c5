"""Continual training / unsupervised domain adaptation with pseudo-labels (the original's
``--continual --eps``), and the clustering it shares with camera adaptation.

Loop: extract target features with the current model -> k-reciprocal Jaccard distance ->
DBSCAN (``eps``) -> every cluster becomes a pseudo-identity, noise is dropped -> fine-tune on
the pseudo-identities -> repeat. DBSCAN is written here on a precomputed distance matrix
(vectorised: core points are joined through connected components, border points go to their
nearest core), so no scikit-learn is needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


def dbscan_precomputed(dist: np.ndarray, eps: float, min_samples: int = 4) -> np.ndarray:
    """DBSCAN labels (``-1`` = noise, clusters ``0..K-1``) for a square distance matrix.

    A point is a core point when at least ``min_samples`` points (itself included) lie within
    ``eps``; core points within ``eps`` of each other share a cluster; a non-core point within
    ``eps`` of some core point joins the cluster of its nearest core point.
    """
    dist = np.asarray(dist)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"dist must be a square matrix, got shape {dist.shape}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples!r}")
    n = len(dist)
    labels = np.full(n, -1, np.int64)
    if n == 0:
        return labels
    near = dist <= eps
    np.fill_diagonal(near, True)
    core = near.sum(axis=1) >= min_samples
    core_idx = np.flatnonzero(core)
    if len(core_idx) == 0:
        return labels
    sub = near[np.ix_(core_idx, core_idx)]
    _, comp = connected_components(csr_matrix(sub), directed=False)
    labels[core_idx] = comp
    border = np.flatnonzero(~core & near[:, core].any(axis=1))
    if len(border):
        d = np.where(near[np.ix_(border, core_idx)], dist[np.ix_(border, core_idx)], np.inf)
        labels[border] = comp[np.argmin(d, axis=1)]
    return labels


def constrained_merge(dist: np.ndarray, eps: float, cannot_link: np.ndarray | None = None) -> np.ndarray:
    """Single-linkage merging of items closer than ``eps``, never joining two items marked in the
    boolean ``cannot_link`` matrix (e.g. tracklets seen in the same frame: different people).
    Pairs are merged nearest first; returns cluster labels ``0..K-1`` (every item gets one)."""
    dist = np.asarray(dist, np.float64)
    n = len(dist)
    if dist.shape != (n, n):
        raise ValueError(f"dist must be a square matrix, got shape {dist.shape}")
    conflict = np.zeros((n, n), bool) if cannot_link is None else np.asarray(cannot_link, bool).copy()
    if conflict.shape != (n, n):
        raise ValueError(f"cannot_link must have shape {(n, n)}, got {conflict.shape}")
    conflict |= conflict.T
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    iu, ju = np.triu_indices(n, k=1)
    d = dist[iu, ju]
    keep = d <= eps
    order = np.argsort(d[keep], kind="stable")
    for a, b in zip(iu[keep][order], ju[keep][order]):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb or conflict[ra, rb]:
            continue
        parent[rb] = ra
        conflict[ra] |= conflict[rb]  # the merged cluster inherits every constraint of both
        conflict[:, ra] = conflict[ra]
    roots = np.array([find(i) for i in range(n)])
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def jaccard_from_features(features: np.ndarray, k1: int = 20, k2: int = 6) -> np.ndarray:
    """k-reciprocal Jaccard distance among ``features`` (from :mod:`reid_training.metrics`)."""
    from . import metrics

    return np.asarray(metrics.jaccard_distance(np.asarray(features, np.float32), k1=k1, k2=k2), np.float64)


def pseudo_labels(features: np.ndarray, eps: float = 0.5, min_samples: int = 4, k1: int = 20,
                  k2: int = 6) -> np.ndarray:
    """DBSCAN on the k-reciprocal Jaccard distance: ``-1`` for noise, else a pseudo-identity."""
    n = len(features)
    k1 = max(2, min(k1, n - 1))
    k2 = max(1, min(k2, k1))
    return dbscan_precomputed(jaccard_from_features(features, k1, k2), eps, min_samples)


@dataclass
class RoundReport:
    round: int
    clusters: int
    clustered: int
    noise: int
    metrics: dict = field(default_factory=dict)


def adapt(model, target_paths: Sequence[str], train_on: Callable[[object, list, int], None],
          extract: Callable[[object, Sequence[str]], np.ndarray], eps: float = 0.5, rounds: int = 2,
          min_samples: int = 4, k1: int = 20, k2: int = 6, evaluate: Callable[[object], dict] | None = None,
          camids: Sequence[int] | None = None, log: Callable[[str], None] = print) -> list[RoundReport]:
    """Unsupervised adaptation to ``target_paths`` (images without labels).

    ``extract(model, paths) -> (N, D)`` features; ``train_on(model, records, num_classes)``
    fine-tunes on :class:`~reid_training.data.ImageRecord` pseudo-labelled records;
    ``evaluate(model) -> dict`` is called before the first and after every round. Returns one
    report per round (round 0 = before adaptation).
    """
    from .data import ImageRecord

    cams = list(camids) if camids is not None else [0] * len(target_paths)
    reports = [RoundReport(0, 0, 0, len(target_paths), evaluate(model) if evaluate else {})]
    for r in range(1, rounds + 1):
        feats = extract(model, target_paths)
        labels = pseudo_labels(feats, eps, min_samples, k1, k2)
        keep = labels >= 0
        n_clusters = int(labels.max() + 1) if keep.any() else 0
        log(f"continual round {r}: {n_clusters} pseudo-identities, {int(keep.sum())} images clustered, "
            f"{int((~keep).sum())} noise (eps {eps})")
        if n_clusters < 2:
            log(f"continual round {r}: fewer than 2 clusters, stopping (try a larger --eps)")
            reports.append(RoundReport(r, n_clusters, int(keep.sum()), int((~keep).sum()), reports[-1].metrics))
            break
        records = [ImageRecord(str(p), int(lab), int(c)) for p, lab, c in zip(target_paths, labels, cams) if lab >= 0]
        train_on(model, records, n_clusters)
        reports.append(RoundReport(r, n_clusters, int(keep.sum()), int((~keep).sum()),
                                   evaluate(model) if evaluate else {}))
    return reports
