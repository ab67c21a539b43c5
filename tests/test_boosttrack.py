"""BoostTrack++ on the shared core: each component on known inputs, then the strategy on tracks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reid_tracker_ros.tracking import build_tracker, iou_matrix
from reid_tracker_ros.tracking.strategies import (CHI2INV99_4, BoostStage, BoostTrackStrategy, dlo_boost,
                                                  duo_boost, mahalanobis_similarity, shape_similarity,
                                                  soft_biou, track_confidence)
from reid_tracker_ros.tracking.tracker import FrameContext

from tracking_helpers import box_at, dets, unit


# ------------------------------------------------------------------------------- components


def test_track_confidence_grows_with_age_and_decays_while_unobserved():
    conf = track_confidence(np.array([1, 6, 7, 20, 20]), np.array([1, 1, 1, 1, 3]))
    assert conf == pytest.approx([0.9 ** 6, 0.9, 1.0, 1.0, 0.81])


def test_soft_biou_buffers_by_track_doubt():
    track = np.array([[0.0, 0.0, 10.0, 10.0]])
    det = np.array([[12.0, 0.0, 22.0, 10.0]])  # 2 px right of the track: IoU 0
    assert iou_matrix(track, det)[0, 0] == 0.0
    # a fully trusted track: soft BIoU is plain IoU
    overlapping = np.array([[5.0, 0.0, 15.0, 10.0], [12.0, 0.0, 22.0, 10.0]])
    assert soft_biou(track, [1.0], overlapping) == pytest.approx(iou_matrix(track, overlapping))
    # confidence 0.5: the track grows by 0.5 * 0.5 * 10 = 2.5 px a side, the detection by
    # 0.25 * 0.5 * 10 = 1.25 px: [-2.5, -2.5, 12.5, 12.5] and [10.75, -1.25, 23.25, 11.25]
    inter = (12.5 - 10.75) * 12.5
    expected = inter / (15.0 ** 2 + 12.5 ** 2 - inter)
    assert soft_biou(track, [0.5], det)[0, 0] == pytest.approx(expected)
    # less trust reaches farther
    assert soft_biou(track, [0.2], det)[0, 0] > soft_biou(track, [0.5], det)[0, 0] > 0.0
    assert soft_biou(track, [0.5], np.zeros((0, 4))).shape == (1, 0)


def test_shape_similarity_on_known_boxes():
    track = box_at(100, 200)[None]  # 40 x 100
    candidates = np.array([box_at(300, 50), box_at(100, 200, w=20), box_at(100, 200, h=50),
                           box_at(0, 0, w=20, h=50)])
    sim = shape_similarity(track, candidates)[0]
    assert sim == pytest.approx([1.0, math.exp(-0.5), math.exp(-0.5), math.exp(-1.0)])


def test_mahalanobis_similarity_is_a_softmax_over_detections_cut_at_the_99_percent_gate():
    d2 = np.array([[0.0, 2.0, 20.0], [30.0, 30.0, 30.0]])
    sim = mahalanobis_similarity(d2)
    z = 1.0 + math.exp(-2.0) + math.exp(-CHI2INV99_4)
    assert sim[0] == pytest.approx([1.0 / z, math.exp(-2.0) / z, 0.0])
    assert sim[1].tolist() == [0.0, 0.0, 0.0]  # nothing plausible for that track
    assert mahalanobis_similarity(np.zeros((0, 3))).shape == (0, 3)


def test_dlo_boost_raises_scores_of_detections_resembling_a_track():
    scores = np.array([0.3, 0.9, 0.3, 0.3, 0.3])
    # tracks: seen last frame (fsu 1), unseen for 3 frames
    sim = np.array([[0.5, 0.5, 0.97, 0.85, 0.0],
                    [0.0, 0.0, 0.0, 0.0, 0.85]])
    out = dlo_boost(scores, sim, np.array([1, 3]), threshold=0.6)
    assert out[0] == pytest.approx(0.65 * 0.3 + 0.35 * 0.5 ** 1.5)  # soft boost
    assert out[1] == 0.9  # never lowered
    assert out[2] == pytest.approx(0.6 + 1e-5)  # clearly the track seen last frame: past the threshold
    assert out[3] < 0.6  # 0.85 is not clear enough for a track seen last frame ...
    assert out[4] == pytest.approx(0.6 + 1e-5)  # ... but is for one unseen for a while
    assert dlo_boost(scores, np.zeros((0, 5)), np.zeros(0), 0.6).tolist() == scores.tolist()


def test_duo_boost_raises_one_doubtful_detection_per_group_far_from_every_track():
    boxes = np.array([box_at(100, 200), box_at(500, 200), box_at(800, 200), box_at(805, 200),
                      box_at(300, 200)])
    scores = np.array([0.3, 0.3, 0.4, 0.2, 0.9])
    far = CHI2INV99_4 + 1.0
    d2 = np.array([[1.0, far, far, far, far],  # two tracks; detection 0 is near track 0
                   [far, far, far, far, far]])
    out = duo_boost(scores, boxes, d2, threshold=0.6)
    assert out[0] == 0.3  # a track may explain it: left to DLO
    assert out[1] == pytest.approx(0.6 + 1e-4)  # alone and far: a new target
    assert out[2] == pytest.approx(0.6 + 1e-4) and out[3] == 0.2  # overlapping pair: the likelier one
    assert out[4] == 0.9  # already confident
    assert duo_boost(scores, boxes, np.zeros((0, 5)), 0.6).tolist() == scores.tolist()


def _context(tracker, boxes, scores=None, emb=None):
    """The FrameContext of the next frame (tracks predicted) without associating it."""
    tracker.mean, tracker.covariance = tracker.kf.predict(tracker.mean, tracker.covariance)
    for t in tracker.tracks:
        t.mark_predicted()
    d = dets(boxes, scores, emb)
    return FrameContext(tracker, d, tracker.kf.measurement_from_xyxy(d.boxes))


def test_boost_stage_cost_combines_the_terms():
    """A detection on the prediction costs less than one of another shape at the same IoU
    distance, and pairs below the IoU floor are impossible."""
    tracker = build_tracker({"strategy": "boosttrack", "n_init": 1})
    for k in range(10):
        tracker.update(dets([box_at(100 + 4 * k, 200)]))
    on = box_at(140, 200)
    wide = box_at(140, 200, w=52)  # IoU with the prediction ~0.77, other shape
    far = box_at(200, 200)  # no overlap
    ctx = _context(tracker, [on, wide, far])
    stage = tracker.strategy.stages[0]
    assert isinstance(stage, BoostStage)
    cost = stage.cost(ctx, np.array([0]), np.array([0, 1, 2]))[0]
    assert cost[0] < cost[1] < 0.0 and cost[2] >= 1e4
    iou = iou_matrix(ctx.predicted_boxes, np.array([on]))[0, 0]
    assert -cost[0] > iou  # the confidence, Mahalanobis and shape terms add to the IoU


# ------------------------------------------------------------------------------- the strategy


def test_dlo_boost_keeps_a_partly_occluded_track():
    """While a person is partly occluded their detection scores 0.4 (below high_score 0.6):
    DLO raises it (it sits on the track's prediction) so the track continues; without
    boosting the detection is dropped, the track dies and the person comes back with a new id."""
    results = {}
    for boost in (True, False):
        tracker = build_tracker({"strategy": "boosttrack", "dlo_boost": boost, "duo_boost": boost,
                                 "max_age": 3, "n_init": 3, "high_score": 0.6, "new_track_score": 0.6})
        ids, matched_while_occluded = [], []
        for t in range(40):
            occluded = 10 <= t < 20
            snap = tracker.update(dets([box_at(100 + 3 * t, 200)], [0.4 if occluded else 0.9]))
            live = snap.track_ids[snap.frames_since_update == 0].tolist()
            if occluded:
                matched_while_occluded.append(bool(live))
            elif live:
                ids.append(live[0])
        results[boost] = (ids, matched_while_occluded)
    ids, matched = results[True]
    assert all(matched) and len(set(ids)) == 1
    ids, matched = results[False]
    assert not any(matched) and len(set(ids)) == 2


def test_duo_boost_starts_a_doubtful_new_target_far_from_every_track():
    """A second person far from the first is detected at 0.5 only: DUO lets them start a track
    (from the second frame: DUO needs tracks to be far from), which DLO then keeps."""
    born = {}
    for duo in (True, False):
        tracker = build_tracker({"strategy": "boosttrack", "duo_boost": duo, "dlo_boost": True,
                                 "n_init": 3, "high_score": 0.6, "new_track_score": 0.6})
        for t in range(8):
            snap = tracker.update(dets([box_at(100 + 2 * t, 200), box_at(600, 200)], [0.9, 0.5]))
        born[duo] = len(snap)
    assert born == {True: 2, False: 1}


def test_detection_scores_hook_only_changes_what_association_sees():
    tracker = build_tracker("boosttrack")
    for k in range(5):
        tracker.update(dets([box_at(100 + 3 * k, 200)]))
    d = dets([box_at(115, 200)], [0.4])
    ctx = FrameContext(tracker, d, tracker.kf.measurement_from_xyxy(d.boxes))
    tracker.strategy.associate(ctx)
    assert ctx.scores[0] > 0.4 and d.scores[0] == 0.4  # the detections themselves are untouched
    sort = build_tracker("sort")
    assert sort.strategy.detection_scores(ctx) is None


def test_boosttrack_keeps_identities_of_crossing_targets():
    """Two people walk towards each other and cross (one hides the other for 3 frames, its
    detection missing): each keeps its id."""
    tracker = build_tracker("boosttrack")
    first, last = {}, {}
    for t in range(60):
        a, b = box_at(100 + 6 * t, 200), box_at(460 - 6 * t, 212)
        hidden = 29 <= t < 32  # b behind a
        snap = tracker.update(dets([a] if hidden else [a, b]))
        live = snap.frames_since_update == 0
        for tid, box in zip(snap.track_ids[live].tolist(), snap.boxes[live]):
            cx = 0.5 * (box[0] + box[2])
            who = "a" if abs(cx - (100 + 6 * t)) < abs(cx - (460 - 6 * t)) else "b"
            (first if t < 20 else last if t > 40 else {}).setdefault(who, set()).add(tid)
    assert first["a"] == last["a"] and first["b"] == last["b"]
    assert len(first["a"]) == len(first["b"]) == 1 and first["a"] != first["b"]


def test_appearance_accepts_a_low_overlap_look_alike_only_with_embeddings():
    """A jump leaving IoU between half the floor and the floor is matched when appearance
    agrees (with_appearance) and not otherwise; appearance comes via ctx.appearance_distance."""
    emb = unit(np.arange(1, 17))
    kept = {}
    for with_app in (True, False):
        # the raw mechanism: one person gives the appearance calibrator no negatives
        tracker = build_tracker({"strategy": "boosttrack", "with_appearance": with_app, "calibrate_appearance": False,
                                 "n_init": 1, "dlo_boost": False, "duo_boost": False})
        assert tracker.strategy.uses_appearance is with_app
        for k in range(10):
            snap = tracker.update(dets([box_at(100, 200)], emb=emb))
        tid = int(snap.track_ids[0])
        jump = box_at(124, 200)  # IoU with the (static) prediction: 16 / 64 = 0.25
        assert 0.15 <= iou_matrix(box_at(100, 200), jump)[0, 0] < 0.3
        snap = tracker.update(dets([jump], emb=emb))
        kept[with_app] = snap.track_ids[snap.frames_since_update == 0].tolist() == [tid]
    assert kept == {True: True, False: False}


def test_boosttrack_preset_and_stage():
    strategy = build_tracker("boosttrack").strategy
    assert isinstance(strategy, BoostTrackStrategy)
    assert strategy.uses_appearance is False  # as BoxMOT's BoostTrack constructor
    stage = strategy.stages[0]
    assert (stage.lambda_iou, stage.lambda_mhd, stage.lambda_shape) == (0.5, 0.25, 0.25)
    assert stage.embedding_weight == 0.0
    assert build_tracker({"strategy": "boosttrack", "with_appearance": True}).strategy.stages[0] \
        .embedding_weight == pytest.approx(3.0)
