"""Feature extraction and query/gallery evaluation of a model (metrics from :mod:`reid_training.metrics`)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from torch import nn


def _unpack(batch):
    from .trainer import unpack_batch

    return unpack_batch(batch)


@torch.no_grad()
def extract_features(model: nn.Module, loader: Iterable, device: str | torch.device | None = None,
                     flip: bool = False, progress: bool = False,
                     desc: str = "features") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features (N, D) float32 L2-normalised, pids (N,), camids (N,))`` in loader order.

    ``flip``: average with the horizontally flipped crop (a common test-time boost; off by
    default because the embedder does not do it)."""
    device = torch.device(device) if device else next(model.parameters()).device
    was_training = model.training
    model.eval()
    feats, pids, camids = [], [], []
    it = loader
    if progress:
        from tqdm import tqdm

        it = tqdm(loader, desc=desc, unit="batch", leave=False)
    try:
        for batch in it:
            images, pid, camid = _unpack(batch)
            images = images.to(device, non_blocking=True)
            f = model(images)
            if flip:
                f = f + model(torch.flip(images, dims=[3]))
            feats.append(torch.nn.functional.normalize(f.float(), dim=1).cpu().numpy())
            pids.append(pid.cpu().numpy())
            camids.append(camid.cpu().numpy() if camid is not None else np.zeros(len(pid), np.int64))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("the loader yielded no batches: nothing to extract")
    return np.concatenate(feats).astype(np.float32), np.concatenate(pids), np.concatenate(camids)


def evaluate_features(qf: np.ndarray, q_pids: np.ndarray, q_camids: np.ndarray, gf: np.ndarray,
                      g_pids: np.ndarray, g_camids: np.ndarray, metric: str = "cosine",
                      rerank: bool = True) -> dict:
    """Rank-1/5/10 and mAP (standard same-id-same-camera exclusion), and with ``rerank`` the same
    after k-reciprocal re-ranking. Values are fractions in [0, 1]."""
    from .. import metrics

    dist = metrics.compute_distance(qf, gf, metric=metric)
    cmc, mAP = metrics.evaluate_rank(dist, q_pids, g_pids, q_camids, g_camids)[:2]
    out = {"rank1": float(cmc[0]), "rank5": float(cmc[min(4, len(cmc) - 1)]),
           "rank10": float(cmc[min(9, len(cmc) - 1)]), "mAP": float(mAP), "queries": int(len(qf)),
           "gallery": int(len(gf))}
    if rerank:
        rr = metrics.k_reciprocal_rerank(dist, metrics.compute_distance(qf, qf, metric=metric),
                                         metrics.compute_distance(gf, gf, metric=metric))
        cmc_r, mAP_r = metrics.evaluate_rank(rr, q_pids, g_pids, q_camids, g_camids)[:2]
        out.update({"rank1_rerank": float(cmc_r[0]), "rank5_rerank": float(cmc_r[min(4, len(cmc_r) - 1)]),
                    "mAP_rerank": float(mAP_r)})
    return out


def evaluate_model(model: nn.Module, query_loader: Iterable, gallery_loader: Iterable, metric: str = "cosine",
                   rerank: bool = True, device: str | torch.device | None = None, progress: bool = False) -> dict:
    """Extract query and gallery features with ``model`` and evaluate them."""
    qf, qp, qc = extract_features(model, query_loader, device, progress=progress, desc="query")
    gf, gp, gc = extract_features(model, gallery_loader, device, progress=progress, desc="gallery")
    return evaluate_features(qf, qp, qc, gf, gp, gc, metric=metric, rerank=rerank)
