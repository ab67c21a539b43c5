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

from typing import TypeVar

from .stamped_hold import Held, StampedHold

T = TypeVar("T")
__all__ = ["Held", "MotionFallback"]


class MotionFallback(StampedHold[T]):
    """Frames (by integer stamp) waiting for their features; see the module docstring."""

    def __init__(self, timeout_s: float, capacity: int = 64) -> None:
        super().__init__(timeout_s, capacity, "fallback timeout")

    @property
    def timeout_s(self) -> float:
        return self.wait_s

    def hold(self, stamp: int, item: T, now: float) -> list[Held[T]]:
        """Hold a frame (a second copy of a held stamp replaces the item, keeping its wait);
        returns the frames pushed out by the capacity (oldest first)."""
        since = self._held[stamp].since if stamp in self._held else now
        return self._insert(Held(stamp, item, since))
