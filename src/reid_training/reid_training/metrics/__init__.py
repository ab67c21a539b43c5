"""ReID evaluation: distances, CMC/mAP (standard protocol), k-reciprocal re-ranking, plots."""
from __future__ import annotations

from .distance import METRICS, compute_distance, iter_distance_chunks
from .plot import plot_cmc
from .rank import evaluate_features, evaluate_rank
from .rerank import (RERANK_DEFAULTS, RerankParams, jaccard_distance, k_reciprocal_encoding, k_reciprocal_parts,
                     k_reciprocal_rerank)

__all__ = ["METRICS", "RERANK_DEFAULTS", "RerankParams", "compute_distance", "evaluate_features", "evaluate_rank", "iter_distance_chunks",
           "jaccard_distance", "k_reciprocal_encoding", "k_reciprocal_parts",
           "k_reciprocal_rerank", "plot_cmc"]
