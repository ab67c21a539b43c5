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
- BoostTrack++: detection scores boosted before association (DLO: detections that look like a
  track's occluded target; DUO: confident-looking detections far from every track), then one
  stage maximising IoU + confidence-scaled IoU and shape similarity + Mahalanobis similarity
  (+ appearance), with per-track confidence from its age and time since update.

With ``tentative_last`` (:func:`confirmed_first`) the stages that may match tentative tracks
run for confirmed tracks first, then once more for tentative ones on what is left.

Settings of each tracker live in ``config/trackers/<name>.yaml`` (:mod:`.config`).
"""
from __future__ import annotations

import copy
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
def restricted(selector: Selector, to: Selector) -> Selector:
    """``selector`` and ``to`` both (``to`` itself when ``selector`` takes every track)."""
    if selector is select_all:
        return to

    def both(ctx: FrameContext, rows: np.ndarray) -> np.ndarray:
        return selector(ctx, rows) & to(ctx, rows)

    both.__name__ = f"{selector.__name__}&{to.__name__}"
    return both


def confirmed_first(stages: list[Stage]) -> list[Stage]:
    """``tentative_last``: stages that may match tentative tracks (every track, or DeepSORT's
    IoU fallback) run for confirmed tracks only, then the first of them again for tentative
    tracks on the detections left. A track born from one stray box (a duplicate, a part of a
    person) then cannot take an established track's detection because its box happens to
    overlap a little better. Pipelines that already give tentative tracks their own stage
    (ByteTrack's, BoT-SORT's) are left as they are."""
    if any(s.track_selector is select_tentative for s in stages):
        return stages
    out, first_open = [], None
    for stage in stages:
        if stage.track_selector in (select_all, select_iou_fallback):
            first_open = first_open or stage
            stage = copy.copy(stage)
            stage.track_selector = restricted(stage.track_selector, select_confirmed)
        out.append(stage)
    if first_open is None:
        return stages
    tentative = copy.copy(first_open)
    tentative.track_selector = restricted(first_open.track_selector, select_tentative)
    return out + [tentative]


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

    def detection_scores(self, ctx: FrameContext) -> np.ndarray | None:
        """This frame's detection scores as the stages, selectors and births see them (BoostTrack
        raises some before association); None: the detector's. Kalman updates and reported
        track scores keep the detector's scores."""
        return None

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        stages = self.build_stages(config)
        self.stages: list[Stage] = confirmed_first(stages) if config.tentative_last else stages

    @abstractmethod
    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        """The association pipeline, run in order on what earlier stages left unmatched."""

    def make_kalman_filter(self, config: TrackerConfig) -> ConstantVelocityKalmanFilter:
        return make_kalman_filter(config.kalman_filter)

    def associate(self, ctx: FrameContext) -> Association:
        scores = self.detection_scores(ctx)
        if scores is not None:
            ctx.scores = scores  # the per-frame cache every selector and birth_mask reads
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


# ---------------------------------------------------------------------- BoostTrack++
# Constants of BoostTrack++ (Stanojevic & Todorovic), not settings: the method is defined by them.
CHI2INV99_4 = 13.2767  # squared Mahalanobis distance, 4 dof, 99%: beyond it a pair is implausible
TRACK_CONFIDENCE_DECAY = 0.9  # per frame of youth (first frames) or of being unobserved
TRACK_CONFIDENCE_WARMUP = 7  # a track younger than this many frames is not trusted fully yet
BUFFER_DETECTION, BUFFER_TRACK = 0.25, 0.5  # soft BIoU: box growth per unit of track doubt
SOFT_BOOST_MIX, SOFT_BOOST_POWER = 0.65, 1.5  # DLO: s' = max(s, mix * s + (1 - mix) * S^power)
VISIBLE_SIMILARITY, VISIBLE_SIMILARITY_FLOOR = 0.95, 0.8  # DLO: "clearly the track's target"
DUO_OVERLAP = 0.3  # DUO: of overlapping far-away candidates only the most confident is raised


def track_confidence(ages: np.ndarray, frames_since_update: np.ndarray) -> np.ndarray:
    """(M,) BoostTrack's trust in each track's prediction: ``0.9^(7 - age)`` while the track is
    younger than 7 frames (its velocity is still settling), else ``0.9^(frames unobserved - 1)``."""
    ages = np.asarray(ages, np.float64)
    fsu = np.asarray(frames_since_update, np.float64)
    young = ages < TRACK_CONFIDENCE_WARMUP
    exponent = np.where(young, TRACK_CONFIDENCE_WARMUP - ages, np.maximum(fsu - 1.0, 0.0))
    return TRACK_CONFIDENCE_DECAY ** exponent


