"""Per-track lifecycle and appearance memory (the Kalman state lives stacked in the tracker).

Lifecycle: a track is TENTATIVE until ``n_init`` consecutive hits (its birth detection counts),
then CONFIRMED. A tentative track is deleted on its first miss. A confirmed track that misses is
LOST; it is deleted once it has gone more than ``max_age`` frames without a match, i.e. it is
LOST for at most ``max_age`` frames.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..types import TrackState


class FeatureGallery:
    """Bounded memory of unit-norm appearance features (ring buffer) plus their EMA.

    The ring buffer keeps the last ``budget`` features for nearest-neighbour matching (DeepSORT);
    the EMA (``ema = alpha * ema + (1 - alpha) * f``, renormalised) is the smoothed descriptor
    that StrongSORT-style matching uses.
    """

    def __init__(self, budget: int = 100, ema_alpha: float = 0.9) -> None:
        if budget < 1:
            raise ValueError(f"feature budget must be >= 1, got {budget}")
        if not 0.0 <= ema_alpha <= 1.0:
            raise ValueError(f"ema_alpha must be in [0, 1], got {ema_alpha}")
        self.budget = int(budget)
        self.ema_alpha = float(ema_alpha)
        self._alpha32 = np.float32(self.ema_alpha)  # float32 scalars keep the EMA in float32
        self._beta32 = np.float32(1.0 - self.ema_alpha)
        self._buffer: np.ndarray | None = None  # (budget, D) float32, allocated on first add
        self._count = 0
        self._head = 0
        self.ema: np.ndarray | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def dim(self) -> int | None:
        return None if self._buffer is None else self._buffer.shape[1]

    @property
    def features(self) -> np.ndarray:
        """(G, D) stored features (a view; order is irrelevant for nearest-neighbour search)."""
        if self._buffer is None:
            return np.zeros((0, 0), dtype=np.float32)
        return self._buffer[:self._count]

    @property
    def last(self) -> np.ndarray | None:
        """The newest stored feature (unit), or None."""
        if self._count == 0 or self._buffer is None:
            return None
        return self._buffer[(self._head - 1) % self.budget]

    def add(self, feature: np.ndarray, ema_alpha: float | None = None) -> bool:
        """Store one feature (normalised here); returns False for a zero/non-finite one.

        ``ema_alpha`` overrides the gallery's EMA weight for this feature (Deep OC-SORT trusts
        confident detections more: their alpha is lower).
        """
        f = np.asarray(feature, dtype=np.float32).reshape(-1)
        sq = float(np.dot(f, f))
        if not (1e-24 < sq < math.inf):
            return False  # carries no direction: would corrupt both the gallery and the EMA
        if abs(sq - 1.0) > 1e-6:
            f = f * np.float32(1.0 / math.sqrt(sq))
        if self._buffer is None:
            self._buffer = np.empty((self.budget, f.size), dtype=np.float32)
        elif f.size != self._buffer.shape[1]:
            raise ValueError(f"feature dim {f.size} differs from the gallery's {self._buffer.shape[1]}")
        self._buffer[self._head] = f
        self._head = (self._head + 1) % self.budget
        self._count = min(self._count + 1, self.budget)
        if self.ema is None:
            self.ema = f.copy()
        else:
            ema = self.ema
            if ema_alpha is None:
                alpha, beta = self._alpha32, self._beta32
            else:
                alpha = np.float32(min(max(ema_alpha, 0.0), 1.0))
                beta = np.float32(1.0) - alpha
            ema *= alpha
            ema += beta * f
            n2 = float(np.dot(ema, ema))
            # Opposite features can cancel exactly; keep the newest direction then.
            if n2 > 1e-24:
                ema *= 1.0 / math.sqrt(n2)
            else:
                ema[:] = f
        return True


class Track:
    """Bookkeeping of one target: ids, counters, lifecycle state, last observation, features."""

    __slots__ = ("track_id", "n_init", "max_age", "state", "age", "hits", "frames_since_update",
                 "score", "class_id", "last_box", "gallery", "_deleted", "observations",
                 "direction")

    def __init__(self, track_id: int, box: np.ndarray, score: float, class_id: int,
                 n_init: int = 3, max_age: int = 30, feature: np.ndarray | None = None,
                 nn_budget: int = 100, ema_alpha: float = 0.9, history: int = 0) -> None:
        self.track_id = int(track_id)
        self.n_init = int(n_init)
        self.max_age = int(max_age)
        self.age = 0  # frames since creation
        self.hits = 1  # the birth detection
        self.frames_since_update = 0
        self.score = float(score)
        self.class_id = int(class_id)
        self.last_box = np.array(box, dtype=np.float64).reshape(4)
        self.state = TrackState.CONFIRMED if self.n_init <= 1 else TrackState.TENTATIVE
        self._deleted = False
        self.gallery = FeatureGallery(nn_budget, ema_alpha)
        if feature is not None:
            self.gallery.add(feature)
        # Observation-centric momentum (OC-SORT): the last ``history`` observed boxes with the
        # age they were seen at, and the unit direction of motion between observations.
        self.observations: deque[tuple[int, np.ndarray]] | None = (
            deque([(0, self.last_box)], maxlen=history + 1) if history > 0 else None)
        self.direction = np.zeros(2)

    def __repr__(self) -> str:
        return (f"Track(id={self.track_id}, state={self.state.name}, hits={self.hits}, "
                f"age={self.age}, since_update={self.frames_since_update}, deleted={self._deleted})")

    # ------------------------------------------------------------------ state queries
    @property
    def is_tentative(self) -> bool:
        return self.state == TrackState.TENTATIVE

    @property
    def is_confirmed(self) -> bool:
        """Confirmed once, matched or lost (the complement of tentative)."""
        return self.state != TrackState.TENTATIVE

    @property
    def is_deleted(self) -> bool:
        return self._deleted

    @property
    def features(self) -> np.ndarray:
        return self.gallery.features

    @property
    def ema_feature(self) -> np.ndarray | None:
        return self.gallery.ema

    # ------------------------------------------------------------------ transitions
    def mark_predicted(self) -> None:
        """A new frame started (the tracker predicted this track's state)."""
        self.age += 1
        self.frames_since_update += 1

    def mark_hit(self, box: np.ndarray, score: float, class_id: int,
                 feature: np.ndarray | None = None, ema_alpha: float | None = None) -> None:
        """A detection was matched to this track in the current frame."""
        self.hits += 1
        self.frames_since_update = 0
        self.last_box = np.array(box, dtype=np.float64).reshape(4)
        self.score = float(score)
        self.class_id = int(class_id)
        if self.observations is not None:
            self._update_direction()
        if feature is not None:
            self.gallery.add(feature, ema_alpha)
        if self.state == TrackState.LOST or (self.state == TrackState.TENTATIVE
                                             and self.hits >= self.n_init):
            self.state = TrackState.CONFIRMED

    def _update_direction(self) -> None:
        """Direction from the observation ``history`` frames ago (or the nearest later one that
        exists) to this one: observations, not Kalman estimates, so it survives occlusions."""
        obs = self.observations
        assert obs is not None
        horizon = self.age - (obs.maxlen - 1)
        previous = next((b for a, b in obs if a >= horizon), obs[-1][1] if obs else None)
        obs.append((self.age, self.last_box))
        if previous is None:
            return
        d = 0.5 * ((self.last_box[:2] + self.last_box[2:]) - (previous[:2] + previous[2:]))
        norm = float(np.hypot(d[0], d[1]))
        if norm > 1e-6:
            self.direction = d / norm

    def warp(self, affine: np.ndarray) -> None:
        """Move the observed boxes into the current camera frame (camera-motion compensation)."""
        warp_tracks([self], affine)

    def mark_missed(self) -> None:
        """No detection matched this track in the current frame."""
        if self.state == TrackState.TENTATIVE or self.frames_since_update > self.max_age:
            self._deleted = True
        else:
            self.state = TrackState.LOST


def warp_tracks(tracks: list[Track], affine: np.ndarray) -> None:
    """Move every track's observed boxes (last box, OC-SORT observations) and motion direction
    into the current camera frame, in one vectorised call for all tracks: the per-track form
    cost more than the camera-motion estimate itself with a few dozen tracks."""
    from .kalman_filter import warp_boxes

    if not tracks:
        return
    a = np.asarray(affine, np.float64)
    last = warp_boxes(np.stack([t.last_box for t in tracks]), a)
    for t, box in zip(tracks, last):
        t.last_box = box
    with_obs = [t for t in tracks if t.observations]
    if not with_obs:
        return
    counts = [len(t.observations) for t in with_obs]
    boxes = warp_boxes(np.stack([b for t in with_obs for _, b in t.observations]), a)
    direction = np.stack([t.direction for t in with_obs]) @ a[:, :2].T
    norm = np.hypot(direction[:, 0], direction[:, 1])[:, None]
    direction = np.where(norm > 1e-9, direction / np.maximum(norm, 1e-9), 0.0)
    start = 0
    for t, n, d in zip(with_obs, counts, direction):
        ages = [age for age, _ in t.observations]
        t.observations.clear()
        t.observations.extend(zip(ages, boxes[start:start + n]))
        t.direction = d
        start += n
