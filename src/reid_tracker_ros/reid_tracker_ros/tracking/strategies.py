"""Association strategies composed from reusable stages, and the tracker registry.

A :class:`Stage` selects candidate tracks/detections among those still unmatched, builds a cost
matrix for them and solves a thresholded assignment. A :class:`Strategy` is an ordered list of
stages plus a few hooks (Kalman filter choice, which unmatched detections start tracks), so new
trackers are small subclasses:

- SORT: one IoU stage over all tracks.
- DeepSORT: a matching cascade (by frames since update) of Mahalanobis-gated appearance matching
  over confirmed tracks, then IoU matching for tentative and just-missed tracks.
- StrongSORT: ``AppearanceStage(use_ema=True)`` without the cascade, ``appearance_weight < 1``,
  NSA Kalman (``nsa``) and camera-motion compensation (``cmc``) from its preset.
- ByteTrack: IoU on high-score detections, then IoU of the low-score ones against the tracks
  that were matched in the previous frame, then tentative tracks; births from high scores only.
- BoT-SORT: ByteTrack whose IoU stages fuse appearance where boxes are close (proximity gate),
  with the xywh Kalman filter and CMC from its preset.
- OC-SORT: IoU plus observation-centric momentum (direction consistency), then recovery
  against the last observed boxes (OCR); re-update after gaps (ORU, in the tracker).
- Deep OC-SORT: OC-SORT with adaptively weighted appearance similarity and a
  confidence-dependent feature EMA.

Settings of each tracker live in ``config/trackers/<name>.yaml`` (:mod:`.config`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .assignment import linear_assignment
from .costs import GATED_COST, fuse_motion, iou_matrix
from .kalman_filter import ConstantVelocityKalmanFilter, make_kalman_filter
from .config import TrackerConfig, register_strategy

if TYPE_CHECKING:  # annotations only: the tracker module never imports this one
    from .tracker import FrameContext

# (ctx, candidate rows/cols) -> boolean mask over them
Selector = Callable[["FrameContext", np.ndarray], np.ndarray]
Association = tuple[np.ndarray, np.ndarray, np.ndarray]  # matches (K, 2), track rows, det cols

_NO_MATCHES = np.zeros((0, 2), dtype=np.int64)


# ---------------------------------------------------------------------- selectors
def select_all(ctx: FrameContext, idx: np.ndarray) -> np.ndarray:
    return np.ones(len(idx), dtype=bool)


def select_confirmed(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    return ctx.confirmed[rows]


def select_tentative(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    return ~ctx.confirmed[rows]


def select_tracked(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    """Confirmed tracks matched in the previous frame (ByteTrack's low-score stage: a lost
    track must not be revived by a low-confidence box)."""
    return ctx.confirmed[rows] & (ctx.frames_since_update[rows] <= 1)


def select_high(ctx: FrameContext, cols: np.ndarray) -> np.ndarray:
    return ctx.scores[cols] >= ctx.config.high_score


def select_low(ctx: FrameContext, cols: np.ndarray) -> np.ndarray:
    s = ctx.scores[cols]
    return (s >= ctx.config.low_score) & (s < ctx.config.high_score)


def select_appearance_ready(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    """Confirmed tracks with at least one stored feature, in a frame that has embeddings."""
    if not ctx.has_embeddings:
        return np.zeros(len(rows), dtype=bool)
    return ctx.confirmed[rows] & ctx.has_features[rows]


def select_iou_fallback(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
    """DeepSORT's second stage: tentative, just-missed, and tracks appearance could not handle.

    Tracks missing for longer than one frame are left to appearance only (that is what stops
    drifting predictions from grabbing other targets); without embeddings every track is
    eligible, so DeepSORT degrades to SORT-like motion matching. With calibrated appearance
    every track stays eligible too: appearance then only adds matches to the motion-only
    variant's and never takes a track away from motion (a tight threshold leaves many unmatched).
    """
    if not ctx.has_embeddings or ctx.gate is not None:
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
    """Motion matching: 1 - IoU between predicted track boxes and detections.

    ``fuse_score``: 1 - IoU * score (ByteTrack), so confident boxes win close calls;
    ``use_last_observation``: IoU with each track's last observed box instead of its prediction
    (OC-SORT's recovery: a stopped or turned target is found where it was last seen).
    """

    def __init__(self, max_distance: float, track_selector: Selector | None = None,
                 det_selector: Selector | None = None, fuse_score: bool = False,
                 use_last_observation: bool = False) -> None:
        super().__init__(max_distance, track_selector, det_selector)
        self.fuse_score = fuse_score
        self.use_last_observation = use_last_observation

    def iou(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        boxes = ctx.last_boxes if self.use_last_observation else ctx.predicted_boxes
        iou = iou_matrix(boxes[track_rows], ctx.detections.boxes[det_cols])
        if self.fuse_score:
            iou *= ctx.scores[det_cols][None, :]
        return iou

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        return 1.0 - self.iou(ctx, track_rows, det_cols)


class ProximityAppearanceStage(IoUStage):
    """BoT-SORT fusion: ``min(1 - IoU, cosine)``, where appearance only counts for pairs that
    are close (1 - IoU <= ``proximity``) and similar (cosine <= ``max_cosine``); otherwise it is
    1 (no evidence). Without embeddings in the frame it is plain IoU matching."""

    def __init__(self, max_distance: float, max_cosine: float, proximity: float,
                 track_selector: Selector | None = None, det_selector: Selector | None = None,
                 fuse_score: bool = False) -> None:
        super().__init__(max_distance, track_selector, det_selector, fuse_score)
        self.max_cosine = float(max_cosine)
        self.proximity = float(proximity)

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        iou_cost = 1.0 - self.iou(ctx, track_rows, det_cols)
        if not ctx.has_embeddings:
            return iou_cost
        emb = ctx.appearance_distance(track_rows, det_cols, use_ema=True)
        emb[~ctx.appearance_evidence(emb, self.max_cosine) | (iou_cost > self.proximity)] = 1.0
        return np.minimum(iou_cost, emb)


class MomentumStage(IoUStage):
    """OC-SORT's first stage: IoU plus observation-centric momentum (OCM), optionally plus
    appearance (Deep OC-SORT); a similarity, negated into a cost.

    OCM rewards detections lying in the direction the track has been moving (from its
    observations ``delta_t`` frames apart to its last observation): ``inertia * score *
    (pi/2 - |angle|) / pi``. Appearance adds ``w * cos_sim`` for overlapping pairs, with ``w``
    raised where the similarity is unambiguous (clear best over the runner-up in its row and
    column). Pairs whose 1 - IoU exceeds ``max_distance`` never match.
    """

    def __init__(self, max_distance: float, inertia: float, det_selector: Selector | None = None,
                 embedding_weight: float = 0.0, adaptive_weight: float = 0.0,
                 track_selector: Selector | None = None) -> None:
        super().__init__(max_distance, track_selector, det_selector)
        self.inertia = float(inertia)
        self.embedding_weight = float(embedding_weight)
        self.adaptive_weight = float(adaptive_weight)

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        iou = self.iou(ctx, track_rows, det_cols)
        sim = iou.copy()
        scores = ctx.scores[det_cols]
        if self.inertia > 0:
            sim += self.inertia * momentum_similarity(
                ctx.directions[track_rows], ctx.last_boxes[track_rows],
                ctx.detections.boxes[det_cols]) * scores[None, :]
        if self.embedding_weight > 0 and ctx.has_embeddings:
            has = ctx.has_features[track_rows]
            dist = ctx.appearance_distance(track_rows, det_cols, use_ema=True)
            # calibrated: 0 for a typical different person, 1 for a typical same one
            if ctx.gate is None:
                emb = 1.0 - dist
            else:
                emb = ctx.gate.similarity(dist)
                emb[~ctx.appearance_evidence(dist, 2.0)] = 0.0
            emb[~has] = 0.0
            emb[iou <= 0.0] = 0.0  # appearance only disambiguates plausible pairs
            weight = self.embedding_weight * (1.0 if ctx.gate is None else ctx.gate.weight)
            sim += adaptive_weights(emb, weight, self.adaptive_weight) * emb
        cost = -sim
        cost[(1.0 - iou) > self.max_distance] = GATED_COST
        return cost

    def assign(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray):
        m, ur, uc = linear_assignment(self.cost(ctx, track_rows, det_cols), 0.5 * GATED_COST)
        matches = np.stack([track_rows[m[:, 0]], det_cols[m[:, 1]]], axis=1)
        return matches, track_rows[ur], det_cols[uc]


def momentum_similarity(directions: np.ndarray, last_boxes: np.ndarray,
                        det_boxes: np.ndarray) -> np.ndarray:
    """(M, N) ``(pi/2 - |angle|) / pi`` in [-0.5, 0.5] between each track's direction and the
    direction from its last observation to each detection; 0 for tracks without a direction."""
    d = np.asarray(directions, dtype=np.float64)
    last_c = 0.5 * (last_boxes[:, :2] + last_boxes[:, 2:])
    det_c = 0.5 * (det_boxes[:, :2] + det_boxes[:, 2:])
    v = det_c[None, :, :] - last_c[:, None, :]
    norm = np.sqrt((v * v).sum(axis=2)) + 1e-6
    cos = np.clip((v * d[:, None, :]).sum(axis=2) / norm, -1.0, 1.0)
    out = (0.5 * np.pi - np.arccos(cos)) / np.pi
    out[~np.any(d != 0.0, axis=1)] = 0.0
    return out


def adaptive_weights(sim: np.ndarray, base: float, boost: float, eps: float = 0.5) -> np.ndarray:
    """(M, N) appearance weights ``base * (1 + boost * confidence)``: the confidence of a pair is
    the mean of its row's and its column's top-1 minus top-2 similarity gap (capped at ``eps``,
    scaled to [0, 1]). One candidate only counts as fully confident."""
    m, n = sim.shape
    if m == 0 or n == 0 or boost == 0.0:
        return np.full((m, n), base)

    def gap(x: np.ndarray) -> np.ndarray:  # per row
        if x.shape[1] < 2:
            return np.full(x.shape[0], eps)
        top = -np.partition(-x, 1, axis=1)[:, :2]
        return np.clip(top[:, 0] - top[:, 1], 0.0, eps)

    conf = 0.5 * (gap(sim)[:, None] + gap(sim.T)[None, :]) / eps
    return base * (1.0 + boost * conf)


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
            return self._calibrated(ctx, ctx.appearance_distance(track_rows, det_cols, self.use_ema),
                                    track_rows, det_cols)
        gd = ctx.gating_distance(self.only_position)[np.ix_(track_rows, det_cols)]
        threshold = ctx.kf.gating_threshold(self.only_position)
        if self.gating:
            # Gated pairs are discarded anyway: skip their gallery search.
            cost = ctx.appearance_distance(track_rows, det_cols, self.use_ema, mask=gd <= threshold)
        else:  # motion term without the hard gate
            cost = ctx.appearance_distance(track_rows, det_cols, self.use_ema)
            gd = np.minimum(gd, threshold)
        return fuse_motion(self._calibrated(ctx, cost, track_rows, det_cols), gd, threshold,
                           self.appearance_weight)

    def _calibrated(self, ctx: FrameContext, cosine: np.ndarray, track_rows: np.ndarray,
                    det_cols: np.ndarray) -> np.ndarray:
        """Once calibrated, only distinctive pairs within the threshold may match on appearance,
        and only confident boxes (a low-scoring duplicate or part box of a person looks alike)."""
        if ctx.gate is not None:
            weak = ctx.scores[det_cols] < ctx.config.high_score
            cosine[~ctx.appearance_evidence(cosine, self.max_distance) | weak[None, :]] = GATED_COST
        return cosine


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
    observation_centric = False  # OC-SORT family: observation history (OCM) and re-update (ORU)

    @property
    def scale_noise_by_confidence(self) -> bool:
        """NSA Kalman update (StrongSORT's preset sets ``nsa``)."""
        return self.config.nsa

    @property
    def observation_reupdate(self) -> bool:
        return self.observation_centric and self.config.oru

    @property
    def observation_history(self) -> int:
        """Observed boxes each track remembers (OCM direction); 0: none."""
        return self.config.delta_t if self.observation_centric else 0

    def feature_alpha(self, scores: np.ndarray) -> np.ndarray | None:
        """Per-detection EMA weight of the matched track's old feature; None: the config's."""
        return None

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


@register_strategy
class SortStrategy(Strategy):
    """SORT: Kalman-predicted boxes matched to detections by IoU, motion only."""

    name = "sort"
    uses_appearance = False

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [IoUStage(config.max_iou_distance)]


@register_strategy
class DeepSortStrategy(Strategy):
    """DeepSORT: gated appearance cascade for confirmed tracks, then IoU for the rest."""

    name = "deepsort"

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        appearance = AppearanceStage(config.max_cosine_distance, gating=config.gating,
                                     appearance_weight=config.appearance_weight)
        return [MatchingCascade(appearance, max_depth=config.max_age + 1),
                IoUStage(config.max_iou_distance, track_selector=select_iou_fallback)]


@register_strategy
class StrongSortStrategy(DeepSortStrategy):
    """StrongSORT: one gated stage of EMA appearance fused with motion (no cascade: EMA features
    are reliable enough to let old tracks compete), then IoU for the rest. NSA Kalman and CMC
    come from its preset."""

    name = "strongsort"

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [AppearanceStage(config.max_cosine_distance, gating=config.gating,
                                appearance_weight=config.appearance_weight, use_ema=True),
                IoUStage(config.max_iou_distance, track_selector=select_iou_fallback)]


@register_strategy
class ByteTrackStrategy(Strategy):
    """ByteTrack: high-score detections first, then low-score ones keep tracked targets alive
    through occlusion (their boxes score low because they are occluded), then tentative tracks;
    only confident unmatched detections start tracks. ``with_appearance`` fuses appearance into
    the high-score stages the BoT-SORT way."""

    name = "bytetrack"

    @property
    def uses_appearance(self) -> bool:  # type: ignore[override]
        return self.config.with_appearance

    def high_stage(self, config: TrackerConfig, track_selector: Selector) -> Stage:
        if self.uses_appearance:
            return ProximityAppearanceStage(config.max_iou_distance, config.max_cosine_distance,
                                            config.proximity_iou_distance, track_selector,
                                            select_high, config.fuse_score)
        return IoUStage(config.max_iou_distance, track_selector, select_high, config.fuse_score)

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [self.high_stage(config, select_confirmed),
                IoUStage(config.second_iou_distance, select_tracked, select_low),
                self.high_stage(config, select_tentative)]

    def birth_mask(self, ctx: FrameContext, det_cols: np.ndarray) -> np.ndarray:
        return ctx.scores[det_cols] >= ctx.config.new_track_score


@register_strategy
class BotSortStrategy(ByteTrackStrategy):
    """BoT-SORT: ByteTrack with IoU + ReID fusion always on (xywh Kalman and CMC: preset)."""

    name = "botsort"
    uses_appearance = True  # type: ignore[assignment]


@register_strategy
class OcSortStrategy(Strategy):
    """OC-SORT: IoU + observation-centric momentum on confident detections, then recovery
    against last observations (OCR); the tracker re-updates tracks found after a gap (ORU)."""

    name = "ocsort"
    uses_appearance = False
    observation_centric = True

    def first_stage(self, config: TrackerConfig) -> Stage:
        return MomentumStage(config.max_iou_distance, config.inertia, det_selector=select_high)

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [self.first_stage(config),
                IoUStage(config.max_iou_distance, det_selector=select_high,
                         use_last_observation=True)]

    def birth_mask(self, ctx: FrameContext, det_cols: np.ndarray) -> np.ndarray:
        return ctx.scores[det_cols] >= ctx.config.new_track_score


@register_strategy
class DeepOcSortStrategy(OcSortStrategy):
    """Deep OC-SORT: OC-SORT plus adaptively weighted appearance, and a feature EMA that trusts
    confident detections more (alpha falls from 1 at ``new_track_score`` to ``ema_alpha`` at 1)."""

    name = "deepocsort"
    uses_appearance = True

    def first_stage(self, config: TrackerConfig) -> Stage:
        return MomentumStage(config.max_iou_distance, config.inertia, det_selector=select_high,
                             embedding_weight=config.embedding_weight,
                             adaptive_weight=config.adaptive_weight)

    def feature_alpha(self, scores: np.ndarray) -> np.ndarray | None:
        sigma = min(self.config.new_track_score, 0.999)
        trust = np.clip((np.asarray(scores, np.float64) - sigma) / (1.0 - sigma), 0.0, 1.0)
        af = self.config.ema_alpha
        return af + (1.0 - af) * (1.0 - trust)