def soft_biou(track_boxes: np.ndarray, confidences: np.ndarray, det_boxes: np.ndarray) -> np.ndarray:
    """(M, N) soft buffered IoU: before the IoU, each track's box grows by ``0.5 * (1 - c)`` of
    its width/height on every side and each detection by ``0.25 * (1 - c)`` of its own, ``c``
    the track's confidence; uncertain (young or unobserved) tracks reach farther."""
    t = np.asarray(track_boxes, np.float64).reshape(-1, 4)
    d = np.asarray(det_boxes, np.float64).reshape(-1, 4)
    if len(t) == 0 or len(d) == 0:
        return np.zeros((len(t), len(d)))
    doubt = (1.0 - np.clip(np.asarray(confidences, np.float64), 0.0, 1.0))[:, None, None]  # (M,1,1)
    t_wh = np.maximum(t[:, 2:] - t[:, :2], 0.0)[:, None, :]  # (M,1,2)
    d_wh = np.maximum(d[:, 2:] - d[:, :2], 0.0)[None, :, :]  # (1,N,2)
    t_lo = t[:, None, :2] - BUFFER_TRACK * doubt * t_wh
    t_hi = t[:, None, 2:] + BUFFER_TRACK * doubt * t_wh
    d_lo = d[None, :, :2] - BUFFER_DETECTION * doubt * d_wh
    d_hi = d[None, :, 2:] + BUFFER_DETECTION * doubt * d_wh
    inter = np.prod(np.maximum(np.minimum(t_hi, d_hi) - np.maximum(t_lo, d_lo), 0.0), axis=2)
    union = np.prod(t_hi - t_lo, axis=2) + np.prod(d_hi - d_lo, axis=2) - inter
    return np.clip(inter / np.maximum(union, 1e-12), 0.0, 1.0)


def shape_similarity(track_boxes: np.ndarray, det_boxes: np.ndarray) -> np.ndarray:
    """(M, N) ``exp(-(|w_t - w_d| / max(w) + |h_t - h_d| / max(h)))``: 1 for equal sizes."""
    t = np.asarray(track_boxes, np.float64).reshape(-1, 4)
    d = np.asarray(det_boxes, np.float64).reshape(-1, 4)
    t_wh = np.maximum(t[:, 2:] - t[:, :2], 1e-9)[:, None, :]
    d_wh = np.maximum(d[:, 2:] - d[:, :2], 1e-9)[None, :, :]
    rel = np.abs(t_wh - d_wh) / np.maximum(t_wh, d_wh)
    return np.exp(-rel.sum(axis=2))


def mahalanobis_similarity(sq_distance: np.ndarray, limit: float = CHI2INV99_4) -> np.ndarray:
    """(M, N) per track, a softmax over detections of ``limit - d²`` (closest detection highest);
    pairs beyond ``limit`` get 0 (they still count in the softmax, as in BoostTrack)."""
    d2 = np.asarray(sq_distance, np.float64)
    if d2.size == 0:
        return np.zeros(d2.shape)
    inside = d2 <= limit  # False for NaN
    e = np.exp(-np.where(inside, d2, limit))  # exp(limit - d²) / exp(limit): the same softmax
    sim = e / e.sum(axis=1, keepdims=True)
    sim[~inside] = 0.0
    return sim


def _track_ages(ctx: FrameContext) -> np.ndarray:
    return np.fromiter((t.age for t in ctx.tracks), np.int64, ctx.num_tracks)


def boost_track_confidence(ctx: FrameContext) -> np.ndarray:
    """(M,) :func:`track_confidence` of this frame's tracks, computed once per frame."""
    conf = ctx.__dict__.get("_boost_track_confidence")
    if conf is None:
        conf = track_confidence(_track_ages(ctx), ctx.frames_since_update)
        ctx.__dict__["_boost_track_confidence"] = conf
    return conf


