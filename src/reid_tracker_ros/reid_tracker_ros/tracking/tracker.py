"""The frame loop shared by every strategy: predict, associate (strategy stages), correct, birth, prune.

Kalman states of all tracks live in two stacked arrays (``mean`` (M, 8), ``covariance``
(M, 8, 8)) kept row-aligned with ``tracks``; prediction and correction are single vectorised calls.
What differs between SORT, DeepSORT and later strategies is only the association, which a
:class:`~reid_tracker_ros.tracking.strategies.Strategy` composes from stages that read the
per-frame :class:`FrameContext`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import Detections, TrackSnapshot, TrackState, valid_box_mask
from .cmc import IDENTITY, CameraMotionEstimator, make_cmc
from .costs import nearest_neighbor_distance, normalize_rows
from .kalman_filter import ConstantVelocityKalmanFilter
from .reentry import ReentryGallery
from .track import Track

if TYPE_CHECKING:
    from .strategies import Strategy


@dataclass
class TrackerConfig:
    """Tracker parameters (shared by all strategies; a strategy ignores what it does not use)."""

    strategy: str = "sort"  # a name in strategies.TRACKERS
    n_init: int = 3  # consecutive hits before a track is confirmed
    max_age: int = 30  # frames a confirmed track may stay unmatched (LOST) before deletion
    max_iou_distance: float = 0.7  # IoU matching accepts 1 - IoU <= this
    max_cosine_distance: float = 0.2  # appearance matching accepts a (fused) cost <= this
    nn_budget: int = 100  # appearance features remembered per track
    ema_alpha: float = 0.9  # EMA feature: ema = alpha * ema + (1 - alpha) * new
    min_score: float = 0.0  # detections scoring below this are dropped before tracking
    appearance_weight: float = 1.0  # appearance cost = w * cosine + (1 - w) * maha / gate
    gating: bool = True  # Mahalanobis chi-square gate on appearance matching
    report_lost: bool = True  # snapshot includes LOST tracks (predicted boxes)
    report_tentative: bool = False  # snapshot includes tentative tracks
    kalman_filter: str = "xyah"  # box parameterisation of the Kalman filter: "xyah" | "xywh"
    nsa: bool = False  # NSA Kalman: measurement noise scaled by (1 - detection confidence)
    # score split (ByteTrack, BoT-SORT, OC-SORT): first stage on high scores, second on the rest
    high_score: float = 0.5  # detections >= this are "high"; below it only the second stage sees them
    low_score: float = 0.1  # detections below this are ignored by score-split strategies
    new_track_score: float = 0.6  # score-split strategies start tracks only from detections >= this
    second_iou_distance: float = 0.5  # 1 - IoU accepted for low-score detections
    fuse_score: bool = False  # IoU similarity multiplied by the detection score (ByteTrack)
    with_appearance: bool = False  # ByteTrack: IoU/appearance fusion in the first stage (BoT-SORT's)
    proximity_iou_distance: float = 0.5  # appearance only counts where 1 - IoU <= this (BoT-SORT)
    # OC-SORT
    delta_t: int = 3  # frames between the observations that give a track's direction (OCM)
    inertia: float = 0.2  # weight of the direction-consistency term (OCM)
    oru: bool = True  # observation-centric re-update after a gap (OC-SORT, Deep OC-SORT)
    embedding_weight: float = 0.5  # Deep OC-SORT: weight of appearance similarity in the cost
    adaptive_weight: float = 0.5  # Deep OC-SORT: extra weight where appearance is unambiguous
    # camera-motion compensation: "none" | "sparse_flow" | "ecc" (needs frames in update())
    cmc: str = "none"
    cmc_scale: float = 0.5  # CMC runs on the grey image resized by this factor
    # re-entry gallery: deleted confirmed tracks can hand their id to a new look-alike track
    reentry: bool = False
    reentry_threshold: float = 0.15  # mean cosine distance accepted for giving an id back
    reentry_max_age_s: float = 60.0  # seconds a deleted identity is remembered
    reentry_budget: int = 10  # features kept per remembered identity
    frame_rate: float = 30.0  # converts frame counts to seconds when update() gets no timestamp

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if kind == "bool":
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(f"tracker config {f.name!r} must be true/false, got {value!r}")
                setattr(self, f.name, bool(value))
            elif kind == "int":
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ValueError(f"tracker config {f.name!r} must be an integer, got {value!r}")
                setattr(self, f.name, int(value))
            elif kind == "float":
                if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                    raise ValueError(f"tracker config {f.name!r} must be a number, got {value!r}")
                setattr(self, f.name, float(value))
            elif kind == "str" and not isinstance(value, str):
                raise ValueError(f"tracker config {f.name!r} must be a string, got {value!r}")
        checks = {
            "n_init": self.n_init >= 1,
            "max_age": self.max_age >= 0,
            "max_iou_distance": 0.0 <= self.max_iou_distance <= 1.0,
            "max_cosine_distance": 0.0 <= self.max_cosine_distance <= 2.0,
            "nn_budget": self.nn_budget >= 1,
            "ema_alpha": 0.0 <= self.ema_alpha <= 1.0,
            "appearance_weight": 0.0 <= self.appearance_weight <= 1.0,
            "min_score": not np.isnan(self.min_score),
            "high_score": self.low_score <= self.high_score,
            "new_track_score": not np.isnan(self.new_track_score),
            "second_iou_distance": 0.0 <= self.second_iou_distance <= 1.0,
            "proximity_iou_distance": 0.0 <= self.proximity_iou_distance <= 1.0,
            "delta_t": self.delta_t >= 1,
            "inertia": 0.0 <= self.inertia <= 10.0,
            "embedding_weight": 0.0 <= self.embedding_weight <= 10.0,
            "adaptive_weight": 0.0 <= self.adaptive_weight <= 10.0,
            "cmc": self.cmc in ("none", "sparse_flow", "ecc"),
            "cmc_scale": 0.05 <= self.cmc_scale <= 1.0,
            "reentry_threshold": 0.0 <= self.reentry_threshold <= 2.0,
            "reentry_max_age_s": self.reentry_max_age_s > 0,
            "reentry_budget": self.reentry_budget >= 1,
            "frame_rate": self.frame_rate > 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError("tracker config out of range: "
                             + ", ".join(f"{k}={getattr(self, k)!r}" for k in bad))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "TrackerConfig":
        """Build from a plain mapping (YAML/ROS parameters); unknown keys are a ValueError."""
        d = dict(d or {})
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise ValueError(f"unknown tracker config key(s) {unknown}; valid keys: {sorted(valid)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FrameContext:
    """Everything association stages may read for one frame; derived arrays are computed lazily once.

    Row indices refer to ``tracks`` / the stacked Kalman arrays, column indices to ``detections``.
    """

    def __init__(self, tracker: "Tracker", detections: Detections, measurements: np.ndarray) -> None:
        self.config = tracker.config
        self.kf = tracker.kf
        self.tracks = tracker.tracks
        self.mean = tracker.mean
        self.covariance = tracker.covariance
        self.detections = detections
        self.measurements = measurements  # (N, ndim) detections in Kalman measurement space
        self.has_embeddings = detections.embeddings is not None and len(detections) > 0

    @property
    def num_tracks(self) -> int:
        return len(self.tracks)

    @property
    def num_detections(self) -> int:
        return len(self.detections)

    @cached_property
    def frames_since_update(self) -> np.ndarray:
        return np.fromiter((t.frames_since_update for t in self.tracks), np.int64, len(self.tracks))

    @cached_property
    def confirmed(self) -> np.ndarray:
        return np.fromiter((t.is_confirmed for t in self.tracks), bool, len(self.tracks))

    @cached_property
    def has_features(self) -> np.ndarray:
        return np.fromiter((len(t.gallery) > 0 for t in self.tracks), bool, len(self.tracks))

    @cached_property
    def scores(self) -> np.ndarray:
        return self.detections.scores

    @cached_property
    def last_boxes(self) -> np.ndarray:
        """(M, 4) xyxy boxes of each track's last observation (OC-SORT's recovery stage)."""
        if not self.tracks:
            return np.zeros((0, 4))
        return np.stack([t.last_box for t in self.tracks])

    @cached_property
    def directions(self) -> np.ndarray:
        """(M, 2) unit motion direction between observations; zero when unknown (OCM)."""
        if not self.tracks:
            return np.zeros((0, 2))
        return np.stack([t.direction for t in self.tracks])

    @cached_property
    def predicted_boxes(self) -> np.ndarray:
        """(M, 4) xyxy boxes of the predicted track states."""
        return self.kf.xyxy_from_state(self.mean)

    @cached_property
    def unit_embeddings(self) -> np.ndarray:
        if self.detections.embeddings is None:
            raise ValueError("detections carry no embeddings")
        return normalize_rows(self.detections.embeddings)

    def gating_distance(self, only_position: bool = False) -> np.ndarray:
        """(M, N) squared Mahalanobis distances (cached per flavour)."""
        key = "_gd_pos" if only_position else "_gd_full"
        gd = self.__dict__.get(key)
        if gd is None:
            gd = self.kf.gating_distance(self.mean, self.covariance, self.measurements, only_position)
            self.__dict__[key] = gd
        return gd

    def appearance_distance(self, track_rows: np.ndarray, det_rows: np.ndarray,
                            use_ema: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        """(len(track_rows), len(det_rows)) cosine distances: gallery nearest neighbour or EMA.

        ``mask`` restricts the gallery search to the pairs that can still match (others get 2).
        """
        emb = self.unit_embeddings[det_rows]
        if use_ema:
            out = np.full((len(track_rows), len(det_rows)), 2.0)
            rows = [i for i, r in enumerate(track_rows) if self.tracks[r].ema_feature is not None]
            if rows and len(det_rows):
                ema = np.stack([self.tracks[track_rows[i]].ema_feature for i in rows])
                if ema.shape[1] != emb.shape[1]:
                    raise ValueError(f"track features have dim {ema.shape[1]}, "
                                     f"detection embeddings {emb.shape[1]}")
                out[rows] = np.clip(1.0 - ema @ emb.T, 0.0, 2.0)
            return out
        return nearest_neighbor_distance([self.tracks[r].features for r in track_rows], emb,
                                         mask=mask)


class Tracker:
    """Online multi-object tracker; the association strategy is picked by ``config.strategy``.

    ``reentry_gallery``: a :class:`ReentryGallery` to use (e.g. shared with other trackers);
    by default the tracker makes its own when ``config.reentry`` is set.
    """

    def __init__(self, config: TrackerConfig | Mapping[str, Any] | None = None,
                 strategy: "Strategy | None" = None,
                 reentry_gallery: ReentryGallery | None = None) -> None:
        if config is None or isinstance(config, Mapping):
            config = TrackerConfig.from_dict(config)
        elif not isinstance(config, TrackerConfig):
            raise TypeError(f"Tracker expects a TrackerConfig or dict, got {type(config).__name__}")
        self.config = config
        if strategy is None:
            from .strategies import get_strategy  # strategies import this module

            strategy = get_strategy(self.config.strategy)(self.config)
        self.strategy = strategy
        self.kf: ConstantVelocityKalmanFilter = self.strategy.make_kalman_filter(self.config)
        self.cmc: CameraMotionEstimator | None = make_cmc(config.cmc, config.cmc_scale)
        self.reentry = reentry_gallery
        self._own_gallery = reentry_gallery is None
        self.reset()

    @property
    def name(self) -> str:
        return self.strategy.name

    def reconfigure(self, config: TrackerConfig | Mapping[str, Any]) -> None:
        """Apply new thresholds without losing the tracks (run-time parameter changes).

        The strategy's stages are rebuilt from the new config and live tracks take the new
        ``max_age``; changing the strategy itself, the Kalman filter or the CMC method needs a
        new Tracker.
        """
        if isinstance(config, Mapping):  # only the given keys change
            valid = {f.name for f in dataclasses.fields(TrackerConfig)}
            unknown = sorted(set(config) - valid)
            if unknown:
                raise ValueError(f"unknown tracker config key(s) {unknown}; valid keys: {sorted(valid)}")
            config = dataclasses.replace(self.config, **config)
        fixed = ("strategy", "kalman_filter", "cmc", "cmc_scale", "delta_t")
        changed = [k for k in fixed if getattr(config, k) != getattr(self.config, k)]
        if changed:
            raise ValueError(f"{', '.join(changed)} cannot change at run time; restart the tracker")
        self.config = config
        self.strategy.config = config
        self.strategy.stages = self.strategy.build_stages(config)
        for track in self.tracks:
            track.max_age = config.max_age
        self._make_gallery()

    def _make_gallery(self) -> None:
        cfg = self.config
        if not self._own_gallery:
            return
        if not cfg.reentry:
            self.reentry = None
        elif self.reentry is None:
            self.reentry = ReentryGallery(cfg.reentry_max_age_s, cfg.reentry_threshold,
                                          cfg.reentry_budget)
        else:
            self.reentry.max_age_s = cfg.reentry_max_age_s
            self.reentry.threshold = cfg.reentry_threshold
            self.reentry.budget = cfg.reentry_budget

    def reset(self) -> None:
        """Forget all tracks; ids start again at 1."""
        dim = self.kf.state_dim
        self.tracks: list[Track] = []
        self.mean = np.zeros((0, dim))
        self.covariance = np.zeros((0, dim, dim))
        # Kalman state right after each track's last correction (observation-centric re-update)
        self.obs_mean = np.zeros((0, dim))
        self.obs_covariance = np.zeros((0, dim, dim))
        self.frame_count = 0
        self.timestamp = 0.0
        self.camera_motion: np.ndarray | None = None  # affine applied in the last update
        self._next_id = 1
        if self.cmc is not None:
            self.cmc.reset()
        if self._own_gallery:
            self.reentry = None
        self._make_gallery()

    # ------------------------------------------------------------------ frame loop
    def update(self, detections: Detections, frame: np.ndarray | None = None,
               camera_motion: np.ndarray | None = None,
               timestamp: float | None = None) -> TrackSnapshot:
        """Advance one frame with this frame's detections (may be empty) and report tracks.

        ``frame``: the image (BGR/RGB/grey) the detections come from; with ``config.cmc`` set,
        the camera motion since the previous frame is estimated from it. ``camera_motion``: a
        2x3 affine (previous -> this frame, pixels) computed elsewhere; it wins over ``frame``.
        ``timestamp`` [s] ages the re-entry gallery (default: frame count / frame_rate).
        """
        self.frame_count += 1
        self.timestamp = (self.frame_count / self.config.frame_rate if timestamp is None
                          else float(timestamp))
        dets = self._filter_detections(detections)
        if camera_motion is None and self.cmc is not None and frame is not None:
            camera_motion = self.cmc.estimate(frame, dets.boxes)
        self.camera_motion = camera_motion
        if self.tracks:
            self.mean, self.covariance = self.kf.predict(self.mean, self.covariance)
            for t in self.tracks:
                t.mark_predicted()
            if camera_motion is not None and not np.allclose(camera_motion, IDENTITY, atol=1e-9):
                self._warp(np.asarray(camera_motion, dtype=np.float64))

        measurements = self.kf.measurement_from_xyxy(dets.boxes)
        ctx = FrameContext(self, dets, measurements)
        matches, unmatched_tracks, unmatched_dets = self.strategy.associate(ctx)

        features = ctx.unit_embeddings if ctx.has_embeddings and self.strategy.uses_appearance else None
        if len(matches):
            self._correct(matches, dets, measurements, features)
        for r in unmatched_tracks:
            self.tracks[r].mark_missed()
        if len(unmatched_dets):
            births = unmatched_dets[self.strategy.birth_mask(ctx, unmatched_dets)]
            self._spawn(births, dets, measurements, features)
        self._prune()
        return self._snapshot()

    def _warp(self, affine: np.ndarray) -> None:
        self.mean, self.covariance = self.kf.warp(self.mean, self.covariance, affine)
        self.obs_mean, self.obs_covariance = self.kf.warp(self.obs_mean, self.obs_covariance, affine)
        for t in self.tracks:
            t.warp(affine)

    def _filter_detections(self, detections: Detections) -> Detections:
        """Drop low-score and non-finite/zero-size boxes (they cannot initialise a Kalman state)."""
        if not isinstance(detections, Detections):
            raise TypeError(f"Tracker.update expects a Detections, got {type(detections).__name__}")
        if len(detections) == 0:
            return detections
        keep = valid_box_mask(detections.boxes) & (detections.scores >= self.config.min_score)
        if keep.all():
            return detections
        # Nothing left: embeddings of zero rows carry nothing (and cannot be reshaped to (0, -1)).
        return detections.subset(keep) if keep.any() else Detections.empty()

    def _reupdate(self, rows: np.ndarray, measurements: np.ndarray) -> None:
        """Observation-centric re-update (OC-SORT's ORU): a track found again after a gap of g
        frames is rewound to its last correction and filtered along a straight virtual path of
        observations to the new one, so the velocity reflects where the target really went
        instead of the drift accumulated while it was unobserved."""
        gaps = np.fromiter((self.tracks[r].frames_since_update for r in rows.tolist()), np.int64,
                           len(rows))
        for g in np.unique(gaps[gaps >= 2]).tolist():
            sel = gaps == g
            r = rows[sel]
            z1 = measurements[sel]
            z0 = self.kf.measurement_from_xyxy(np.stack([self.tracks[i].last_box for i in r.tolist()]))
            mean, cov = self.obs_mean[r], self.obs_covariance[r]
            for k in range(1, g):
                mean, cov = self.kf.predict(mean, cov)
                mean, cov = self.kf.update(mean, cov, z0 + (z1 - z0) * (k / g))
            self.mean[r], self.covariance[r] = self.kf.predict(mean, cov)

    def _correct(self, matches: np.ndarray, dets: Detections, measurements: np.ndarray,
                 features: np.ndarray | None) -> None:
        rows, cols = matches[:, 0], matches[:, 1]
        if self.strategy.observation_reupdate:
            self._reupdate(rows, measurements[cols])
        self.mean[rows], self.covariance[rows] = self.kf.update(
            self.mean[rows], self.covariance[rows], measurements[cols],
            confidences=dets.scores[cols], scale_by_confidence=self.strategy.scale_noise_by_confidence)
        self.obs_mean[rows] = self.mean[rows]
        self.obs_covariance[rows] = self.covariance[rows]
        alphas = self.strategy.feature_alpha(dets.scores[cols]) if features is not None else None
        newly_confirmed = []
        for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
            track = self.tracks[r]
            was_tentative = track.is_tentative
            track.mark_hit(dets.boxes[c], dets.scores[c], dets.class_ids[c],
                           None if features is None else features[c],
                           None if alphas is None else float(alphas[k]))
            if was_tentative and track.is_confirmed:
                newly_confirmed.append(track)
        if newly_confirmed and self.reentry is not None:
            self._restore_ids(newly_confirmed)

    def _restore_ids(self, tracks: list[Track]) -> None:
        """Newly confirmed tracks that look like a deleted identity take its id back."""
        assert self.reentry is not None
        alive = {t.track_id for t in self.tracks}
        for track in tracks:
            if len(track.gallery) == 0 or self.reentry.dim != track.gallery.dim:
                continue
            old = self.reentry.claim(track.features, self.timestamp, exclude=alive)
            if old is not None:
                alive.discard(track.track_id)
                track.track_id = old
                alive.add(old)

    def _spawn(self, cols: np.ndarray, dets: Detections, measurements: np.ndarray,
               features: np.ndarray | None) -> None:
        if len(cols) == 0:
            return
        mean, cov = self.kf.initiate(measurements[cols])
        cfg = self.config
        history = self.strategy.observation_history
        alphas = self.strategy.feature_alpha(dets.scores[cols]) if features is not None else None
        born = []
        for k, c in enumerate(cols.tolist()):
            feature = None
            if features is not None and (alphas is None or alphas[k] < 1.0):
                feature = features[c]
            born.append(Track(self._next_id, dets.boxes[c], dets.scores[c], dets.class_ids[c],
                              cfg.n_init, cfg.max_age, feature, cfg.nn_budget, cfg.ema_alpha,
                              history))
            self._next_id += 1
        self.tracks.extend(born)
        self.mean = np.concatenate([self.mean, mean])
        self.covariance = np.concatenate([self.covariance, cov])
        self.obs_mean = np.concatenate([self.obs_mean, mean])
        self.obs_covariance = np.concatenate([self.obs_covariance, cov])
        if self.reentry is not None and cfg.n_init <= 1:
            self._restore_ids(born)

    def _prune(self) -> None:
        keep = [i for i, t in enumerate(self.tracks) if not t.is_deleted]
        if len(keep) != len(self.tracks):
            if self.reentry is not None:
                for t in self.tracks:
                    if t.is_deleted and t.is_confirmed and len(t.gallery):
                        self.reentry.add(t.track_id, t.features, self.timestamp)
            self.tracks = [self.tracks[i] for i in keep]
            self.mean = self.mean[keep]
            self.covariance = self.covariance[keep]
            self.obs_mean = self.obs_mean[keep]
            self.obs_covariance = self.obs_covariance[keep]

    def _snapshot(self) -> TrackSnapshot:
        cfg = self.config
        rows = [i for i, t in enumerate(self.tracks)
                if (t.state == TrackState.CONFIRMED and t.frames_since_update == 0)
                or (cfg.report_lost and t.state == TrackState.LOST)
                or (cfg.report_tentative and t.state == TrackState.TENTATIVE)]
        if not rows:
            return TrackSnapshot.empty()
        tracks = [self.tracks[i] for i in rows]
        n = len(tracks)
        mean = self.mean[rows]
        return TrackSnapshot(
            track_ids=np.fromiter((t.track_id for t in tracks), np.int64, n),
            boxes=self.kf.xyxy_from_state(mean),
            scores=np.fromiter((t.score for t in tracks), np.float64, n),
            class_ids=np.fromiter((t.class_id for t in tracks), np.int64, n),
            states=np.fromiter((int(t.state) for t in tracks), np.uint8, n),
            ages=np.fromiter((t.age for t in tracks), np.int64, n),
            hits=np.fromiter((t.hits for t in tracks), np.int64, n),
            frames_since_update=np.fromiter((t.frames_since_update for t in tracks), np.int64, n),
            velocities=self.kf.velocity(mean),
        )
