"""Predicted tracks for camera frames the detector did not answer (tracking/prediction.py): boxes
move by the Kalman velocity, the tracker's state is untouched, and the frame bookkeeping says
which frames are owed a prediction and when."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from reid_tracker_ros.tracking import (FrameDeadlines, StepClock, Tracker, TrackerConfig, build_tracker,
                                       make_kalman_filter, predicted_snapshot)
from reid_tracker_ros.types import Detections

W, H = 40.0, 100.0


def box_at(cx: float, cy: float) -> np.ndarray:
    return np.array([cx - W / 2, cy - H / 2, cx + W / 2, cy + H / 2])


def dets(*centres) -> Detections:
    boxes = np.array([box_at(*c) for c in centres], dtype=np.float64).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), np.int64), None)


def moving_tracker(name: str = "sort", frames: int = 12, speed=(4.0, -2.0)) -> Tracker:
    """Two people walking at ``speed`` px/frame (one in the opposite direction)."""
    tracker = build_tracker({"strategy": name, "n_init": 1, "cmc": "none"})
    for k in range(frames):
        tracker.update(dets((100 + speed[0] * k, 200 + speed[1] * k), (400 - speed[0] * k, 300)))
    return tracker


@pytest.mark.parametrize("kf_name", ["xyah", "xywh"])
def test_extrapolate_moves_every_state_by_its_velocity(kf_name):
    kf = make_kalman_filter(kf_name)
    mean = np.arange(16, dtype=np.float64).reshape(2, 8)
    out = kf.extrapolate(mean, 2.5)
    np.testing.assert_allclose(out[:, :4], mean[:, :4] + 2.5 * mean[:, 4:])
    np.testing.assert_allclose(out[:, 4:], mean[:, 4:])
    # one step is the filter's own prediction of the mean
    cov = np.repeat(np.eye(8)[None], 2, axis=0)
    np.testing.assert_allclose(kf.extrapolate(mean, 1.0), kf.predict(mean, cov)[0])
    with pytest.raises(ValueError, match="finite"):
        kf.extrapolate(mean, float("nan"))


@pytest.mark.parametrize("name", ["sort", "botsort", "deepsort"])
def test_predicted_boxes_move_by_the_kalman_velocity(name):
    tracker = moving_tracker(name)
    now = tracker.snapshot()
    assert len(now) == 2
    later = predicted_snapshot(tracker, 3.0)
    np.testing.assert_array_equal(later.track_ids, now.track_ids)
    shift = later.boxes - now.boxes
    expected = 3.0 * now.velocities  # centre velocity [px/step]
    np.testing.assert_allclose(0.5 * (shift[:, :2] + shift[:, 2:]), expected, atol=1e-9)
    # the walkers' velocity was learned: about (4, -2) and (-4, 0) px/frame
    np.testing.assert_allclose(now.velocities, [[4.0, -2.0], [-4.0, 0.0]], atol=0.5)
    # zero steps: the current boxes; counters are those of the last update
    np.testing.assert_allclose(predicted_snapshot(tracker, 0.0).boxes, now.boxes)
    np.testing.assert_array_equal(later.frames_since_update, now.frames_since_update)
    np.testing.assert_array_equal(later.states, now.states)


def test_prediction_leaves_the_tracker_unchanged():
    tracker = moving_tracker("botsort")
    twin = copy.deepcopy(tracker)
    mean, cov = tracker.mean.copy(), tracker.covariance.copy()
    counters = [(t.track_id, t.age, t.hits, t.frames_since_update, t.state) for t in tracker.tracks]
    for steps in (0.3, 1.0, 5.0, -1.0):
        predicted_snapshot(tracker, steps)
    predicted_snapshot(tracker, 1.0, camera_motion=np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]]))
    np.testing.assert_array_equal(tracker.mean, mean)
    np.testing.assert_array_equal(tracker.covariance, cov)
    assert [(t.track_id, t.age, t.hits, t.frames_since_update, t.state) for t in tracker.tracks] == counters
    assert tracker.frame_count == twin.frame_count
    # and the next update gives exactly what it gives without the predictions
    a = tracker.update(dets((150, 176), (352, 300)))
    b = twin.update(dets((150, 176), (352, 300)))
    np.testing.assert_array_equal(a.track_ids, b.track_ids)
    np.testing.assert_allclose(a.boxes, b.boxes)


def test_prediction_applies_a_camera_motion():
    tracker = moving_tracker("sort")
    plain = predicted_snapshot(tracker, 1.0)
    shifted = predicted_snapshot(tracker, 1.0, camera_motion=np.array([[1.0, 0.0, 10.0], [0.0, 1.0, -4.0]]))
    np.testing.assert_allclose(shifted.boxes - plain.boxes, np.tile([10.0, -4.0, 10.0, -4.0], (2, 1)), atol=1e-9)


def test_empty_tracker_predicts_an_empty_array():
    tracker = Tracker(TrackerConfig.from_dict({"strategy": "sort"}))
    snap = predicted_snapshot(tracker, 2.0)
    assert len(snap) == 0 and snap.boxes.shape == (0, 4)


def test_snapshot_rejects_states_of_another_length():
    tracker = moving_tracker("sort")
    with pytest.raises(ValueError, match="states for 2 tracks"):
        tracker.snapshot(np.zeros((3, 8)))


def test_step_clock_measures_steps_in_update_gaps():
    clock = StepClock(window=4)
    assert clock.steps_to(123) == 0.0  # nothing known
    clock.updated(1_000)
    assert clock.steps_to(2_000) == 0.0  # no step length yet
    for stamp in (4_000, 7_000, 10_000):  # the detector answers every 3rd frame of 1000 ns
        clock.updated(stamp)
    assert clock.step_ns == 3_000
    assert clock.steps_to(11_000) == pytest.approx(1 / 3)
    assert clock.steps_to(13_000) == pytest.approx(1.0)
    clock.updated(9_000)  # an older stamp never shortens the clock
    assert clock.last == 10_000 and clock.step_ns == 3_000
    clock.reset()
    assert clock.last is None and clock.step_ns is None


def test_step_clock_counts_camera_frames_once_frames_are_seen():
    """With camera frames seen, a step is one camera frame: an update 3 frames after the last
    one predicts 3 Kalman steps, and a prediction 1 frame later extrapolates 1 step."""
    clock = StepClock(window=4)
    assert clock.update_steps(5_000) == 1  # nothing known yet
    for stamp in range(0, 10_001, 1_000):  # a 1000 ns camera
        clock.frame(stamp)
    clock.frame(12_000)  # one dropped frame does not change the median period
    assert clock.frame_ns == 1_000
    clock.updated(4_000)
    assert clock.update_steps(7_000) == 3 and clock.update_steps(7_400) == 3
    assert clock.update_steps(4_000) == 1 and clock.update_steps(3_000) == 1  # never below 1
    clock.updated(7_000)
    assert clock.step_ns == 1_000  # camera frames win over the update gap (3000)
    assert clock.steps_to(8_000) == pytest.approx(1.0)
    clock.reset()
    assert clock.frame_ns is None and clock.update_steps(9_000) == 1


def test_update_with_steps_predicts_that_many_frames():
    """``steps=k`` is exactly k Kalman predictions before the update; invalid values are refused."""
    a, b = moving_tracker("botsort", frames=6), moving_tracker("botsort", frames=6)
    mean, cov = b.mean, b.covariance
    for _ in range(2):  # + the one prediction of b's own update = 3
        mean, cov = b.kf.predict(mean, cov)
    b.mean, b.covariance = mean, cov
    sa = a.update(dets((130, 185), (370, 300)), steps=3)
    sb = b.update(dets((130, 185), (370, 300)))
    np.testing.assert_allclose(sa.boxes, sb.boxes)
    np.testing.assert_allclose(a.covariance, b.covariance)
    for bad in (0, 1.5, -2, True):
        with pytest.raises(ValueError, match="steps"):
            a.update(dets((130, 185)), steps=bad)


@pytest.mark.parametrize("name", ["sort", "botsort", "ocsort"])
def test_a_slow_detector_with_frame_steps_keeps_velocities_per_camera_frame(name):
    """A walker at (4, -2) px per camera frame, seen by a detector that answers every 4th frame:
    with one Kalman step per camera frame (the live tracker's steps) the velocity is the same
    per-frame velocity lockstep tracking reports, and a prediction k frames ahead lands where
    the walker is; with one step per update the velocity would be 4x larger."""
    tracker = build_tracker({"strategy": name, "n_init": 1, "cmc": "none"})
    for f in range(0, 80, 4):
        tracker.update(dets((100 + 4.0 * f, 300 - 2.0 * f)), steps=4)
    snap = tracker.snapshot()
    np.testing.assert_allclose(snap.velocities, [[4.0, -2.0]], atol=0.2)
    ahead = predicted_snapshot(tracker, 3)
    centre = 0.5 * (ahead.boxes[0, :2] + ahead.boxes[0, 2:])
    np.testing.assert_allclose(centre, [100 + 4.0 * 79, 300 - 2.0 * 79], atol=1.0)


def test_frame_deadlines_budget_and_skipped_frames():
    d: FrameDeadlines[str] = FrameDeadlines(budget_s=0.05)
    for k, stamp in enumerate((10, 20, 30, 40)):
        assert d.add(stamp, f"f{stamp}", now=k * 0.033) == []
    assert len(d) == 4
    assert d.due(now=0.04) == []  # nothing waited 50 ms yet
    assert [p.stamp for p in d.due(now=0.05)] == [10]
    # frame 30's detections come: frame 20 was skipped by the detector, 30 needs no prediction
    assert [p.stamp for p in d.tracked(30)] == [20]
    assert [p.item for p in d.due(now=1.0)] == ["f40"]
    assert len(d) == 0
    # late detections of an already predicted frame: nothing more owed
    assert d.tracked(40) == []
    # an image older than the newest tracked frame (it came late) is due at once; repeats are ignored
    assert [p.stamp for p in d.add(35, "late", now=1.0)] == [35]
    assert d.add(40, "again", now=1.0) == []


def test_frame_deadlines_capacity_and_order():
    d: FrameDeadlines[int] = FrameDeadlines(budget_s=1.0, capacity=3)
    assert d.add(30, 3, 0.0) == [] and d.add(10, 1, 0.0) == [] and d.add(20, 2, 0.0) == []
    assert [p.stamp for p in d.add(40, 4, 0.0)] == [10]  # overflow: the oldest is due
    assert [p.stamp for p in d.due(5.0)] == [20, 30, 40]
    with pytest.raises(ValueError, match="budget"):
        FrameDeadlines(0.0)
    with pytest.raises(ValueError, match="capacity"):
        FrameDeadlines(0.1, capacity=0)