class BoostStage(Stage):
    """BoostTrack++'s association: maximise ``IoU + l_iou * c * IoU + l_mhd * Mahalanobis
    similarity + l_shape * c * shape similarity (+ w_emb * cosine similarity)`` with ``c`` the
    detection score times the track confidence (0 where IoU < 1 - ``max_distance``). A pair needs
    IoU >= 1 - ``max_distance``, or (with appearance) half of it and cosine distance <=
    ``max_cosine``."""

    def __init__(self, max_distance: float, lambda_iou: float, lambda_mhd: float,
                 lambda_shape: float, embedding_weight: float = 0.0, max_cosine: float = 0.25,
                 track_selector: Selector | None = None, det_selector: Selector | None = None) -> None:
        super().__init__(max_distance, track_selector, det_selector)
        self.lambda_iou = float(lambda_iou)
        self.lambda_mhd = float(lambda_mhd)
        self.lambda_shape = float(lambda_shape)
        self.embedding_weight = float(embedding_weight)
        self.max_cosine = float(max_cosine)

    def cost(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> np.ndarray:
        pred = ctx.predicted_boxes[track_rows]
        boxes = ctx.detections.boxes[det_cols]
        iou = iou_matrix(pred, boxes)
        min_iou = 1.0 - self.max_distance
        conf = boost_track_confidence(ctx)[track_rows][:, None] * ctx.scores[det_cols][None, :]
        conf[iou < min_iou] = 0.0
        sim = iou * (1.0 + self.lambda_iou * conf)
        if self.lambda_mhd:
            gd = ctx.gating_distance()[np.ix_(track_rows, det_cols)]
            sim += self.lambda_mhd * mahalanobis_similarity(gd)
        if self.lambda_shape:
            sim += self.lambda_shape * conf * shape_similarity(pred, boxes)
        valid = iou >= min_iou
        if self.embedding_weight > 0 and ctx.has_embeddings:
            emb = 1.0 - ctx.appearance_distance(track_rows, det_cols, use_ema=True)
            emb[~ctx.has_features[track_rows]] = 0.0
            sim += self.embedding_weight * emb
            valid |= (iou >= 0.5 * min_iou) & (emb >= 1.0 - self.max_cosine)
        cost = -sim
        cost[~valid] = GATED_COST
        return cost

    def assign(self, ctx: FrameContext, track_rows: np.ndarray, det_cols: np.ndarray) -> Association:
        m, ur, uc = linear_assignment(self.cost(ctx, track_rows, det_cols), 0.5 * GATED_COST)
        matches = np.stack([track_rows[m[:, 0]], det_cols[m[:, 1]]], axis=1)
        return matches, track_rows[ur], det_cols[uc]


def dlo_boost(scores: np.ndarray, similarity: np.ndarray, frames_since_update: np.ndarray,
              threshold: float) -> np.ndarray:
    """Detection-likelihood boost (BoostTrack++'s soft + varying-threshold form): a detection
    that resembles a track's prediction (``similarity`` (M, N), in [0, 1]) is probably that
    target, partly occluded, so its score is raised towards ``S^1.5``; one that resembles it very
    closely (> 0.95 for a track seen last frame, > 0.8 for one unseen longer) is raised just past
    ``threshold`` so it is matched."""
    s = np.asarray(scores, np.float64).copy()
    if similarity.size == 0:
        return s
    best = similarity.max(axis=0)
    s = np.maximum(s, SOFT_BOOST_MIX * s + (1.0 - SOFT_BOOST_MIX) * best ** SOFT_BOOST_POWER)
    need = np.maximum(VISIBLE_SIMILARITY - (np.asarray(frames_since_update, np.float64) - 1.0),
                      VISIBLE_SIMILARITY_FLOOR)
    visible = (similarity > need[:, None]).any(axis=0)
    s[visible] = np.maximum(s[visible], threshold + 1e-5)
    return s


def duo_boost(scores: np.ndarray, boxes: np.ndarray, sq_distance: np.ndarray,
              threshold: float) -> np.ndarray:
    """Detection-of-unmatched boost: a below-``threshold`` detection implausible for every track
    (all squared Mahalanobis distances > 99% chi-square) is likely a new target the detector
    doubts; it is raised to just past ``threshold`` unless an overlapping (IoU > 0.3) such
    candidate scores higher (one per group)."""
    s = np.asarray(scores, np.float64).copy()
    if sq_distance.size == 0:
        return s
    cand = np.flatnonzero((sq_distance.min(axis=0) > CHI2INV99_4) & (s < threshold))
    if len(cand) == 0:
        return s
    overlap = iou_matrix(boxes[cand], boxes[cand]) > DUO_OVERLAP
    np.fill_diagonal(overlap, False)
    rival = np.where(overlap, s[cand][None, :], -np.inf).max(axis=1)
    s[cand[s[cand] >= rival]] = threshold + 1e-4
    return s


@register_strategy
class BoostTrackStrategy(Strategy):
    """BoostTrack++: detection scores boosted (DLO, DUO), then one :class:`BoostStage` over all
    tracks and the detections scoring >= ``high_score`` after boosting; births from those
    scoring >= ``new_track_score``. Appearance (``with_appearance``) adds cosine similarity."""

    name = "boosttrack"

    @property
    def uses_appearance(self) -> bool:  # type: ignore[override]
        return self.config.with_appearance

    def build_stages(self, config: TrackerConfig) -> list[Stage]:
        return [BoostStage(config.max_iou_distance, config.lambda_iou, config.lambda_mhd,
                           config.lambda_shape,
                           config.embedding_weight if config.with_appearance else 0.0,
                           config.max_cosine_distance, det_selector=select_high)]

    def detection_scores(self, ctx: FrameContext) -> np.ndarray | None:
        cfg = self.config
        if ctx.num_tracks == 0 or ctx.num_detections == 0 or not (cfg.dlo_boost or cfg.duo_boost):
            return None
        scores = ctx.scores
        gd = ctx.gating_distance()
        boxes = ctx.detections.boxes
        if cfg.dlo_boost:
            pred = ctx.predicted_boxes
            similarity = (mahalanobis_similarity(gd) + shape_similarity(pred, boxes)
                          + soft_biou(pred, boost_track_confidence(ctx), boxes)) / 3.0
            scores = dlo_boost(scores, similarity, ctx.frames_since_update, cfg.high_score)
        if cfg.duo_boost:
            scores = duo_boost(scores, boxes, gd, cfg.high_score)
        return scores

    def birth_mask(self, ctx: FrameContext, det_cols: np.ndarray) -> np.ndarray:
        return ctx.scores[det_cols] >= ctx.config.new_track_score
