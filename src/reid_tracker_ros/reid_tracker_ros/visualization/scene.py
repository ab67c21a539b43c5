"""The visualizer node's core: one call per tracks message -> everything it publishes, as
plain data (no ROS), so the node only converts and the tests see exactly what RViz gets."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..types import TrackSnapshot
from .annotate import RateMeter, TrailHistory, annotate_tracks
from .cloud import cloud_points
from .geometry import CameraModel, VelocityEstimator, person_heights, track_positions
from .markers import MarkerBook, MarkerSpec, heading_quaternions, shown_mask


@dataclass
class Scene3D:
    """The 3D view of one frame: rows are the shown tracks with a known position."""

    track_ids: np.ndarray  # (K,)
    positions: np.ndarray  # (K, 3) foot points, metres, camera optical frame
    methods: np.ndarray  # (K,) geometry.METHOD_DEPTH / METHOD_GROUND
    velocities: np.ndarray  # (K, 3) m/s
    orientations: np.ndarray  # (K, 4) x, y, z, w: x along the walking direction, z up
    cloud: np.ndarray  # (K, 7) float32 rows for PointCloud2 (cloud.FIELDS)
    markers: list[MarkerSpec] = field(default_factory=list)  # includes DELETEs of ended tracks


@dataclass
class VisualizerSettings:
    camera_height_m: float = 1.0
    camera_pitch_deg: float = 0.0
    hfov_deg: float = 60.0
    max_range_m: float = 30.0
    trail_length: int = 30
    show_tentative: bool = False
    marker_lifetime_s: float = 1.0

    @classmethod
    def from_params(cls, params: dict) -> "VisualizerSettings":
        return cls(**{k: params[k] for k in cls.__dataclass_fields__ if k in params})


class TrackVisualizer:
    """Keeps the per-track memory (trails, velocities, live markers) across frames."""

    def __init__(self, settings: VisualizerSettings | None = None) -> None:
        self.settings = settings or VisualizerSettings()
        self.trails = TrailHistory(self.settings.trail_length)
        self.rate = RateMeter()
        self.velocity = VelocityEstimator()
        self.markers = MarkerBook(self.settings.marker_lifetime_s)

    def camera_for(self, camera: CameraModel | None, width: int, height: int) -> CameraModel:
        """The calibrated camera when known (rescaled if the image size differs), else a guess
        from the configured field of view."""
        if camera is not None:
            return camera if (camera.width, camera.height) == (width, height) else camera.scaled(width, height)
        return CameraModel.from_hfov(width, height, self.settings.hfov_deg)

    def update(self, tracks: TrackSnapshot, stamp_s: float, camera: CameraModel,
               depth_m: np.ndarray | None = None, predicted: bool = False) -> Scene3D:
        """Feed one frame's tracks (in stamp order); returns its 3D scene and markers.
        ``predicted``: the boxes are extrapolated (TrackArray kind PREDICTED), not seen."""
        s = self.settings
        self.rate.tick()
        # trails follow what was seen, not the Kalman predictions of lost tracks or skipped frames
        if not predicted:
            matched = np.asarray(tracks.frames_since_update).reshape(-1) == 0
            self.trails.update(np.asarray(tracks.track_ids)[matched],
                               np.asarray(tracks.boxes).reshape(-1, 4)[matched])
        shown = shown_mask(tracks.states, s.show_tentative)
        ids = np.asarray(tracks.track_ids, np.int64)[shown]
        boxes = np.asarray(tracks.boxes, np.float64).reshape(-1, 4)[shown]
        states = np.asarray(tracks.states)[shown]
        gids = (np.asarray(tracks.global_ids, np.int64)[shown] if len(tracks.global_ids) == len(tracks)
                else None)
        positions, methods = track_positions(boxes, camera, s.camera_height_m, s.camera_pitch_deg, depth_m,
                                             s.max_range_m)
        velocities = self.velocity.update(ids, positions, stamp_s)
        heights = person_heights(boxes, positions, camera)
        markers = self.markers.update(ids, states, positions, heights, velocities, s.camera_pitch_deg, gids)
        known = np.isfinite(positions).all(axis=1)
        return Scene3D(ids[known], positions[known], methods[known], velocities[known],
                       heading_quaternions(velocities[known], s.camera_pitch_deg),
                       cloud_points(ids[known], positions[known], velocities[known]), markers)

    def annotate(self, image: np.ndarray, tracks: TrackSnapshot, rgb: bool = False,
                 predicted: bool = False) -> np.ndarray:
        """The annotated image of a frame already passed to :meth:`update` (trails include it);
        predicted tracks say so in the overlay."""
        return annotate_tracks(image, tracks, self.trails, self.rate.rate, rgb=rgb,
                               show_tentative=self.settings.show_tentative,
                               extra_text="predicted" if predicted else "")
