"""The frame loop shared by every strategy: predict, associate (strategy stages), correct, birth, prune.

Kalman states of all tracks live in two stacked arrays (``mean`` (M, 8), ``covariance``
(M, 8, 8)) kept row-aligned with ``tracks``; prediction and correction are single vectorised calls.
What differs between SORT, DeepSORT and later strategies is only the association, which a
:class:`~reid_tracker_ros.tracking.strategies.Strategy` composes from stages that read the
per-frame :class:`FrameContext`.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np

from ..types import Detections, TrackSnapshot, TrackState, valid_box_mask
from .appearance import AppearanceCalibrator, AppearanceGate
from .cmc import IDENTITY, CameraMotionEstimator, make_cmc
from .config import TrackerConfig, get_strategy, resolve_config
from ..vectors import normalize_rows
from .costs import nearest_neighbor_distance
from .kalman_filter import ConstantVelocityKalmanFilter
from .reentry import ReentryGallery
from .track import Track, warp_tracks


def frames_since_update(tracks: list[Track]) -> np.ndarray:
    """(M,) frames since each track's last match, one array for vectorised masks."""
    return np.fromiter((t.frames_since_update for t in tracks), np.int64, len(tracks))


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
        # appearance takes part in association (False without features, or while the
        # calibrator finds it uninformative on this camera: then stages run on motion only)
        self.has_embeddings = detections.embeddings is not None and len(detections) > 0
        self.gate: AppearanceGate | None = None  # calibrated thresholds (None: the preset's)

    def cosine_threshold(self, preset: float) -> float:
        """Largest cosine distance a stage may accept: the preset's, tightened by calibration."""
        return preset if self.gate is None else min(preset, self.gate.threshold)

    def appearance_evidence(self, distance: np.ndarray, preset: float) -> np.ndarray:
        """Pairs whose appearance may count: within the threshold and, once calibrated, also
        distinctive (each is the other's nearest among the candidates: a look-alike next to the
        right person is no evidence)."""
        ok = distance <= self.cosine_threshold(preset)
        if self.gate is not None and distance.size:
            ok &= distance <= distance.min(axis=1, keepdims=True)
            ok &= distance <= distance.min(axis=0, keepdims=True)
        return ok

    @property
    def num_tracks(self) -> int:
        return len(self.tracks)

    @property
    def num_detections(self) -> int:
        return len(self.detections)

    @cached_property
    def frames_since_update(self) -> np.ndarray:
        return frames_since_update(self.tracks)

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
                 strategy: Any = None,
                 reentry_gallery: ReentryGallery | None = None) -> None:
        if config is None or isinstance(config, Mapping):
            config = TrackerConfig.from_dict(config)
        elif not isinstance(config, TrackerConfig):
            raise TypeError(f"Tracker expects a TrackerConfig or dict, got {type(config).__name__}")
        self.config = config
        if strategy is None:
            strategy = get_strategy(self.config.strategy)(self.config)
        self.strategy = strategy
        self.kf: ConstantVelocityKalmanFilter = self.strategy.make_kalman_filter(self.config)
        self.cmc: CameraMotionEstimator | None = make_cmc(config.cmc, config.cmc_scale)
        self.reentry = reentry_gallery
        self._own_gallery = reentry_gallery is None
        self.calibrator = (AppearanceCalibrator() if config.calibrate_appearance and self.strategy.uses_appearance
                           else None)
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
            config = self.config.replace(config)
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
        if self.calibrator is not None:
            self.calibrator.reset()
        if self._own_gallery:
            self.reentry = None
        self._make_gallery()

    # ------------------------------------------------------------------ frame loop
    def update(self, detections: Detections, frame: np.ndarray | None = None,
               camera_motion: np.ndarray | None = None,
               timestamp: float | None = None, steps: int = 1) -> TrackSnapshot:
        """Advance one frame with this frame's detections (may be empty) and report tracks.

        ``frame``: the image (BGR/RGB/grey) the detections come from; with ``config.cmc`` set,
        the camera motion since the previous frame is estimated from it. ``camera_motion``: a
        2x3 affine (previous -> this frame, pixels) computed elsewhere; it wins over ``frame``.
        ``timestamp`` [s] ages the re-entry gallery (default: frame count / frame_rate).
        ``steps``: camera frames since the last update (a live detector slower than the camera
        skips frames): the Kalman filter predicts that many steps, so velocities stay per camera
        frame; at most ``max_age + 1`` (older tracks are gone anyway). Ages, hits and
        ``max_age`` still count updates.
        """
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a whole number >= 1 (camera frames since the last update), got {steps!r}")
        self.frame_count += 1
        self.timestamp = (self.frame_count / self.config.frame_rate if timestamp is None
                          else float(timestamp))
        dets = self._filter_detections(detections)
        if camera_motion is None and self.cmc is not None and frame is not None:
            if self.tracks:
                camera_motion = self.cmc.estimate(frame, dets.boxes)
            else:  # no track to move: only keep the image for the next frame's estimate
                self.cmc.observe(frame)
        self.camera_motion = camera_motion
        if self.tracks:
            if self.config.lost_keep_size:  # unmatched in the last frame: predicted at constant size
                self.kf.hold_size(self.mean, frames_since_update(self.tracks) > 0)
            for _ in range(min(int(steps), self.config.max_age + 1)):
                self.mean, self.covariance = self.kf.predict(self.mean, self.covariance)
            for t in self.tracks:
                t.mark_predicted()
            if camera_motion is not None:
                affine = np.asarray(camera_motion, dtype=np.float64)
                if affine.shape != IDENTITY.shape or not np.abs(affine - IDENTITY).max() <= 1e-9:
                    self._warp(affine)

        measurements = self.kf.measurement_from_xyxy(dets.boxes)
        ctx = FrameContext(self, dets, measurements)
        features = ctx.unit_embeddings if ctx.has_embeddings and self.strategy.uses_appearance else None
        if features is not None and self.calibrator is not None:
            ctx.gate = self._calibrate(ctx, features)
            ctx.has_embeddings = ctx.gate.active
        matches, unmatched_tracks, unmatched_dets = self.strategy.associate(ctx)

        if len(matches):
            self._correct(matches, dets, measurements, features)
        for r in unmatched_tracks:
            self.tracks[r].mark_missed()
        if len(unmatched_dets):
            births = unmatched_dets[self.strategy.birth_mask(ctx, unmatched_dets)]
            self._spawn(births, dets, measurements, features)
        self._prune()
        return self.snapshot()

    def _calibrate(self, ctx: FrameContext, features: np.ndarray) -> AppearanceGate:
        """Feed this frame's free samples to the calibrator; the gate for this frame."""
        cal = self.calibrator
        assert cal is not None
        cal.observe_negatives(ctx.detections.boxes, features)
        if self.tracks:
            recent = ctx.confirmed & (ctx.frames_since_update <= 1) & ctx.has_features
            rows = np.flatnonzero(recent)
            if len(rows):
                last = [self.tracks[r].gallery.last for r in rows.tolist()]  # not the EMA: see appearance.py
                ok = np.array([e is not None and len(e) == features.shape[1] for e in last])
                if ok.any():
                    rows = rows[ok]
                    track_feats = np.stack([e for e, k in zip(last, ok) if k])
                    cal.observe_positives(ctx.predicted_boxes[rows], track_feats, np.ones(len(rows), bool),
                                          ctx.detections.boxes, features)
        return cal.gate()

    def _warp(self, affine: np.ndarray) -> None:
        self.mean, self.covariance = self.kf.warp(self.mean, self.covariance, affine)
        self.obs_mean, self.obs_covariance = self.kf.warp(self.obs_mean, self.obs_covariance, affine)
        warp_tracks(self.tracks, affine)

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
        gaps = frames_since_update([self.tracks[r] for r in rows.tolist()])
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
        threshold = self.reentry.threshold
        if self.calibrator is not None:  # a calibrated camera: only once appearance proved useful
            gate = self.calibrator.gate()
            if not gate.active:
                return
            threshold = min(threshold, gate.threshold)
        alive = {t.track_id for t in self.tracks}
        for track in tracks:
            if len(track.gallery) == 0 or self.reentry.dim != track.gallery.dim:
                continue
            old = self.reentry.claim(track.features, self.timestamp, exclude=alive, threshold=threshold)
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

    def snapshot(self, mean: np.ndarray | None = None) -> TrackSnapshot:
        """The tracks reported after the last update (confirmed and matched; lost and tentative
        ones as the config says). ``mean``: other Kalman states row-aligned with ``tracks`` (the
        extrapolated ones of :mod:`.prediction`) to report instead of the current ones."""
        if mean is not None and len(mean) != len(self.tracks):
            raise ValueError(f"got {len(mean)} states for {len(self.tracks)} tracks")
        states = self.mean if mean is None else mean
        cfg = self.config
        rows = [i for i, t in enumerate(self.tracks)
                if (t.state == TrackState.CONFIRMED and t.frames_since_update == 0)
                or (cfg.report_lost and t.state == TrackState.LOST)
                or (cfg.report_tentative and t.state == TrackState.TENTATIVE)]
        if not rows:
            return TrackSnapshot.empty()
        tracks = [self.tracks[i] for i in rows]
        n = len(tracks)
        mean = states[rows]
        return TrackSnapshot(
            track_ids=np.fromiter((t.track_id for t in tracks), np.int64, n),
            boxes=self.kf.xyxy_from_state(mean),
            scores=np.fromiter((t.score for t in tracks), np.float64, n),
            class_ids=np.fromiter((t.class_id for t in tracks), np.int64, n),
            states=np.fromiter((int(t.state) for t in tracks), np.uint8, n),
            ages=np.fromiter((t.age for t in tracks), np.int64, n),
            hits=np.fromiter((t.hits for t in tracks), np.int64, n),
            frames_since_update=frames_since_update(tracks),
            velocities=self.kf.velocity(mean),
        )


def build_tracker(spec: "str | TrackerConfig | Mapping[str, Any]", **kwargs: Any) -> Tracker:
    """Tracker from a strategy name (its preset), a TrackerConfig (as is) or a plain dict (the
    preset of its ``strategy``, default ``sort``, overridden by the dict's other keys).
    ``kwargs`` go to :class:`Tracker` (e.g. a shared ``reentry_gallery``)."""
    return Tracker(resolve_config(spec), **kwargs)
