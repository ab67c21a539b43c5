"""The annotated image: boxes, ids, one colour per id, short trails, state and an fps overlay
(pure OpenCV/numpy, no ROS).

Drawing happens in place on a BGR or RGB uint8 image (``rgb=True`` swaps the id colours, so an
rgb8 camera image needs no colour conversion). Styles by state, so a person can read the
tracker's lifecycle at a glance: confirmed = solid thick box, tentative = thin box with
'new', lost = dashed box (the Kalman prediction) with 'lost'.
"""
from __future__ import annotations

import time
from collections import deque

import cv2
import numpy as np

from .colours import id_colour
from ..types import TrackSnapshot, TrackState

_STATE_TAG = {TrackState.TENTATIVE: " new", TrackState.CONFIRMED: "", TrackState.LOST: " lost"}


class TrailHistory:
    """The last ``length`` foot points of each track; tracks unseen for ``length`` frames are
    forgotten, so memory stays bounded however many people pass by."""

    def __init__(self, length: int = 30) -> None:
        if length < 0:
            raise ValueError(f"trail length must be >= 0 frames, got {length}")
        self.length = length
        self._points: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}
        self._frame = 0

    def update(self, track_ids: np.ndarray, boxes_xyxy: np.ndarray) -> None:
        self._frame += 1
        if self.length == 0:
            return
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]])
        for tid, p in zip(np.asarray(track_ids).reshape(-1).tolist(), feet):
            if not np.isfinite(p).all():
                continue
            self._points.setdefault(tid, deque(maxlen=self.length)).append((float(p[0]), float(p[1])))
            self._last_seen[tid] = self._frame
        for tid in [t for t, f in self._last_seen.items() if self._frame - f >= self.length]:
            del self._points[tid], self._last_seen[tid]

    def trail(self, track_id: int) -> list[tuple[float, float]]:
        return list(self._points.get(int(track_id), ()))

    def __len__(self) -> int:
        return len(self._points)


class RateMeter:
    """Frames per second over a sliding window of arrival times (monotonic clock)."""

    def __init__(self, window: int = 30, clock=time.monotonic) -> None:
        self._times: deque = deque(maxlen=max(2, window))
        self._clock = clock

    def tick(self, t: float | None = None) -> float | None:
        self._times.append(self._clock() if t is None else t)
        return self.rate

    @property
    def rate(self) -> float | None:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


def _dashed_rectangle(img: np.ndarray, p1: tuple[int, int], p2: tuple[int, int], colour, thickness: int,
                      dash: int = 8) -> None:
    (x1, y1), (x2, y2) = p1, p2
    for a, b in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for s in range(0, length, 2 * dash):
            e = min(s + dash, length)
            f0, f1 = s / max(length, 1), e / max(length, 1)
            cv2.line(img, (round(a[0] + (b[0] - a[0]) * f0), round(a[1] + (b[1] - a[1]) * f0)),
                     (round(a[0] + (b[0] - a[0]) * f1), round(a[1] + (b[1] - a[1]) * f1)), colour, thickness,
                     cv2.LINE_AA)


def _label(img: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float, thickness: int) -> None:
    """Text on a filled box of the id's colour, black or white for contrast."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin
    y = max(y, h + base + 2)
    cv2.rectangle(img, (x, y - h - base - 2), (x + w + 4, y), colour, -1)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(img, text, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)


def annotate_tracks(image: np.ndarray, tracks: TrackSnapshot, trails: TrailHistory | None = None,
                    fps: float | None = None, rgb: bool = False, show_tentative: bool = True,
                    extra_text: str = "") -> np.ndarray:
    """Draw the tracks on ``image`` (HxWx3 uint8, modified in place when writable, else copied)
    and return it. ``fps`` (None = unknown) and the number of confirmed tracks go top-left."""
    img = image if image.flags.writeable and image.flags.c_contiguous else np.ascontiguousarray(image).copy()
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"annotate_tracks needs an HxWx3 uint8 image, got {img.dtype} {img.shape}")
    scale_px = max(1, round(img.shape[0] / 360))
    font = 0.4 * scale_px + 0.1
    confirmed = 0
    display = tracks.display_ids()
    has_global = (tracks.global_ids > 0) if len(tracks.global_ids) == len(tracks) else np.zeros(len(tracks), bool)
    for i in range(len(tracks)):
        state = TrackState(int(tracks.states[i]))
        if state == TrackState.TENTATIVE and not show_tentative:
            continue
        confirmed += state == TrackState.CONFIRMED
        tid = int(tracks.track_ids[i])
        shown_id = int(display[i])  # the global id when there is one: one colour across cameras
        colour = id_colour(shown_id)
        if rgb:
            colour = colour[::-1]
        box = np.asarray(tracks.boxes[i], np.float64)
        if not np.isfinite(box).all():
            continue
        p1, p2 = (int(round(box[0])), int(round(box[1]))), (int(round(box[2])), int(round(box[3])))
        if trails is not None:
            pts = trails.trail(tid)
            if len(pts) >= 2:
                cv2.polylines(img, [np.round(np.asarray(pts)).astype(np.int32).reshape(-1, 1, 2)], False, colour,
                              max(1, scale_px), cv2.LINE_AA)
        if state == TrackState.LOST:
            _dashed_rectangle(img, p1, p2, colour, max(1, scale_px), dash=4 * scale_px)
        else:
            cv2.rectangle(img, p1, p2, colour, 2 * scale_px if state == TrackState.CONFIRMED else 1, cv2.LINE_AA)
        text = f"g{shown_id}/{tid}" if has_global[i] else f"{tid}"
        _label(img, f"{text}{_STATE_TAG[state]}", (p1[0], p1[1] - 2), colour, font, max(1, scale_px))
    overlay = (f"{fps:.1f} fps" if fps else "-- fps") + f" | {confirmed} tracks" + (f" | {extra_text}"
                                                                                    if extra_text else "")
    cv2.putText(img, overlay, (8, 8 + 18 * scale_px), cv2.FONT_HERSHEY_SIMPLEX, font * 1.2, (0, 0, 0),
                3 * scale_px, cv2.LINE_AA)
    cv2.putText(img, overlay, (8, 8 + 18 * scale_px), cv2.FONT_HERSHEY_SIMPLEX, font * 1.2, (255, 255, 255),
                scale_px, cv2.LINE_AA)
    return img
