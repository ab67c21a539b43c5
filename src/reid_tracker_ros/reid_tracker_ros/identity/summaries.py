"""The tracker's side of the identity node: what to report about its tracks, and when.

Every frame, each confirmed track matched in it lends its newest feature to a small per-track
buffer (the ``per_track`` newest are kept), flagged ``partial`` while its box touches the image
border (a person cut by the border looks like nobody in particular: the identity node lets such
views join an identity but never stores them; a whole view is kept in preference to a newer
partial one); every ``period`` frames the buffers are flushed as
:class:`~.assign.TrackSummary` rows, one per track the tracker still holds (tracks lost for a
few frames are reported without features, so their global id stays theirs). Pure; the
tracker node turns the rows into a ``reid_msgs/TrackSummaryArray``.
"""
from __future__ import annotations

import itertools
import os
import time
from collections import deque
from collections.abc import Iterable

import numpy as np

from .assign import TrackSummary

_SESSIONS = itertools.count()


def new_session() -> str:
    """A tracker session name that differs after every restart and reset (host-unique)."""
    return f"{os.getpid():x}-{time.time_ns():x}-{next(_SESSIONS)}"


def _inside(box, size: tuple[int, int], margin: float) -> bool:
    x0, y0, x1, y1 = box
    return x0 > margin and y0 > margin and x1 < size[0] - margin and y1 < size[1] - margin


class SummaryCollector:
    """Buffers confirmed tracks' newest features; :meth:`observe` returns summaries every period."""

    def __init__(self, period: int = 1, per_track: int = 1, border: float = 0.01) -> None:
        if period < 1 or per_track < 1:
            raise ValueError(f"identity summary period and per_track must be >= 1, got {period}, {per_track}")
        self.period = int(period)
        self.per_track = int(per_track)
        self.border = float(border)  # fraction of the image width kept clear of the edges
        self._buffers: dict[int, deque[np.ndarray]] = {}
        self._frames = 0

    def clear(self) -> None:
        self._buffers.clear()
        self._frames = 0

    def observe(self, tracks: Iterable, image_size: tuple[int, int] | None = None) -> list[TrackSummary] | None:
        """One frame's tracks (the tracker's ``Track`` objects) in an image of ``image_size``
        (width, height; unknown: no border rule). Returns the summaries when a period is
        complete, else None."""
        margin = self.border * image_size[0] if image_size and image_size[0] else None
        reported = []
        for t in tracks:
            if t.is_tentative or t.is_deleted:
                continue
            reported.append(t)
            if t.frames_since_update == 0 and t.gallery.last is not None:
                partial = margin is not None and not _inside(t.last_box, image_size, margin)
                buf = self._buffers.get(t.track_id)
                if buf is None:
                    buf = self._buffers[t.track_id] = deque(maxlen=self.per_track)
                if partial and buf and not buf[-1][1]:
                    pass  # a whole view in the buffer is worth more than a newer partial one
                else:
                    buf.append((t.gallery.last.copy(), partial))
        self._frames += 1
        if self._frames % self.period:
            return None
        alive = {t.track_id for t in reported}
        for tid in [k for k in self._buffers if k not in alive]:
            del self._buffers[tid]
        out = []
        for t in reported:
            buf = self._buffers.pop(t.track_id, None)
            feats = np.stack([f for f, _ in buf]) if buf else np.zeros((0, 0), np.float32)
            partial = np.array([p for _, p in buf], bool) if buf else np.zeros(0, bool)
            out.append(TrackSummary(int(t.track_id), feats, float(t.score), partial))
        return out
