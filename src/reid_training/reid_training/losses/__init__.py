"""ReID losses: label-smoothed cross-entropy, batch-hard triplet (margin or soft margin), center
loss, and :class:`ReIDLoss` which combines them with configurable weights."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CenterLoss", "CrossEntropyLabelSmooth", "ReIDLoss", "TripletLoss", "batch_hard_mining",
           "pairwise_euclidean"]


class CrossEntropyLabelSmooth(nn.Module):
    """Cross-entropy against ``(1 - eps) * onehot + eps / C`` (Szegedy et al., 2016); eps 0 is plain CE.
    Smoothing keeps the classifier from over-fitting the training identities, which never appear
    at test time in ReID."""

    def __init__(self, epsilon: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= float(epsilon) < 1.0:
            raise ValueError(f"label smoothing epsilon must be in [0, 1), got {epsilon!r}")
        self.epsilon = float(epsilon)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_probs = F.log_softmax(logits.float(), dim=1)
        nll = -log_probs.gather(1, targets[:, None]).squeeze(1)
        uniform = -log_probs.mean(dim=1)
        return ((1.0 - self.epsilon) * nll + self.epsilon * uniform).mean()


def pairwise_euclidean(x: torch.Tensor) -> torch.Tensor:
    """``(N, D)`` -> ``(N, N)`` Euclidean distances, clamped away from 0 so the sqrt has a gradient."""
    x = x.float()
    sq = (x * x).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.t())
    return d2.clamp(min=1e-12).sqrt()


def batch_hard_mining(dist: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For every anchor: the farthest positive and the nearest negative (Hermans et al., 2017).
    Anchors without a positive or without a negative in the batch are excluded by the caller via
    the returned values (``-inf`` / ``+inf``)."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos_mask = same & ~eye
    hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).max(dim=1).values
    hardest_neg = dist.masked_fill(same, float("inf")).min(dim=1).values
    return hardest_pos, hardest_neg


class TripletLoss(nn.Module):
    """Batch-hard triplet loss: ``max(0, d(a,p) - d(a,n) + margin)`` or, with ``soft=True``,
    ``softplus(d(a,p) - d(a,n))`` (no margin to tune)."""

    def __init__(self, margin: float = 0.3, soft: bool = False) -> None:
        super().__init__()
        if not soft and float(margin) <= 0:
            raise ValueError(f"triplet margin must be positive (or use soft=True), got {margin!r}")
        self.margin = float(margin)
        self.soft = bool(soft)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        dist = pairwise_euclidean(features)
        ap, an = batch_hard_mining(dist, labels)
        valid = torch.isfinite(ap) & torch.isfinite(an)
        if not valid.any():
            return features.sum() * 0.0  # no identity has two samples: nothing to learn from
        gap = ap[valid] - an[valid]
        loss = F.softplus(gap) if self.soft else F.relu(gap + self.margin)
        return loss.mean()


class CenterLoss(nn.Module):
    """Mean squared distance of each feature to its identity's learnable center (Wen et al., 2016);
    pulls every identity into a compact cluster. Centers are parameters trained with the model."""

    def __init__(self, num_classes: int, feature_dim: int) -> None:
        super().__init__()
        if num_classes <= 0 or feature_dim <= 0:
            raise ValueError(f"num_classes and feature_dim must be positive, got {num_classes}, {feature_dim}")
        self.centers = nn.Parameter(torch.randn(num_classes, feature_dim) * 0.01)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        centers = self.centers[labels]
        return ((features.float() - centers) ** 2).sum(dim=1).mean() / 2.0


class ReIDLoss(nn.Module):
    """``ce_weight * CE(logits) + triplet_weight * triplet(feat) + center_weight * center(feat)``.

    ``forward`` returns ``(total, parts)`` where ``parts`` maps each active loss name to its
    (unweighted) value for logging. A weight of 0 disables that loss entirely.
    """

    def __init__(self, num_classes: int, feature_dim: int, ce_weight: float = 1.0, epsilon: float = 0.1,
                 triplet_weight: float = 1.0, margin: float = 0.3, soft_margin: bool = False,
                 center_weight: float = 0.0005) -> None:
        super().__init__()
        for name, w in (("ce_weight", ce_weight), ("triplet_weight", triplet_weight), ("center_weight", center_weight)):
            if float(w) < 0:
                raise ValueError(f"{name} must be >= 0, got {w!r}")
        if ce_weight == triplet_weight == center_weight == 0:
            raise ValueError("all loss weights are 0: nothing to train")
        self.weights = {"ce": float(ce_weight), "triplet": float(triplet_weight), "center": float(center_weight)}
        self.ce = CrossEntropyLabelSmooth(epsilon) if ce_weight else None
        self.triplet = TripletLoss(margin, soft_margin) if triplet_weight else None
        self.center = CenterLoss(num_classes, feature_dim) if center_weight else None

    def forward(self, logits: torch.Tensor | None, features: torch.Tensor,
                labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        parts: dict[str, torch.Tensor] = {}
        if self.ce is not None:
            if logits is None:
                raise ValueError("cross-entropy weight > 0 but the model has no classifier (num_classes=0)")
            parts["ce"] = self.ce(logits, labels)
        if self.triplet is not None:
            parts["triplet"] = self.triplet(features, labels)
        if self.center is not None:
            parts["center"] = self.center(features, labels)
        total = sum(self.weights[k] * v for k, v in parts.items())
        return total, {k: float(v.detach()) for k, v in parts.items()}
