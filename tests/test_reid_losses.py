"""reid_training.losses on hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reid_training.losses import (CenterLoss, CrossEntropyLabelSmooth, ReIDLoss, TripletLoss, batch_hard_mining,
                                  pairwise_euclidean)


def test_label_smoothing_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    targets = torch.tensor([0, 2])
    assert torch.allclose(CrossEntropyLabelSmooth(0.0)(logits, targets), F.cross_entropy(logits, targets))
    eps = 0.3
    logp = F.log_softmax(logits, dim=1)
    expected = sum(-(1 - eps) * logp[i, t] - eps / 3 * logp[i].sum() for i, t in enumerate(targets)) / 2
    assert torch.allclose(CrossEntropyLabelSmooth(eps)(logits, targets), expected)
    with pytest.raises(ValueError, match="epsilon"):
        CrossEntropyLabelSmooth(1.0)


def test_batch_hard_triplet_on_points_on_a_line():
    # ids 0,0,1,1 at x = 0, 1, 3, 7: anchor 0 -> hardest pos 1, hardest neg 3
    feats = torch.tensor([[0.0], [1.0], [3.0], [7.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    dist = pairwise_euclidean(feats)
    ap, an = batch_hard_mining(dist, labels)
    assert torch.allclose(ap, torch.tensor([1.0, 1.0, 4.0, 4.0]), atol=1e-5)
    assert torch.allclose(an, torch.tensor([3.0, 2.0, 2.0, 6.0]), atol=1e-5)
    margin = 0.5
    expected = sum(max(0.0, p - n + margin) for p, n in zip([1, 1, 4, 4], [3, 2, 2, 6])) / 4
    loss = TripletLoss(margin)(feats, labels)
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-5)
    loss.backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    soft = TripletLoss(soft=True)(feats.detach(), labels)
    expected_soft = sum(math.log1p(math.exp(p - n)) for p, n in zip([1, 1, 4, 4], [3, 2, 2, 6])) / 4
    assert math.isclose(float(soft), expected_soft, rel_tol=1e-5)


def test_triplet_without_positives_is_zero_but_differentiable():
    feats = torch.randn(3, 4, requires_grad=True)
    loss = TripletLoss(0.3)(feats, torch.tensor([0, 1, 2]))
    assert float(loss.detach()) == 0.0
    loss.backward()
    with pytest.raises(ValueError, match="margin"):
        TripletLoss(0.0)


def test_center_loss_is_half_the_mean_squared_distance_to_the_centers():
    center = CenterLoss(num_classes=2, feature_dim=3)
    with torch.no_grad():
        center.centers.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    labels = torch.tensor([0, 1])
    with torch.no_grad():
        assert float(center(center.centers.clone(), labels)) == 0.0
    feats = torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    with torch.no_grad():
        assert math.isclose(float(center(feats, labels)), (1.0 + 4.0) / 2 / 2)


def test_combined_loss_weights_and_parts():
    torch.manual_seed(0)
    logits, feats, labels = torch.randn(8, 4), torch.randn(8, 6), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    crit = ReIDLoss(4, 6, ce_weight=1.0, epsilon=0.1, triplet_weight=2.0, margin=0.3, center_weight=0.5)
    total, parts = crit(logits, feats, labels)
    assert set(parts) == {"ce", "triplet", "center"}
    assert math.isclose(float(total.detach()), parts["ce"] + 2.0 * parts["triplet"] + 0.5 * parts["center"], rel_tol=1e-5)
    only_triplet = ReIDLoss(4, 6, ce_weight=0.0, center_weight=0.0)
    total, parts = only_triplet(None, feats, labels)
    assert set(parts) == {"triplet"} and list(only_triplet.parameters()) == []
    with pytest.raises(ValueError, match="no classifier"):
        ReIDLoss(4, 6)(None, feats, labels)
    with pytest.raises(ValueError, match="all loss weights are 0"):
        ReIDLoss(4, 6, ce_weight=0, triplet_weight=0, center_weight=0)
