"""Fréchet distances between image sets.

The Inception FID needs ImageNet Inception weights that cannot be downloaded on this machine, so
the quality number tracked here is the **Fréchet ReID Distance (FRD)**: the same Fréchet distance
between Gaussians fitted to features, but the features come from OUR trained ReID model. It is
not comparable with published FID values: it measures how person-like the samples look *to the
ReID model* (identity-relevant structure), which is what matters for using them as training data.
``inception_fid`` computes the real FID through torch-fidelity or pytorch-fid when either is
installed and its weights are already on disk; otherwise it returns None and says why.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

FRD_NAME = "Frechet ReID Distance (FRD)"


def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of an (N, D) feature matrix, in float64."""
    x = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"gaussian_stats needs an (N>=2, D) matrix, got shape {x.shape}")
    x = x.astype(np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}) between N(mu1, S1) and N(mu2, S2).

    tr((S1 S2)^{1/2}) is computed as the sum of sqrt-eigenvalues of the symmetric PSD matrix
    S1^{1/2} S2 S1^{1/2} (same spectrum), which avoids the complex round-off of a general sqrtm.
    """
    mu1, mu2 = np.asarray(mu1, np.float64).ravel(), np.asarray(mu2, np.float64).ravel()
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape[0] != d or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance: shapes differ: mu {mu1.shape}/{mu2.shape}, sigma {s1.shape}/{s2.shape}")
    s1, s2 = (s1 + s1.T) / 2.0, (s2 + s2.T) / 2.0
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_from_features(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


@torch.no_grad()
def extract_features(feature_fn: Callable[[torch.Tensor], torch.Tensor], batches: Iterable[torch.Tensor]) -> np.ndarray:
    """Concatenate ``feature_fn(batch)`` over image batches (images in [-1, 1])."""
    out = [feature_fn(b).float().cpu() for b in batches]
    if not out:
        raise ValueError("extract_features: no image batches")
    return torch.cat(out).numpy()


def reid_feature_fn(model: torch.nn.Module, input_size: tuple[int, int], mean: Iterable[float],
                    std: Iterable[float], device: torch.device | str | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap a ReID model as FRD features: [-1, 1] GAN images -> resized, normalised as the ReID
    model was trained -> L2-normalised embeddings (the space the tracker matches in)."""
    mean_t = torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1)
    size = (int(input_size[0]), int(input_size[1]))

    @torch.no_grad()
    def fn(images: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        # The model's own device/dtype unless told otherwise (it may sit on a GPU after training).
        param = next(model.parameters())
        x = (images.float().to(device or param.device) + 1.0) / 2.0
        if tuple(x.shape[-2:]) != size:
            x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        x = ((x - mean_t.to(x.device)) / std_t.to(x.device)).to(param.dtype)
        f = model(x)
        if isinstance(f, (tuple, list)):
            f = f[0]
        if isinstance(f, dict):
            f = f.get("features", next(iter(f.values())))
        model.train(was_training)
        return torch.nn.functional.normalize(f.float().flatten(1), dim=1)

    return fn


def _hub_checkpoint(name: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / name


# Weight files the two packages look for in the torch hub cache (they download them otherwise).
_TORCH_FIDELITY_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
_PYTORCH_FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"


def inception_fid(real_dir: str | os.PathLike, fake_dir: str | os.PathLike, device: str = "cpu",
                  batch_size: int = 50) -> tuple[float | None, str]:
    """Inception FID between two image folders, or (None, reason) when it cannot run offline.

    Never triggers a download: the weight file must already be in the torch hub cache.
    """
    for d in (real_dir, fake_dir):
        if not Path(d).is_dir():
            raise FileNotFoundError(f"inception_fid: not a folder: {d}")
    try:
        import torch_fidelity  # type: ignore

        if _hub_checkpoint(_TORCH_FIDELITY_WEIGHTS).is_file():
            metrics = torch_fidelity.calculate_metrics(input1=str(fake_dir), input2=str(real_dir), fid=True,
                                                       cuda=device.startswith("cuda"), batch_size=batch_size,
                                                       verbose=False)
            return float(metrics["frechet_inception_distance"]), "torch-fidelity"
        reason = f"torch-fidelity installed but {_hub_checkpoint(_TORCH_FIDELITY_WEIGHTS)} missing"
    except ImportError:
        reason = "torch-fidelity not installed"
    try:
        from pytorch_fid.fid_score import calculate_fid_given_paths  # type: ignore

        if _hub_checkpoint(_PYTORCH_FID_WEIGHTS).is_file():
            value = calculate_fid_given_paths([str(real_dir), str(fake_dir)], batch_size, device, 2048, num_workers=0)
            return float(value), "pytorch-fid"
        reason += f"; pytorch-fid installed but {_hub_checkpoint(_PYTORCH_FID_WEIGHTS)} missing"
    except ImportError:
        reason += "; pytorch-fid not installed"
    return None, reason
