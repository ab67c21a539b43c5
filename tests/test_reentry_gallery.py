"""Re-entry gallery: unit behaviour, message-friendly state, and id restoration in the tracker."""
from __future__ import annotations

import numpy as np
import pytest

from reid_tracker_ros.tracking import ReentryGallery, build_tracker
from reid_tracker_ros.types import Detections


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    e = np.random.default_rng(seed).normal(size=(n, dim))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)


def jitter(f: np.ndarray, seed: int, sigma: float = 0.05) -> np.ndarray:
    g = f + np.random.default_rng(seed).normal(0, sigma, f.shape).astype(np.float32)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def test_claim_returns_closest_identity_once_and_respects_threshold_and_exclusions():
    people = unit_rows(3)
    gallery = ReentryGallery(max_age_s=10.0, threshold=0.2, budget=4)
    for tid, f in zip((5, 6, 7), people):
        assert gallery.add(tid, np.stack([jitter(f, k) for k in range(6)]), timestamp=1.0)
    assert len(gallery) == 3 and gallery.state()["counts"].tolist() == [4, 4, 4]  # budget
    query = np.stack([jitter(people[1], 100 + k) for k in range(3)])
    assert gallery.claim(query, now=2.0, exclude={6}) is None  # alive: never handed out twice
    assert gallery.claim(query, now=2.0) == 6
    assert 6 not in gallery and gallery.claim(query, now=2.0) is None  # claimed once
    stranger = unit_rows(2, seed=9)
    assert gallery.claim(stranger, now=2.0) is None  # too far from everyone
    assert not gallery.add(8, np.zeros((2, 32)), 1.0)  # no usable feature
    with pytest.raises(ValueError, match="features"):
        gallery.claim(np.ones((1, 5)), now=2.0)


def test_entries_expire_and_capacity_drops_the_oldest():
    people = unit_rows(4)
    gallery = ReentryGallery(max_age_s=5.0, threshold=0.2, capacity=3)
    for k, f in enumerate(people):
        gallery.add(k + 1, f[None], timestamp=float(k))
    assert gallery.track_ids == [2, 3, 4]
    assert gallery.expire(now=7.5) == 2 and gallery.track_ids == [4]
    assert gallery.claim(people[3][None], now=20.0) is None  # expired before the claim


def test_state_roundtrip_and_merge_prefer_newer_entries():
    people = unit_rows(2)
    a = ReentryGallery()
    a.add(1, np.stack([people[0], jitter(people[0], 1)]), 3.0)
    a.add(2, people[1][None], 4.0)
    state = a.state()
    assert state["features"].shape == (3, 32) and state["features"].dtype == np.float32
    assert state["track_ids"].tolist() == [1, 2] and state["timestamps"].tolist() == [3.0, 4.0]
    b = ReentryGallery.from_state(state)
    for key in state:
        np.testing.assert_allclose(b.state()[key], state[key], atol=1e-6)
    c = ReentryGallery()
    c.add(2, people[0][None], 9.0)  # newer knowledge of id 2 wins over a's older entry
    assert c.merge(state) == 1
    assert c.state()["timestamps"].tolist() == [9.0, 3.0]
    bad = dict(state, counts=np.array([1, 1]))
    with pytest.raises(ValueError, match="inconsistent"):
        c.merge(bad)


def _exit_and_return(reentry: bool, look_back: np.ndarray, look: np.ndarray) -> tuple[int, int]:
    """A person is tracked, leaves (deleted after max_age), walks back in elsewhere."""
    # the raw mechanism (calibration needs more people than this scene has: tests of its own)
    tracker = build_tracker({"strategy": "deepsort", "n_init": 3, "max_age": 5, "calibrate_appearance": False,
                             "reentry": reentry, "reentry_threshold": 0.2})
    box = np.array([[100.0, 100.0, 140.0, 200.0]])
    other = np.array([[600.0, 100.0, 640.0, 200.0]])
    bystander = unit_rows(1, seed=5)
    for t in range(10):
        snap = tracker.update(Detections(np.concatenate([box + [3 * t, 0, 3 * t, 0], other]),
                                         [0.9, 0.9], [0, 0],
                                         np.concatenate([jitter(look, t)[None], bystander])))
    first = int(snap.track_ids[np.argmin(snap.boxes[:, 0])])
    for t in range(20):  # gone; the bystander stays
        tracker.update(Detections(other, [0.9], [0], bystander))
    assert first not in [t.track_id for t in tracker.tracks]  # really deleted
    back = np.array([[300.0, 120.0, 340.0, 220.0]])
    for t in range(4):
        snap = tracker.update(Detections(np.concatenate([back + [2 * t, 0, 2 * t, 0], other]),
                                         [0.9, 0.9], [0, 0],
                                         np.concatenate([jitter(look_back, 50 + t)[None], bystander])))
    return first, int(snap.track_ids[np.argmin(snap.boxes[:, 0])])


def test_reentry_restores_id_after_exit_and_return():
    look = unit_rows(1, seed=2)[0]
    first, returned = _exit_and_return(True, look, look)
    assert returned == first
    first, returned = _exit_and_return(False, look, look)
    assert returned != first  # without the gallery: a new id
    stranger = unit_rows(1, seed=3)[0]
    first, returned = _exit_and_return(True, stranger, look)
    assert returned != first  # someone else walking in does not inherit the id


def test_tracker_can_share_a_gallery():
    shared = ReentryGallery(threshold=0.2)
    a = build_tracker({"strategy": "deepsort", "n_init": 1, "max_age": 1}, reentry_gallery=shared)
    b = build_tracker({"strategy": "deepsort", "n_init": 1, "max_age": 1}, reentry_gallery=shared)
    assert a.reentry is shared and b.reentry is shared
    look = unit_rows(1, seed=4)
    a.update(Detections(np.array([[0.0, 0.0, 40.0, 100.0]]), [0.9], [0], look))
    for _ in range(3):
        a.update(Detections.empty(32))
    assert shared.track_ids == [1]
