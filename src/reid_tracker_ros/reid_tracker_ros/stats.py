"""Run-time statistics of one node stage (no ROS imports): rates, latency, drops, stamp order.

The nodes publish these as diagnostic_msgs/DiagnosticArray (reid_tracker_ros.ros.diagnostics);
keeping the arithmetic here makes it testable with synthetic clocks and keeps the shells thin.

Time is always passed in (seconds, any monotonic origin) so the same code serves wall clocks
in the nodes and exact numbers in the tests.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels (bytes there, ints here)


class RateMeter:
    """Events per second over a sliding window; memory bounded by the events in the window."""

    def __init__(self, window_s: float = 5.0) -> None:
        if window_s <= 0:
            raise ValueError(f"rate window must be > 0 s, got {window_s}")
        self.window_s = window_s
        self._events: deque[tuple[float, int]] = deque()
        self._count = 0
        self.total = 0

    def add(self, now: float, count: int = 1) -> None:
        if count <= 0:
            return
        self._events.append((now, count))
        self._count += count
        self.total += count
        self._expire(now)

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window_s:
            self._count -= self._events.popleft()[1]

    def count(self, now: float) -> int:
        """Events inside the window ending at ``now``."""
        self._expire(now)
        return self._count

    def rate(self, now: float) -> float:
        """Events/s over the window; 0 until two events span a measurable time. The span is
        from the first event in the window to ``now`` so a stalled stream decays to 0."""
        self._expire(now)
        if self._count < 2 or not self._events:
            return 0.0
        span = max(now - self._events[0][0], 1e-9)
        # events after the first one happened within the span (the first opens it)
        return (self._count - self._events[0][1]) / span if span > 0 else 0.0


class LatencyWindow:
    """Percentiles of the last ``size`` samples (ring buffer: O(1) add, flat memory)."""

    def __init__(self, size: int = 512) -> None:
        if size < 1:
            raise ValueError(f"latency window size must be >= 1, got {size}")
        self._buf = np.zeros(size, np.float64)
        self._n = 0
        self._next = 0

    def add(self, value_ms: float) -> None:
        if not np.isfinite(value_ms):
            return
        self._buf[self._next] = value_ms
        self._next = (self._next + 1) % self._buf.size
        self._n = min(self._n + 1, self._buf.size)

    def __len__(self) -> int:
        return self._n

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0-100) of the window, None when empty."""
        if self._n == 0:
            return None
        return float(np.percentile(self._buf[: self._n], q))


