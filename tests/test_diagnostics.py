"""Run-time statistics (reid_tracker_ros.stats, pure) and the nodes' /diagnostics on real DDS."""
from __future__ import annotations


import numpy as np
import pytest

from reid_tracker_ros.fallback import MotionFallback
from reid_tracker_ros.stats import (OK, WARN, LatencyWindow, RateMeter, SequenceGapCounter, StageStats, StampOrder,
                                    StampVerdict, snapshot_values)


# -- pure statistics ------------------------------------------------------------------------------
def test_rate_meter_measures_a_steady_stream_and_decays_when_it_stops():
    meter = RateMeter(window_s=2.0)
    for k in range(61):  # 30 Hz for 2 s
        meter.add(k / 30)
    assert meter.rate(2.0) == pytest.approx(30.0, rel=0.05)
    assert meter.rate(3.0) == pytest.approx(15.0)  # nothing for a second: the rate falls
    assert meter.rate(10.0) == 0.0 and meter.total == 61
    with pytest.raises(ValueError, match="window"):
        RateMeter(0)


def test_latency_window_percentiles_cover_only_the_last_samples():
    window = LatencyWindow(size=100)
    assert window.percentile(50) is None
    for v in range(1000):  # only the last 100 (900..999) remain
        window.add(float(v))
    window.add(float("nan"))  # ignored
    assert len(window) == 100
    assert window.percentile(50) == pytest.approx(949.5)
    assert window.percentile(95) == pytest.approx(np.percentile(np.arange(900, 1000), 95))


def test_sequence_gaps_count_lost_samples_and_survive_a_publisher_restart():
    gaps = SequenceGapCounter()
    assert [gaps.add(s) for s in (1, 2, 5, 6, 10)] == [0, 0, 2, 0, 3]
    assert gaps.add(1) == 0 and gaps.restarts == 1  # publisher restarted: count from it
    assert gaps.add(3) == 1 and gaps.lost == 6
    assert gaps.add(None) == 0  # middleware without sequence numbers


def test_stamp_order_verdicts():
    order = StampOrder(jump_back_s=1.0)
    assert order.check(10_000_000_000) is StampVerdict.NEW
    assert order.check(10_000_000_000) is StampVerdict.DUPLICATE
    assert order.check(9_500_000_000) is StampVerdict.OUT_OF_ORDER
    assert order.last == 10_000_000_000  # stragglers do not move the newest stamp
    assert order.check(10_100_000_000) is StampVerdict.NEW
    assert order.check(1_000_000_000) is StampVerdict.JUMP_BACK  # restarted source, accepted
    assert order.check(1_000_000_001) is StampVerdict.NEW


def test_stage_stats_warn_when_falling_behind_the_camera_and_on_new_errors():
    stats = StageStats(window_s=2.0)
    # camera at 30 Hz (publication sequence numbers 1..60), the node sees every 2nd frame
    for k in range(0, 60, 2):
        stats.on_input(k / 30, "image", seq=k + 1)
        stats.on_output(k / 30 + 0.01, latency_ms=10.0 + k % 4)
    snap = stats.snapshot(2.0)
    assert snap.offered_hz == pytest.approx(30.0, rel=0.1) and snap.input_hz == pytest.approx(15.0, rel=0.1)
    assert snap.level == WARN and "falling behind" in snap.message
    assert snap.dropped == 29 and snap.dropped_by_kind == {"transport:image": 29}
    assert snap.latency_ms_p50 == pytest.approx(11.0, abs=1.01)
    healthy = StageStats(window_s=2.0)
    for k in range(60):
        healthy.on_input(k / 30, "image", seq=k + 1)
        healthy.on_output(k / 30 + 0.005, 5.0)
    assert healthy.snapshot(2.0).level == OK
    healthy.error("bad_image")
    snap = healthy.snapshot(2.0)
    assert snap.level == WARN and "1 bad input" in snap.message and snap.errors == {"bad_image": 1}
    assert healthy.snapshot(2.0).level == OK  # reported once; the counter stays
    values = dict(snapshot_values(healthy.snapshot(2.0)))
    assert values["errors.bad_image"] == "1" and values["inputs"] == "60" and values["latency_ms_p95"] == "5.000"


def test_side_inputs_do_not_count_as_frames():
    stats = StageStats()
    stats.on_input(0.0, "image", seq=1, counts_as_frame=False)
    stats.on_input(0.0, "image", seq=3, counts_as_frame=False)
    assert stats.inputs == 0 and stats.dropped == 1


# -- motion-only fallback hold (pure) ------------------------------------------------------------
def test_fallback_releases_on_features_timeout_and_capacity():
    hold: MotionFallback[str] = MotionFallback(timeout_s=0.5, capacity=3)
    assert hold.hold(10, "d10", now=0.0) == [] and hold.hold(11, "d11", now=0.1) == []
    assert hold.take(11) and [h.stamp for h in hold.take(11)] == []  # 10 released by 11's features
    hold.hold(12, "d12", now=0.2)
    assert hold.due(0.6) == [] and [h.item for h in hold.due(0.75)] == ["d12"]
    for s in (20, 21, 22):
        hold.hold(s, f"d{s}", now=1.0)
    assert [h.stamp for h in hold.hold(19, "d19", now=1.0)] == [19]  # full: the oldest goes out
    assert [h.stamp for h in hold.due(1.5)] == [20, 21, 22] and len(hold) == 0
    with pytest.raises(ValueError, match="timeout"):
        MotionFallback(0.0)
