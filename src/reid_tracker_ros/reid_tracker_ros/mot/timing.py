"""Frame accounting and per-stage latency from arrival times keyed by image stamp (pure).

The replay node records when it published each image and, per stage, when that stage
published its output for the stamp (DDS source timestamps; the tracks' reception time for
the end of the chain), all on the system clock; this module turns those into frames/s and
p50/p95 latencies.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAGES = ("detector", "embedder", "tracker")
# stage -> (arrival time of its input, arrival time of its output)
# "tracks": the frame's first TrackArray (PREDICTED on a live graph when the detector skipped or
# had not answered it in time); "tracks_detected": its DETECTED one, which went through every stage
_STAGE_SPANS = {"detector": ("published", "detections"), "embedder": ("detections", "embedded_detections"),
                "tracker": ("embedded_detections", "tracks_detected"), "end_to_end": ("published", "tracks"),
                "end_to_end_detected": ("published", "tracks_detected")}


@dataclass
class StageClock:
    """System-clock times (seconds) per event name and stamp, plus node-reported processing ms."""

    times: dict[str, dict[int, float]] = field(default_factory=lambda: {
        "published": {}, "detections": {}, "embedded_detections": {}, "tracks": {}, "tracks_detected": {}})
    processing_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})

    def mark(self, event: str, stamp_ns: int, t: float) -> None:
        # first arrival counts (a duplicate must not rewrite history)
        self.times[event].setdefault(stamp_ns, t)

    def latency_ms(self) -> dict[str, dict[str, float | None]]:
        """{stage: {"p50": ms, "p95": ms, "n": count}} over stamps seen at both ends."""
        out: dict[str, dict[str, float | None]] = {}
        for stage, (start, end) in _STAGE_SPANS.items():
            a, b = self.times[start], self.times[end]
            common = a.keys() & b.keys()
            d = np.array([(b[s] - a[s]) * 1e3 for s in common]) if common else np.zeros(0)
            out[stage] = {"p50": float(np.percentile(d, 50)) if d.size else None,
                          "p95": float(np.percentile(d, 95)) if d.size else None, "n": int(d.size)}
        for stage in STAGES:
            ms = np.asarray(self.processing_ms[stage])
            out[stage]["processing_p50"] = float(np.percentile(ms, 50)) if ms.size else None
        return out


def throughput_fps(published: dict[int, float], completed: dict[int, float]) -> float | None:
    """Frames completed per second, from the first publish to the last completion."""
    done = [t for s, t in completed.items() if s in published]
    if not done or not published:
        return None
    span = max(done) - min(published.values())
    return len(done) / span if span > 0 else None
