"""Tracks for camera frames the detector did not answer (no ROS imports).

On a live camera whose detector is slower than the camera, most frames never reach the tracker
as detections. They still get tracks: the current tracks' Kalman boxes extrapolated to the
frame's stamp (``kind`` PREDICTED on the wire). Extrapolation is a pure function of the track
states and the elapsed time: the tracker is not touched, so a frame's detections that come
later still update it exactly as without predictions.

- :func:`predicted_snapshot`: the extrapolated tracks (optionally moved by a camera motion).
- :class:`StepClock`: camera frames between stamps. A live tracker predicts as many Kalman steps
  as camera frames passed since its last update, so its velocities are per camera frame
  whatever the detector's rate, and predictions extrapolate by camera frames.
- :class:`FrameDeadlines`: which camera frames are due for a prediction (no detections within
  the budget, or a newer frame's detections came first).
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..stamped_hold import Held, StampedHold
from ..types import TrackSnapshot

if TYPE_CHECKING:
    from .tracker import Tracker

T = TypeVar("T")


def predicted_snapshot(tracker: "Tracker", steps: float, camera_motion: np.ndarray | None = None) -> TrackSnapshot:
    """The tracks the tracker reports now, with their Kalman means extrapolated ``steps`` tracker
    steps ahead (fractional allowed) and, when given, moved by ``camera_motion`` (2x3 affine from
    the last updated frame to this one). The tracker's state is not changed."""
    if not tracker.tracks:
        return TrackSnapshot.empty()
    mean = tracker.kf.extrapolate(tracker.mean, steps)
    if camera_motion is not None:
        mean, _ = tracker.kf.warp(mean, tracker.covariance, camera_motion)
    return tracker.snapshot(mean)


class _StampGaps:
    """The newest of a stream of stamps and the median gap of the last ``window`` steps forward
    (an older or repeated stamp adds no gap: robust to the odd late or dropped one)."""

    def __init__(self, window: int) -> None:
        self._gaps: deque[int] = deque(maxlen=window)
        self.last: int | None = None

    def add(self, stamp_ns: int) -> None:
        if self.last is not None and stamp_ns > self.last:
            self._gaps.append(stamp_ns - self.last)
        self.last = stamp_ns if self.last is None else max(self.last, stamp_ns)

    @property
    def median(self) -> float | None:
        return float(np.median(self._gaps)) if self._gaps else None

    def clear(self) -> None:
        self._gaps.clear()
        self.last = None


class StepClock:
    """Camera frames between stamps, for the Kalman steps of a live tracker.

    On a live camera the detector answers one frame in several, so an update is several camera
    frames after the last one. The tracker then predicts that many steps (:meth:`update_steps`)
    and its velocities stay per camera frame, as in lockstep, whatever the detector's rate; a
    prediction for a frame without detections extrapolates :meth:`steps_to` camera frames.
    The camera's frame period is the median gap of the last ``window`` frame stamps
    (:meth:`frame`, robust to a dropped frame). Until frames are seen it falls back to the
    median gap between updates (velocities per update, one step each)."""

    def __init__(self, window: int = 8) -> None:
        if window < 1:
            raise ValueError(f"step window must be >= 1, got {window}")
        self._updates = _StampGaps(window)
        self._frames = _StampGaps(window)

    @property
    def last(self) -> int | None:
        """Stamp [ns] of the last update."""
        return self._updates.last

    def frame(self, stamp_ns: int) -> None:
        """A camera frame stamped ``stamp_ns`` arrived (in order or not)."""
        self._frames.add(stamp_ns)

    def updated(self, stamp_ns: int) -> None:
        """The tracker was updated with the frame stamped ``stamp_ns``."""
        self._updates.add(stamp_ns)

    @property
    def frame_ns(self) -> float | None:
        """The camera's frame period, None until two frames were seen."""
        return self._frames.median

    @property
    def step_ns(self) -> float | None:
        """The length of one Kalman step: a camera frame when known, else an update gap."""
        frame = self.frame_ns
        return frame if frame is not None else self._updates.median

    def update_steps(self, stamp_ns: int) -> int:
        """Kalman steps for an update with the frame ``stamp_ns``: the camera frames since the
        last update (at least 1; 1 while the frame period or the last update is unknown)."""
        period = self.frame_ns
        if self.last is None or not period or stamp_ns <= self.last:
            return 1
        return max(1, int(round((stamp_ns - self.last) / period)))

    def steps_to(self, stamp_ns: int) -> float:
        """Kalman steps from the last update to ``stamp_ns``; 0 until a step length is known
        (before the second update every track is new and has no velocity anyway)."""
        step = self.step_ns
        if self.last is None or not step:
            return 0.0
        return (stamp_ns - self.last) / step

    def reset(self) -> None:
        self._updates.clear()
        self._frames.clear()


class FrameDeadlines(StampedHold[T]):
    """Camera frames waiting for their detections, each with a deadline of ``budget_s``.

    A frame leaves by one of:
    - ``tracked(stamp)``: its detections were tracked (no prediction needed); frames older than
      it that are still waiting are returned: the detector skipped them (it works in stamp
      order), so they are due for a prediction now, before the newer frame's update;
    - ``due(now)``: it waited ``budget_s``: due for a prediction (its detections may still come
      later and are then tracked as usual);
    - overflow of ``capacity`` (returned by ``add``, oldest first): due as well.
    A frame older than the newest tracked one is due at once (its image came late)."""

    def __init__(self, budget_s: float, capacity: int = 64) -> None:
        super().__init__(budget_s, capacity, "prediction budget")
        self._tracked: deque[int] = deque(maxlen=4 * capacity)
        self.newest_tracked: int | None = None

    @property
    def budget_s(self) -> float:
        return self.wait_s

    def add(self, stamp: int, item: T, now: float) -> list[Held[T]]:
        """A camera frame arrived; returns frames due at once (late image, overflow)."""
        if stamp in self or stamp in self._tracked:
            return []  # a duplicate, or a frame tracked before its image came
        pending = Held(stamp, item, now)
        if self.newest_tracked is not None and stamp < self.newest_tracked:
            return [pending]
        return self._insert(pending)

    def tracked(self, stamp: int) -> list[Held[T]]:
        """The frame ``stamp`` is being tracked with its detections: the older waiting frames
        (skipped by the detector), oldest first."""
        self._tracked.append(stamp)
        self.newest_tracked = stamp if self.newest_tracked is None else max(self.newest_tracked, stamp)
        return self.take(stamp)

    def clear(self) -> None:
        super().clear()
        self._tracked.clear()
        self.newest_tracked = None