class SequenceGapCounter:
    """Messages lost between one publisher and this subscriber, from the DDS publication
    sequence numbers (rclpy MessageInfo ``publication_sequence_number``): a jump of k means
    k-1 samples were dropped on the way (best-effort loss, or a keep-last queue overwritten
    because the node was busy). A number going backwards is a restarted publisher: the count
    starts afresh from it. Meaningful with one publisher per topic, as with a camera driver."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.lost = 0
        self.restarts = 0

    def add(self, seq: int | None) -> int:
        """Record one received sample; returns how many were lost just before it."""
        if seq is None or seq <= 0:
            return 0  # the middleware does not report sequence numbers
        lost = 0
        if self.last is not None:
            if seq > self.last:
                lost = seq - self.last - 1
            else:
                self.restarts += 1
        self.last = seq
        self.lost += lost
        return lost


class StampVerdict(Enum):
    NEW = "new"  # later than every stamp seen: process it
    DUPLICATE = "duplicate"  # the same stamp as the last one processed
    OUT_OF_ORDER = "out_of_order"  # older than the last one, within the jump tolerance
    JUMP_BACK = "jump_back"  # far older: the source restarted (a looped bag, a new camera clock)


class StampOrder:
    """Classifies incoming header stamps so a node processes each frame once, in order.

    Stateful consumers (the tracker's Kalman filters) must not see a frame twice or go back in
    time; a stamp more than ``jump_back_s`` older than the newest one is taken as a restarted
    source rather than a straggler, and the caller resets its state (as ROS does on a clock
    jump) instead of dropping the new stream forever."""

    def __init__(self, jump_back_s: float = 1.0) -> None:
        if jump_back_s <= 0:
            raise ValueError(f"jump-back tolerance must be > 0 s, got {jump_back_s}")
        self.jump_back_ns = int(jump_back_s * 1e9)
        self.last: int | None = None

    def peek(self, stamp_ns: int) -> StampVerdict:
        """The verdict for ``stamp_ns`` without recording it."""
        if self.last is None or stamp_ns > self.last:
            return StampVerdict.NEW
        if stamp_ns == self.last:
            return StampVerdict.DUPLICATE
        if self.last - stamp_ns > self.jump_back_ns:
            return StampVerdict.JUMP_BACK
        return StampVerdict.OUT_OF_ORDER

    def check(self, stamp_ns: int) -> StampVerdict:
        """The verdict, recording the stamp as the newest when it is to be processed."""
        verdict = self.peek(stamp_ns)
        if verdict in (StampVerdict.NEW, StampVerdict.JUMP_BACK):
            self.last = stamp_ns
        return verdict

    def reset(self) -> None:
        self.last = None


@dataclass
class StatsSnapshot:
    """What a node reports each diagnostics period."""

    input_hz: float
    offered_hz: float  # input including samples lost in transport: the camera's rate as sent
    output_hz: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    inputs: int
    outputs: int
    dropped: int  # lost in transport + dropped by the node (pairing, stale, superseded...)
    dropped_by_kind: dict[str, int]
    errors: dict[str, int]
    level: int
    message: str


@dataclass
class StageStats:
    """Counters of one processing stage (a node): inputs, outputs, latency, drops, errors.

    ``behind_ratio``: WARN when the output rate stays below this fraction of the offered input
    rate (the node is falling behind its camera); only judged once the window holds
    ``min_samples`` inputs so start-up does not warn."""

    window_s: float = 5.0
    behind_ratio: float = 0.9
    min_samples: int = 10
    latency_size: int = 512
    input_rate: RateMeter = field(init=False)
    offered_rate: RateMeter = field(init=False)
    output_rate: RateMeter = field(init=False)
    latency: LatencyWindow = field(init=False)
    gaps: dict[str, SequenceGapCounter] = field(init=False, default_factory=dict)
    drops: dict[str, int] = field(init=False, default_factory=dict)
    errors: dict[str, int] = field(init=False, default_factory=dict)
    inputs: int = field(init=False, default=0)
    outputs: int = field(init=False, default=0)
    _reported_errors: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 0 < self.behind_ratio <= 1:
            raise ValueError(f"behind_ratio must be in (0, 1], got {self.behind_ratio}")
        self.input_rate = RateMeter(self.window_s)
        self.offered_rate = RateMeter(self.window_s)
        self.output_rate = RateMeter(self.window_s)
        self.latency = LatencyWindow(self.latency_size)

    def on_input(self, now: float, topic: str = "input", seq: int | None = None, counts_as_frame: bool = True) -> int:
        """A message arrived on ``topic``; ``seq`` its publication sequence number. Returns the
        samples lost in transport just before it (also added to the 'transport' drops).
        ``counts_as_frame`` False for side inputs (the embedder's images beside detections) so
        the input rate stays the frame rate."""
        lost = self.gaps.setdefault(topic, SequenceGapCounter()).add(seq)
        if lost:
            self.drop(f"transport:{topic}", lost)
        if counts_as_frame:
            self.inputs += 1
            self.input_rate.add(now)
            self.offered_rate.add(now, 1 + lost)
        return lost

    def on_output(self, now: float, latency_ms: float | None = None) -> None:
        self.outputs += 1
        self.output_rate.add(now)
        if latency_ms is not None:
            self.latency.add(latency_ms)

    def drop(self, kind: str, count: int = 1) -> None:
        if count > 0:
            self.drops[kind] = self.drops.get(kind, 0) + count

    def error(self, kind: str, count: int = 1) -> None:
        if count > 0:
            self.errors[kind] = self.errors.get(kind, 0) + count

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def snapshot(self, now: float, warnings: list[str] | None = None) -> StatsSnapshot:
        """Rates and percentiles now; level WARN when behind the camera, when new bad input
        arrived since the last snapshot, or for any of the caller's ``warnings``."""
        in_hz, off_hz, out_hz = (self.input_rate.rate(now), self.offered_rate.rate(now),
                                 self.output_rate.rate(now))
        problems = list(warnings or [])
        window_inputs = self.offered_rate.count(now)
        if window_inputs >= self.min_samples and off_hz > 0 and out_hz < self.behind_ratio * off_hz:
            problems.append(f"falling behind: output {out_hz:.1f} Hz of {off_hz:.1f} Hz offered")
        total_errors = sum(self.errors.values())
        if total_errors > self._reported_errors:
            new = total_errors - self._reported_errors
            problems.append(f"{new} bad input(s) since the last report")
            self._reported_errors = total_errors
        level = WARN if problems else OK
        message = "; ".join(problems) if problems else "ok"
        return StatsSnapshot(in_hz, off_hz, out_hz, self.latency.percentile(50), self.latency.percentile(95),
                             self.inputs, self.outputs, self.dropped, dict(self.drops), dict(self.errors),
                             level, message)


def snapshot_values(snap: StatsSnapshot) -> list[tuple[str, str]]:
    """(key, value) pairs for a DiagnosticStatus, in a stable order; counters per kind are
    flattened as ``dropped.<kind>`` / ``errors.<kind>``."""
    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    pairs = [("input_hz", fmt(snap.input_hz)), ("offered_hz", fmt(snap.offered_hz)),
             ("output_hz", fmt(snap.output_hz)), ("latency_ms_p50", fmt(snap.latency_ms_p50)),
             ("latency_ms_p95", fmt(snap.latency_ms_p95)), ("inputs", str(snap.inputs)),
             ("outputs", str(snap.outputs)), ("dropped", str(snap.dropped))]
    pairs += [(f"dropped.{k}", str(v)) for k, v in sorted(snap.dropped_by_kind.items())]
    pairs += [(f"errors.{k}", str(v)) for k, v in sorted(snap.errors.items())]
    return pairs
