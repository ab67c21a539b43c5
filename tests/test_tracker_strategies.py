"""One test per association mechanism of the SORT family, plus lifecycle over every strategy."""
from __future__ import annotations

import numpy as np
import pytest

from reid_tracker_ros.tracking import (TRACKERS, IoUStage, MomentumStage, OcSortStrategy, Tracker,
                                       build_tracker, load_preset, preset_config)
from reid_tracker_ros.types import TrackState

from tracking_helpers import box_at, dets, unit


# ------------------------------------------------------------------------------- presets


def test_every_tracker_has_a_preset_that_builds():
    for name in TRACKERS:
        preset = load_preset(name)
        assert preset and preset["strategy"] == name
        tracker = build_tracker(name)
        assert tracker.name == name
        for key, value in preset.items():
            assert getattr(tracker.config, key) == value, (name, key)
    cfg = build_tracker({"strategy": "bytetrack", "max_age": 99}).config
    assert cfg.max_age == 99 and cfg.n_init == load_preset("bytetrack")["n_init"]
    assert preset_config("botsort").kalman_filter == "xywh"
    with pytest.raises(ValueError, match="unknown tracker config key"):
        build_tracker({"strategy": "sort", "max_ageing": 3})


# ------------------------------------------------------------------------------- OC-SORT: ORU


def test_oru_recovers_track_through_a_gap_along_the_virtual_path():
    """Walk right 6 px/frame, vanish for 8 frames while turning to walk down 4 px/frame,
    reappear: the track is recovered with its id, and ORU re-filters it from its last
    correction along the straight virtual path of observations between the last and the new
    observation (OC-SORT), which the state without ORU (one big correction) is not."""
    states = {}
    for oru in (True, False):
        tracker = build_tracker({"strategy": "ocsort", "oru": oru, "n_init": 1})
        x, y = 100.0, 200.0
        for _ in range(15):
            snap = tracker.update(dets([box_at(x, y)]))
            x += 6.0
        x -= 6.0
        first_id = int(snap.track_ids[0])
        kf = tracker.kf
        last_mean, last_cov = tracker.mean.copy(), tracker.covariance.copy()
        z0 = kf.measurement_from_xyxy(box_at(x, y))
        for _ in range(8):
            y += 4.0
            tracker.update(dets([]))
        y += 4.0
        snap = tracker.update(dets([box_at(x, y)]))
        assert snap.track_ids.tolist() == [first_id]  # recovered
        states[oru] = tracker.mean[0].copy()
    z1 = kf.measurement_from_xyxy(box_at(x, y))
    mean, cov = last_mean, last_cov
    for k in range(1, 9):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, z0 + (z1 - z0) * (k / 9))
    mean, cov = kf.predict(mean, cov)
    mean, _ = kf.update(mean, cov, z1)
    np.testing.assert_allclose(states[True], mean[0], atol=1e-9)
    assert np.abs(states[False] - mean[0]).max() > 1e-3


def test_ocm_prefers_detection_in_the_direction_of_motion():
    """Two equally overlapping detections, one ahead of the track's motion and one behind:
    momentum (OCM) picks the one ahead."""
    tracker = build_tracker({"strategy": "ocsort", "n_init": 1, "inertia": 0.5})
    for k in range(6):
        tracker.update(dets([box_at(100 + 5 * k, 200)]))
    ctx_boxes = np.array([box_at(125 + 14, 200), box_at(125 - 14, 200)])  # ahead / behind
    stage = MomentumStage(0.9, inertia=0.5)
    from reid_tracker_ros.tracking.tracker import FrameContext

    tracker.mean, tracker.covariance = tracker.kf.predict(tracker.mean, tracker.covariance)
    d = dets(ctx_boxes)
    ctx = FrameContext(tracker, d, tracker.kf.measurement_from_xyxy(d.boxes))
    cost = stage.cost(ctx, np.array([0]), np.array([0, 1]))
    assert cost[0, 0] < cost[0, 1]


def test_ocr_matches_against_the_last_observation():
    """A person who stops while hidden is far from the prediction but on the last observation:
    the recovery stage (IoU with the last observed box) keeps the id; IoU with the prediction
    alone (plain SORT-like stage) cannot."""
    ids = {}
    for with_ocr in (True, False):
        strategy = OcSortStrategy(preset_config("ocsort", {"n_init": 1, "oru": False}))
        if not with_ocr:
            strategy.stages = strategy.stages[:1]
        tracker = Tracker(strategy.config, strategy=strategy)
        for k in range(10):
            snap = tracker.update(dets([box_at(100 + 8 * k, 200)]))
        first = int(snap.track_ids[0])
        for _ in range(6):
            tracker.update(dets([]))
        snap = tracker.update(dets([box_at(100 + 8 * 9, 200)]))  # it stopped where last seen
        ids[with_ocr] = (first, int(snap.track_ids[snap.frames_since_update == 0][0]))
    assert ids[True][0] == ids[True][1]
    assert ids[False][0] != ids[False][1]


# ------------------------------------------------------------------------------- ByteTrack


