"""Frames (by integer stamp) held in stamp order, each with a deadline (no ROS imports).

The one mechanism behind the tracker node's two waits: frames whose appearance features have
not come (:mod:`.fallback`) and camera frames whose detections have not come
(:mod:`.tracking.prediction`). A frame leaves when the awaited thing comes for it or for a newer
frame (:meth:`StampedHold.take`: the older ones are returned, they were skipped), when it waited
``wait_s`` (:meth:`StampedHold.due`, with every older one), or when the hold overflows its
capacity (oldest first).
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


class StampedHold(Generic[T]):
    """Held frames in stamp order; ``what`` names the wait in error messages."""

    def __init__(self, wait_s: float, capacity: int, what: str) -> None:
        if wait_s <= 0:
            raise ValueError(f"{what} must be > 0 s, got {wait_s}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.wait_s = wait_s
        self.capacity = capacity
        self._held: OrderedDict[int, Held[T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, stamp: int) -> bool:
        return stamp in self._held

    def _insert(self, held: Held[T]) -> list[Held[T]]:
        """Hold (or replace) ``held``; returns the frames pushed out by the capacity, oldest first."""
        in_order = not self._held or held.stamp > next(reversed(self._held))
        self._held[held.stamp] = held
        if not in_order:  # keep stamp order (rare: topics delivered out of order)
            self._held = OrderedDict(sorted(self._held.items()))
        out = []
        while len(self._held) > self.capacity:
            out.append(self._held.popitem(last=False)[1])
        return out

    def get(self, stamp: int) -> Held[T] | None:
        return self._held.get(stamp)

    def put(self, stamp: int, item: T, now: float) -> list[Held[T]]:
        """Hold a frame (replacing a held one of the same stamp); returns the capacity's overflow."""
        return self._insert(Held(stamp, item, now))

    def release_while(self, ready) -> list[Held[T]]:
        """The oldest held frames, in order, as long as ``ready(stamp)`` is true."""
        out = []
        while self._held and ready(next(iter(self._held))):
            out.append(self._held.popitem(last=False)[1])
        return out

    def take(self, stamp: int) -> list[Held[T]]:
        """What was awaited came for ``stamp``: drop it and return the older held frames (skipped
        on the way), oldest first."""
        older = []
        while self._held and next(iter(self._held)) < stamp:
            older.append(self._held.popitem(last=False)[1])
        self._held.pop(stamp, None)
        return older

    def due(self, now: float) -> list[Held[T]]:
        """Frames that waited ``wait_s`` or longer, and every older one, oldest first."""
        last_due = None
        for stamp, held in self._held.items():
            if now - held.since >= self.wait_s:
                last_due = stamp
        out: list[Held[T]] = []
        while last_due is not None and self._held and next(iter(self._held)) <= last_due:
            out.append(self._held.popitem(last=False)[1])
        return out

    def clear(self) -> None:
        self._held.clear()
