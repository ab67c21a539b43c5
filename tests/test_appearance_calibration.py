"""Per-camera appearance calibration: appearance is used only where it separates people, with
thresholds learnt from the camera's own free samples (tracking/appearance.py)."""
from __future__ import annotations

import numpy as np
import pytest

from reid_tracker_ros.tracking import build_tracker
from reid_tracker_ros.tracking.appearance import AppearanceCalibrator
from reid_tracker_ros.types import Detections

APPEARANCE_TRACKERS = ("deepsort", "strongsort", "botsort", "deepocsort")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def walkers(frames: int = 120, people: int = 6, seed: int = 0) -> list[np.ndarray]:
    """People of similar size walking left/right in two rows that cross each other's paths."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(50, 850, people)
    vx = rng.choice([-1, 1], people) * rng.uniform(3, 6, people)
    y0 = np.where(np.arange(people) % 2 == 0, 150.0, 170.0)
    h = rng.uniform(95, 105, people)
    out = []
    for t in range(frames):
        x = (x0 + vx * t) % 900
        boxes = np.stack([x, y0, x + 0.4 * h, y0 + h], axis=1) + rng.normal(0, 1.0, (people, 4))
        out.append(boxes)
    return out


def features_for(kind: str, boxes: np.ndarray, identity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``identity``: per-person unit vectors. ``random``: no identity at all; ``geometry``: only
    box height and shape (what a feature of a blank crop may still carry); ``identity``: the
    person's vector plus noise."""
    n, d = len(boxes), identity.shape[1]
    if kind == "random":
        return unit(rng.normal(size=(n, d))).astype(np.float32)
    if kind == "shared":  # one look for everybody plus fresh noise per crop (blank or noise frames)
        base = np.zeros((n, d))
        base[:, 0] = 1.0
        return unit(base + 0.05 * rng.normal(size=(n, d))).astype(np.float32)
    if kind == "geometry":
        h = boxes[:, 3] - boxes[:, 1]
        ar = (boxes[:, 2] - boxes[:, 0]) / h
        base = np.zeros((n, d))
        base[:, 0] = 1.0
        base[:, 1] = 0.05 * (h - 100.0)
        base[:, 2] = 0.5 * (ar - 0.4)
        return unit(base + 0.002 * rng.normal(size=(n, d))).astype(np.float32)
    return unit(identity[:n] + 0.15 * rng.normal(size=(n, d))).astype(np.float32)


def run(name: str, kind: str | None, frames: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed + 100)
    scene = walkers(frames, seed=seed)
    identity = unit(rng.normal(size=(len(scene[0]), 64)))
    tracker = build_tracker({"strategy": name, "cmc": "none"})
    ids = []
    for boxes in scene:
        emb = None if kind is None else features_for(kind, boxes, identity, rng)
        snap = tracker.update(Detections(boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), np.int64), emb))
        ids.append((snap.track_ids.tolist(), np.round(snap.boxes, 6).tolist()))
    return tracker, ids


def test_random_features_drive_the_weight_to_zero():
    cal = AppearanceCalibrator()
    rng = np.random.default_rng(0)
    for _ in range(40):
        boxes = np.array([[100.0 * k, 100.0, 100.0 * k + 40.0, 200.0] for k in range(6)])
        feats = unit(rng.normal(size=(6, 32)))
        cal.observe_negatives(boxes, feats)
        cal.observe_positives(boxes, unit(rng.normal(size=(6, 32))), np.ones(6, bool), boxes, feats)
    assert cal.auc() == pytest.approx(0.5, abs=0.08)
    assert cal.gate().weight == 0.0 and not cal.gate().active


def test_features_that_separate_identities_keep_the_weight_high():
    cal = AppearanceCalibrator()
    rng = np.random.default_rng(1)
    people = unit(rng.normal(size=(6, 32)))
    boxes = np.array([[100.0 * k, 100.0, 100.0 * k + 40.0, 200.0] for k in range(6)])
    for _ in range(40):
        seen = unit(people + 0.1 * rng.normal(size=people.shape))
        again = unit(people + 0.1 * rng.normal(size=people.shape))
        cal.observe_negatives(boxes, seen)
        cal.observe_positives(boxes, again, np.ones(6, bool), boxes, seen)
    gate = cal.gate()
    assert cal.auc() > 0.99 and gate.weight == pytest.approx(1.0)
    pos = cal.pos.values()
    assert np.mean(pos <= gate.threshold) > 0.95  # accepts nearly every same-person pair
    assert np.mean(cal.neg.values() <= gate.threshold) <= 0.03  # and hardly any different pair
    assert gate.similarity(np.array([gate.pos_median, gate.neg_median])).tolist() == [1.0, 0.0]


def test_no_appearance_before_enough_samples():
    cal = AppearanceCalibrator(min_samples=20)
    boxes = np.array([[0.0, 0.0, 40.0, 100.0], [200.0, 0.0, 240.0, 100.0]])
    feats = unit(np.eye(2, 8))
    for _ in range(5):
        cal.observe_negatives(boxes, feats)
        cal.observe_positives(boxes, feats, np.ones(2, bool), boxes, feats)
    assert not cal.gate().active  # 5 negatives, 10 positives: not yet


def test_ambiguous_continuations_and_overlapping_pairs_are_not_samples():
    cal = AppearanceCalibrator()
    feats = unit(np.eye(3, 8))
    overlapping = np.array([[0.0, 0.0, 40.0, 100.0], [20.0, 0.0, 60.0, 100.0], [300.0, 0.0, 340.0, 100.0]])
    cal.observe_negatives(overlapping, feats)
    assert cal.neg.n == 2  # (0, 2) and (1, 2); the overlapping pair may be one person twice
    big = overlapping.copy()
    big[2] = [300.0, 0.0, 380.0, 200.0]  # twice the size: not a hard negative
    cal.neg.clear()
    cal.observe_negatives(big, feats)
    assert cal.neg.n == 0
    # track 0's box overlaps detections 0 and 1: ambiguous, no positive from it
    cal.observe_positives(overlapping[:1], feats[:1], np.ones(1, bool), overlapping, feats)
    assert cal.pos.n == 0
    cal.observe_positives(overlapping[2:], feats[2:], np.ones(1, bool), overlapping, feats)
    assert cal.pos.n == 1


@pytest.mark.parametrize("name", APPEARANCE_TRACKERS)
@pytest.mark.parametrize("kind", ["random", "geometry", "shared"])
def test_uninformative_features_leave_the_tracker_exactly_motion_only(name, kind):
    """Crops that carry no identity (noise, or only the box's shape): every appearance tracker
    gives exactly what it gives without features."""
    tracker, with_features = run(name, kind)
    _, without = run(name, None)
    assert with_features == without
    assert tracker.calibrator is not None and not tracker.calibrator.gate().active
    assert tracker.calibrator.neg.n >= 100 and tracker.calibrator.pos.n >= 100  # it did look


@pytest.mark.parametrize("name", APPEARANCE_TRACKERS)
def test_informative_features_switch_appearance_on(name):
    tracker, _ = run(name, "identity")
    gate = tracker.calibrator.gate()
    assert gate.active and gate.weight > 0.9