@pytest.mark.parametrize("name", ["bytetrack", "botsort"])
def test_low_score_stage_keeps_occluded_track_alive(name):
    """While a person is half occluded its detection scores 0.3 (below high_score): the
    second stage still matches it to its track; with the low band switched off the track is
    lost, deleted after max_age, and the person comes back with a new id."""
    results = {}
    for low in (0.1, 0.6):  # 0.6 = high_score: no low-score detections at all
        tracker = build_tracker({"strategy": name, "low_score": low, "high_score": 0.6,
                                 "max_age": 5, "cmc": "none"})
        ids, matched_while_occluded = [], []
        for t in range(40):
            occluded = 10 <= t < 25
            snap = tracker.update(dets([box_at(100 + 3 * t, 200)], [0.3 if occluded else 0.9]))
            live = snap.track_ids[snap.frames_since_update == 0].tolist()
            if occluded:
                matched_while_occluded.append(bool(live))
            elif live:
                ids.append(live[0])
        results[low] = (ids, matched_while_occluded)
    ids, matched = results[0.1]
    assert all(matched) and len(set(ids)) == 1
    ids, matched = results[0.6]
    assert not any(matched) and len(set(ids)) == 2


def test_bytetrack_births_only_from_confident_detections():
    tracker = build_tracker({"strategy": "bytetrack", "n_init": 1, "new_track_score": 0.7})
    for _ in range(3):
        snap = tracker.update(dets([box_at(100, 200), box_at(400, 200)], [0.9, 0.65]))
    assert len(snap) == 1 and len(tracker.tracks) == 1


# ------------------------------------------------------------------------------- DeepSORT family


@pytest.mark.parametrize("name", ["deepsort", "strongsort"])
def test_mahalanobis_gate_rejects_a_distant_look_alike(name):
    """The same-looking detection 300 px away is appearance-perfect but kinematically
    impossible: the gate refuses it; without the gate the id jumps across the image."""
    emb = unit(np.arange(1, 17))
    jumped = {}
    for gating in (True, False):
        # the raw mechanism: a one-person scene gives the calibrator no negatives to learn from
        tracker = build_tracker({"strategy": name, "gating": gating, "n_init": 1, "calibrate_appearance": False,
                                 "appearance_weight": 1.0, "reentry": False, "cmc": "none"})
        for k in range(5):
            snap = tracker.update(dets([box_at(100 + 2 * k, 200)], emb=emb))
        tid = int(snap.track_ids[0])
        tracker.update(dets([], emb=np.zeros((0, 16), np.float32)))
        snap = tracker.update(dets([box_at(420, 200)], emb=emb))
        live = snap.track_ids[snap.frames_since_update == 0].tolist()
        jumped[gating] = live == [tid]
    assert not jumped[True] and jumped[False]


def test_strongsort_uses_ema_features_and_nsa():
    tracker = build_tracker("strongsort")
    # CMC on: it helps on the camera-motion family and costs nothing elsewhere (docs/validation.md)
    assert tracker.strategy.scale_noise_by_confidence and tracker.config.cmc == "sparse_flow"
    stages = tracker.strategy.stages
    assert stages[0].use_ema and isinstance(stages[1], IoUStage)


def test_deepocsort_feature_ema_trusts_confident_detections():
    strategy = build_tracker("deepocsort").strategy
    alpha = strategy.feature_alpha(np.array([0.2, strategy.config.new_track_score, 0.75, 1.0]))
    assert alpha[0] == alpha[1] == 1.0  # unreliable: the old feature is kept unchanged
    assert alpha[3] == pytest.approx(strategy.config.ema_alpha)
    assert alpha[1] > alpha[2] > alpha[3]


# ------------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_lifecycle_transitions_for_every_strategy(name):
    """tentative -> confirmed after n_init hits -> lost on a miss -> deleted after max_age."""
    tracker = build_tracker({"strategy": name, "n_init": 3, "max_age": 4, "reentry": False})
    emb = unit(np.ones(8))
    states = []
    for t in range(3):
        tracker.update(dets([box_at(100 + 2 * t, 200)], emb=emb))
        states.append(tracker.tracks[0].state)
    assert states == [TrackState.TENTATIVE, TrackState.TENTATIVE, TrackState.CONFIRMED]
    tid = tracker.tracks[0].track_id
    for k in range(1, 5):
        snap = tracker.update(dets([], emb=np.zeros((0, 8), np.float32)))
        assert tracker.tracks[0].state == TrackState.LOST and tracker.tracks[0].frames_since_update == k
        assert snap.states.tolist() == [TrackState.LOST] and snap.track_ids.tolist() == [tid]
    tracker.update(dets([], emb=np.zeros((0, 8), np.float32)))
    assert tracker.tracks == [] and len(tracker.mean) == len(tracker.obs_mean) == 0
    # a tentative track dies on its first miss
    tracker.update(dets([box_at(300, 200)], emb=emb))
    tracker.update(dets([], emb=np.zeros((0, 8), np.float32)))
    assert tracker.tracks == []
