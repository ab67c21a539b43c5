"""Exact-stamp pairing of two message streams with a bounded cache (no ROS imports).

The embedder needs the image and the detections of the same frame. They arrive on two
topics in any order; each side waits in a bounded FIFO until its partner with the identical
stamp arrives. When a side overflows, its oldest entry is dropped and counted, so memory
stays flat and nothing disappears silently (message_filters is not installable here, and
exact stamps are all this pipeline needs: detections copy the image header).

With ``b_supersedes_older_a`` (the embedder's setting), a B item with stamp s also discards
the waiting A items older than s: a detector that processes images in order and skips some
on a live camera (best-effort, keep-last) will never send detections for them, so those
images are counted as ``skipped_a`` (normal) rather than held until they overflow (an error).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")


@dataclass
class PairingStats:
    paired: int = 0
    dropped_a: int = 0  # left side evicted without a partner
    dropped_b: int = 0
    duplicates_a: int = 0  # same stamp received twice: the newer one replaces the older
    duplicates_b: int = 0
    skipped_a: int = 0  # A items superseded by a newer B (see b_supersedes_older_a)


class ExactStampPairer(Generic[A, B]):
    """Pairs items of stream A and stream B that carry the same integer stamp."""

    def __init__(self, capacity: int, b_supersedes_older_a: bool = False) -> None:
        if capacity < 1:
            raise ValueError(f"pairing capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.b_supersedes_older_a = b_supersedes_older_a
        self._a: OrderedDict[int, A] = OrderedDict()
        self._b: OrderedDict[int, B] = OrderedDict()
        self.stats = PairingStats()

    def add_a(self, stamp: int, item: A) -> tuple[A, B] | None:
        """Offer an A item; returns the (A, B) pair when its B partner is waiting."""
        partner = self._b.pop(stamp, None)
        if partner is not None:
            self.stats.paired += 1
            return item, partner
        if stamp in self._a:
            self.stats.duplicates_a += 1
        self._a[stamp] = item
        while len(self._a) > self.capacity:
            self._a.popitem(last=False)
            self.stats.dropped_a += 1
        return None

    def add_b(self, stamp: int, item: B) -> tuple[A, B] | None:
        """Offer a B item; returns the (A, B) pair when its A partner is waiting."""
        partner = self._a.pop(stamp, None)
        if self.b_supersedes_older_a:
            while self._a and next(iter(self._a)) < stamp:
                self._a.popitem(last=False)
                self.stats.skipped_a += 1
        if partner is not None:
            self.stats.paired += 1
            return partner, item
        if stamp in self._b:
            self.stats.duplicates_b += 1
        self._b[stamp] = item
        while len(self._b) > self.capacity:
            self._b.popitem(last=False)
            self.stats.dropped_b += 1
        return None

    @property
    def waiting(self) -> tuple[int, int]:
        """(A items, B items) still waiting for a partner."""
        return len(self._a), len(self._b)
