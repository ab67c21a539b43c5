"""Motion-only fallback of the tracker when appearance features do not come (no ROS imports).

Why: the tracker's normal input is the embedder's output (detections + features). If the
embedder dies, hangs or falls far behind, tracking must not stop: the tracker also listens
to the detector's detections and holds each frame here for ``timeout_s``. A frame leaves
the hold in one of three ways:

- its features arrive (``take``): the held copy is discarded and the featured one is tracked;
  held frames *older* than it are released first, in order, to be tracked on motion only
  (the embedder skipped them: their image was lost on a best-effort link);
- it waited longer than ``timeout_s`` (``due``): tracked on motion only;
- the hold is full (``hold`` returns the overflow): the oldest are tracked on motion only.

When the embedder comes back, frames are again taken with their features: appearance is
picked up without any reset (the galleries of the tracks are kept).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Held(Generic[T]):
    stamp: int
    item: T
    since: float  # when it was held (caller's monotonic clock, seconds)


class MotionFallback(Generic[T]):
    """Frames (by integer stamp) waiting for their features; see the module docstring."""

    def __init__(self, timeout_s: float, capacity: int = 64) -> None:
        if timeout_s <= 0:
            raise ValueError(f"fallback timeout must be > 0 s, got {timeout_s}")
        if capacity < 1:
            raise ValueError(f"fallback capacity must be >= 1, got {capacity}")
        self.timeout_s = timeout_s
        self.capacity = capacity
        self._held: OrderedDict[int, Held[T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, stamp: int, item: T, now: float) -> list[Held[T]]:
        """Hold a frame; returns the frames pushed out by the capacity (oldest first)."""
        if stamp in self._held:
            self._held[stamp] = Held(stamp, item, self._held[stamp].since)
            return []
        in_order = not self._held or stamp > next(reversed(self._held))
        self._held[stamp] = Held(stamp, item, now)
        if not in_order:  # keep stamp order (rare: topics delivered out of order)
            self._held = OrderedDict(sorted(self._held.items()))
        out = []
        while len(self._held) > self.capacity:
            out.append(self._held.popitem(last=False)[1])
        return out

    def take(self, stamp: int) -> list[Held[T]]:
        """Features for ``stamp`` arrived: drop its held copy and return the older held frames
        (to be tracked on motion only before it), oldest first."""
        older = []
        while self._held and next(iter(self._held)) < stamp:
            older.append(self._held.popitem(last=False)[1])
        self._held.pop(stamp, None)
        return older

    def due(self, now: float) -> list[Held[T]]:
        """Frames that waited ``timeout_s`` or longer, and every older one, oldest first."""
        last_due = None
        for stamp, held in self._held.items():
            if now - held.since >= self.timeout_s:
                last_due = stamp
        out: list[Held[T]] = []
        if last_due is None:
            return out
        while self._held and next(iter(self._held)) <= last_due:
            out.append(self._held.popitem(last=False)[1])
        return out

    def clear(self) -> None:
        self._held.clear()
