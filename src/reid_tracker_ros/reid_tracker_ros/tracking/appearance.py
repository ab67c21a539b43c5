"""Appearance that calibrates itself per camera, so a ReID model from another domain can never
make tracking worse than motion alone.

A model's cosine distances mean different things on different cameras (a narrow cone of
features on one data set, a wide one on another), so fixed thresholds either reject nothing or
everything. The tracker gets labelled samples for free in every frame:

- negatives: two detections in the same frame are different people. Only pairs whose boxes
  do not overlap and have a similar size and shape are kept ("hard" negatives): a feature that
  merely encodes box geometry then cannot look informative;
- positives: an unambiguous continuation (a track whose predicted box overlaps exactly one
  detection by a large IoU, and that detection no other track) is the same person. The track
  side of the pair is its newest feature, not its smoothed EMA: both kinds of samples must be
  single crops against single crops, or the EMA's lower noise alone makes positives look closer
  than negatives, and features that carry no identity (a blank or noise frame: one look for
  everybody plus per-crop noise) look informative.

From the recent samples of both (fixed-size ring buffers) the calibrator estimates how well
appearance separates people (the AUC, the probability that a negative is farther than a
positive) and derives, per frame:

- ``weight`` in [0, 1]: 0 until enough samples have been seen and whenever the AUC is low
  (random or uninformative features): the strategies then associate on motion only, exactly
  as their motion-only variant would;
- ``threshold``: the largest cosine distance accepted as "same person", a low quantile of the
  hard negatives (few different people are ever that close);
- ``similarity(d)``: distances mapped to [0, 1] between the typical negative (0) and the
  typical positive (1), for strategies that add appearance to a motion score.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .costs import iou_matrix


@dataclass(frozen=True)
class AppearanceGate:
    """What the strategies read for one frame (see the module docstring)."""

    weight: float
    threshold: float
    neg_median: float
    pos_median: float

    @property
    def active(self) -> bool:
        return self.weight > 0.0

    def similarity(self, distance: np.ndarray) -> np.ndarray:
        span = max(self.neg_median - self.pos_median, 1e-6)
        return np.clip((self.neg_median - distance) / span, 0.0, 1.0)


OFF = AppearanceGate(0.0, 0.0, 1.0, 0.0)


class _Ring:
    """Last ``capacity`` samples, no allocation after construction."""

    def __init__(self, capacity: int) -> None:
        self.data = np.zeros(capacity, np.float64)
        self.n = 0
        self.head = 0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, np.float64).ravel()[-len(self.data):]
        k = len(values)
        if k == 0:
            return
        end = self.head + k
        if end <= len(self.data):
            self.data[self.head:end] = values
        else:
            split = len(self.data) - self.head
            self.data[self.head:] = values[:split]
            self.data[:k - split] = values[split:]
        self.head = end % len(self.data)
        self.n = min(self.n + k, len(self.data))

    def values(self) -> np.ndarray:
        return self.data[:self.n]

    def clear(self) -> None:
        self.n = self.head = 0


class AppearanceCalibrator:
    """Online estimate of how informative appearance is on this camera (module docstring).

    ``min_samples`` of each kind are needed before appearance is used at all; ``auc_low`` and
    ``auc_high`` map the AUC to the weight (linear between them); ``neg_quantile`` sets the
    threshold; ``max_negatives`` bounds the negatives taken from one frame so the window spans
    many frames (picked with a fixed-seed generator: runs are reproducible).
    """

    def __init__(self, capacity: int = 1500, min_samples: int = 20, auc_low: float = 0.9,
                 auc_high: float = 0.98, neg_quantile: float = 0.02, max_negatives: int = 24,
                 positive_iou: float = 0.7, rival_iou: float = 0.3, size_ratio: float = 0.15,
                 seed: int = 0) -> None:
        self.pos = _Ring(capacity)
        self.neg = _Ring(capacity)
        self.min_samples = int(min_samples)
        self.auc_low, self.auc_high = float(auc_low), float(auc_high)
        self.neg_quantile = float(neg_quantile)
        self.max_negatives = int(max_negatives)
        self.positive_iou, self.rival_iou = float(positive_iou), float(rival_iou)
        self.size_ratio = float(size_ratio)
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        self._gate = OFF
        self._dirty = False

    def reset(self) -> None:
        self.pos.clear()
        self.neg.clear()
        self._rng = np.random.default_rng(self._seed)
        self._gate = OFF
        self._dirty = False

    # ------------------------------------------------------------------ samples
    def observe_negatives(self, boxes: np.ndarray, unit_features: np.ndarray) -> None:
        """Same-frame detection pairs that do not overlap and have a similar size and shape."""
        n = len(boxes)
        if n < 2:
            return
        iu, ju = np.triu_indices(n, k=1)
        wh = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)
        log_h = np.log(wh[:, 1])
        log_ar = np.log(wh[:, 0] / wh[:, 1])
        similar = ((np.abs(log_h[iu] - log_h[ju]) < self.size_ratio)
                   & (np.abs(log_ar[iu] - log_ar[ju]) < 2 * self.size_ratio))
        disjoint = iou_matrix(boxes, boxes)[iu, ju] <= 0.0
        keep = np.flatnonzero(similar & disjoint)
        if len(keep) == 0:
            return
        if len(keep) > self.max_negatives:
            keep = self._rng.choice(keep, self.max_negatives, replace=False)
        d = 1.0 - np.einsum("ij,ij->i", unit_features[iu[keep]], unit_features[ju[keep]])
        self.neg.add(d)
        self._dirty = True

    def observe_positives(self, predicted_boxes: np.ndarray, track_features: np.ndarray,
                          has_feature: np.ndarray, boxes: np.ndarray, unit_features: np.ndarray) -> None:
        """Unambiguous continuations: track i overlaps detection j by >= positive_iou, and no
        other detection overlaps track i, nor any other track detection j, by >= rival_iou.
        ``track_features``: each track's newest single feature (module docstring)."""
        if len(predicted_boxes) == 0 or len(boxes) == 0 or not has_feature.any():
            return
        iou = iou_matrix(predicted_boxes, boxes)
        strong = iou >= self.positive_iou
        rivals = iou >= self.rival_iou
        ok = strong & (rivals.sum(axis=1, keepdims=True) == 1) & (rivals.sum(axis=0, keepdims=True) == 1)
        ok &= has_feature[:, None]
        ti, dj = np.nonzero(ok)
        if len(ti) == 0:
            return
        d = 1.0 - np.einsum("ij,ij->i", track_features[ti], unit_features[dj])
        self.pos.add(d)
        self._dirty = True

    # ------------------------------------------------------------------ estimate
    def gate(self) -> AppearanceGate:
        """The current estimate (recomputed only after new samples)."""
        if self._dirty:
            self._gate = self._estimate()
            self._dirty = False
        return self._gate

    def auc(self) -> float | None:
        """P(negative distance > positive distance), ties counted half; None without samples."""
        pos, neg = self.pos.values(), np.sort(self.neg.values())
        if len(pos) == 0 or len(neg) == 0:
            return None
        below = np.searchsorted(neg, pos, side="left")
        not_above = np.searchsorted(neg, pos, side="right")
        greater = len(neg) - not_above
        ties = not_above - below
        return float((greater + 0.5 * ties).sum() / (len(pos) * len(neg)))

    def _estimate(self) -> AppearanceGate:
        if self.pos.n < self.min_samples or self.neg.n < self.min_samples:
            return OFF
        auc = self.auc()
        assert auc is not None
        weight = float(np.clip((auc - self.auc_low) / max(self.auc_high - self.auc_low, 1e-9), 0.0, 1.0))
        neg, pos = self.neg.values(), self.pos.values()
        return AppearanceGate(weight, float(np.quantile(neg, self.neg_quantile)),
                              float(np.median(neg)), float(np.median(pos)))
