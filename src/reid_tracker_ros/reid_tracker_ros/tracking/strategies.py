"""Association strategies composed from reusable stages, and the tracker registry.

A :class:`Stage` selects candidate tracks/detections among those still unmatched, builds a cost
matrix for them and solves a thresholded assignment. A :class:`Strategy` is an ordered list of
stages plus a few hooks (Kalman filter choice, which unmatched detections start tracks), so new
trackers are small subclasses:

- SORT: one IoU stage over all tracks.
- DeepSORT: a matching cascade (by frames since update) of Mahalanobis-gated appearance matching
  over confirmed tracks, then IoU matching for tentative and just-missed tracks.
- later, e.g. ByteTrack: IoU stages with ``det_selector`` splitting detections by score and a
  ``birth_mask`` on high scores; StrongSORT: ``AppearanceStage(use_ema=True)`` without the cascade,
  ``appearance_weight < 1`` and ``scale_noise_by_confidence``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .assignment import linear_assignment
from .costs import fuse_motion, iou_distance
from .kalman_filter import ConstantVelocityKalmanFilter, make_kalman_filter
from .tracker import FrameContext, Tracker, TrackerConfig

# (ctx, candidate rows/cols) -> boolean mask over them
Selector = Callable[[FrameContext, np.ndarray], np.ndarray]
Association = tuple[np.ndarray, np.ndarray, np.ndarray]  # matches (K, 2), track rows, det cols

_NO_MATCHES = np.zeros((0, 2), dtype=np.int64)


# ---------------------------------------------------------------------- selectors
def select_all(ctx: FrameContext, idx: np.ndarray) -> np.ndarray:
    return np.ones(len(idx), dtype=bool)


def select_confirmed(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    return ctx.confirmed[rows]


def select_appearance_ready(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    """Confirmed tracks with at least one stored feature, in a frame that has embeddings."""
    if not ctx.has_embeddings:
        return np.zeros(len(rows), dtype=bool)
    return ctx.confirmed[rows] & ctx.has_features[rows]


def select_iou_fallback(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    """DeepSORT's second stage: tentative, just-missed, and tracks appearance could not handle.

    Tracks missing for longer than one frame are left to appearance only (that is what stops
    drifting predictions from grabbing other targets); without embeddings every track is
    eligible, so DeepSORT degrades to SORT-like motion matching.
    """
    if not ctx.has_embeddings:
        return np.ones(len(rows), dtype=bool)
    fsu = ctx.frames_since_update[rows]
    return ~ctx.confirmed[rows] | (fsu <= 1) | ~ctx.has_features[rows]


# ---------------------------------------------------------------------- stages
class Stage(ABC):
    """Selection + cost + thresholded Hungarian assignment; unselected candidates pass through."""

    def __init__(self, max_distance: float, track_selector: Selector | None = None,
                 det_selector: Selector | None = None) -> None:
        self.max_distance = float(max_distance)
        self.track_selector = track_selector or select_all
        self.det_selector = det_selector or select_all

    @abstractmethod
    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        """(len(track_rows), len(det_cols)) cost matrix; lower is better."""

    def assign(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> Association:
        """Match the selected candidates; returns global row/column indices."""
        m, ur, uc = linear_assignment(self.cost(ctx, track_rows, det_cols), self.max_distance)
        matches = np.stack([track_rows[m[:, 0]], det_cols[m[:, 1]]], axis=1)
        return matches, track_rows[ur], det_cols[uc]

    def __call__(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> Association:
        if len(track_rows) == 0 or len(det_cols) == 0:
            return _NO_MATCHES, track_rows, det_cols
        tsel = self.track_selector(ctx, track_rows)
        dsel = self.det_selector(ctx, det_cols)
        if not tsel.any() or not dsel.any():
            return _NO_MATCHES, track_rows, det_cols
        matches, ut, ud = self.assign(ctx, track_rows[tsel], det_cols[dsel])
        rest_t = np.sort(np.concatenate([track_rows[~tsel], ut]))
        rest_d = np.sort(np.concatenate([det_cols[~dsel], ud]))
        return matches, rest_t, rest_d


class IoUStage(Stage):
    """Motion matching: 1 - IoU between predicted track boxes and detections."""

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        return iou_distance(ctx.predicted_boxes[track_rows], ctx.detections.boxes[det_cols])


class AppearanceStage(Stage):
    """Cosine distance (gallery nearest neighbour, or EMA feature) fused with the Mahalanobis gate."""

    def __init__(self, max_distance: float, gating: bool = True, appearance_weight: float = 1.0,
                 use_ema: bool = False, only_position: bool = False,
                 track_selector: Selector | None = select_appearance_ready,
                 det_selector: Selector | None = None) -> None:
        super().__init__(max_distance, track_selector, det_selector)
        self.gating = gating
        self.appearance_weight = float(appearance_weight)
        self.use_ema = use_ema
        self.only_position = only_position

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        if not self.gating and self.appearance_weight >= 1.0:
            return ctx.appearance_distance(track_rows, det_cols, self.use_ema)
        gd = ctx.gating_distance(self.only_position)[np.ix_(track_rows, det_cols)]
        threshold = ctx.kf.gating_threshold(self.only_position)
        if self.gating:
            # Gated pairs are discarded anyway: skip their gallery search.
            cost = ctx.appearance_distance(track_rows, det_cols, self.use_ema, mask=gd <= threshold)
        else:  # motion term without the hard gate
            cost = ctx.appearance_distance(track_rows, det_cols, self.use_ema)
            gd = np.minimum(gd, threshold)
        return fuse_motion(cost, gd, threshold, self.appearance_weight)


class MatchingCascade(Stage):
    """Runs an inner stage level by level of frames-since-update, most recent tracks first.

    Recently seen tracks have tighter predictions, so they get first pick of the detections;
    long-lost tracks (with spread-out covariances) cannot steal them.
    """

    def __init__(self, inner: Stage, max_depth: int) -> None:
        super().__init__(inner.max_distance, inner.track_selector, inner.det_selector)
        self.inner = inner
        self.max_depth = int(max_depth)

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        return self.inner.cost(ctx, track_rows, det_cols)

    def assign(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> Association:
        fsu = ctx.frames_since_update[track_rows]
        eligible = fsu <= self.max_depth
        if not eligible.all():  # too old for the cascade: stays unmatched here
            matches, unmatched, free = self.assign(ctx, track_rows[eligible], det_cols) \
                if eligible.any() else (_NO_MATCHES, track_rows[:0], det_cols)
            return matches, np.sort(np.concatenate([track_rows[~eligible], unmatched])), free
        levels = np.unique(fsu)
        if len(levels) == 1:  # the common case: every candidate was seen in the same frame
            return super().assign(ctx, track_rows, det_cols)
        cost = self.cost(ctx, track_rows, det_cols)  # once; each level uses a sub-block
        free_cols = np.arange(len(det_cols))
        matched = np.zeros(len(track_rows), dtype=bool)
        found = []
        for level in levels.tolist():
            if len(free_cols) == 0:
                break
            level_rows = np.flatnonzero(fsu == level)
            m, _, uc = linear_assignment(cost[np.ix_(level_rows, free_cols)], self.max_distance)
            if len(m):
                matched[level_rows[m[:, 0]]] = True
                found.append(np.stack([track_rows[level_rows[m[:, 0]]],
                                       det_cols[free_cols[m[:, 1]]]], axis=1))
            free_cols = free_cols[uc]
        matches = np.concatenate(found) if found else _NO_MATCHES
        return matches, track_rows[~matched], det_cols[free_cols]


# ---------------------------------------------------------------------- strategies
class Strategy(ABC):
    """Ordered association stages plus per-strategy hooks."""

    name = "base"
    uses_appearance = True  # tracks store appearance features (skipped by motion-only strategies)
    scale_noise_by_confidence = False  # NSA Kalman update (StrongSORT)

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.stages: list[Stage] = self.build_stages(config)

    @abstractmethod
    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        """The association pipeline, run in order on what earlier stages left unmatched."""

    def make_kalman_filter(self, config: TrackerConfig) -> ConstantVelocityKalmanFilter:
        return make_kalman_filter(config.kalman_filter)

    def associate(self, ctx: FrameContext) -> Association:
        tracks = np.arange(ctx.num_tracks)
        dets = np.arange(ctx.num_detections)
        found = []
        for stage in self.stages:
            matches, tracks, dets = stage(ctx, tracks, dets)
            if len(matches):
                found.append(matches)
        matches = np.concatenate(found) if found else _NO_MATCHES
        return matches, tracks, dets

    def birth_mask(self, ctx: FrameContext, det_cols: np.ndarray) -> np.ndarray:
        """Which unmatched detections start new tracks (all, unless a strategy says otherwise)."""
        return np.ones(len(det_cols), dtype=bool)


class SortStrategy(Strategy):
    """SORT: Kalman-predicted boxes matched to detections by IoU, motion only."""

    name = "sort"
    uses_appearance = False

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [IoUStage(config.max_iou_distance)]


class DeepSortStrategy(Strategy):
    """DeepSORT: gated appearance cascade for confirmed tracks, then IoU for the rest."""

    name = "deepsort"

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        appearance = AppearanceStage(config.max_cosine_distance, gating=config.gating,
                                     appearance_weight=config.appearance_weight)
        return [MatchingCascade(appearance, max_depth=config.max_age + 1),
                IoUStage(config.max_iou_distance, track_selector=select_iou_fallback)]


TRACKERS: dict[str, type[Strategy]] = {
    SortStrategy.name: SortStrategy,
    DeepSortStrategy.name: DeepSortStrategy,
}


def get_strategy(name: str) -> type[Strategy]:
    """Registered strategy class by name (ValueError listing the valid names otherwise)."""
    try:
        return TRACKERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown tracker {name!r}; valid: {sorted(TRACKERS)}") from None


def build_tracker(name_or_config: str | TrackerConfig | Mapping[str, Any]) -> Tracker:
    """Tracker from a strategy name (defaults otherwise), a TrackerConfig or a plain dict."""
    if isinstance(name_or_config, str):
        get_strategy(name_or_config)
        config = TrackerConfig(strategy=name_or_config)
    elif isinstance(name_or_config, TrackerConfig):
        config = name_or_config
    elif isinstance(name_or_config, Mapping):
        config = TrackerConfig.from_dict(name_or_config)
    else:
        raise ValueError(f"build_tracker expects a name, TrackerConfig or dict, "
                         f"got {type(name_or_config).__name__}")
    return Tracker(config)
