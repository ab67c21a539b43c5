"""Track lifecycle, the SORT / DeepSORT trackers and their configuration."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from reid_tracker_ros.tracking import (TRACKERS, DeepSortStrategy, FeatureGallery, IoUStage,
                                       MatchingCascade, SortStrategy, Stage, Track, Tracker,
                                       TrackerConfig, build_tracker, iou_matrix)
from reid_tracker_ros.types import Detections, TrackSnapshot, TrackState

W, H = 40.0, 100.0


def box_at(cx: float, cy: float) -> np.ndarray:
    return np.array([cx - W / 2, cy - H / 2, cx + W / 2, cy + H / 2])


def dets(boxes, embeddings=None, scores=None, class_ids=None) -> Detections:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    scores = np.full(n, 0.9) if scores is None else scores
    class_ids = np.zeros(n, np.int64) if class_ids is None else class_ids
    return Detections(boxes, scores, class_ids, embeddings)


def identities(snap: TrackSnapshot, truth: np.ndarray) -> list[int | None]:
    """Id of the snapshot row updated this frame that overlaps each truth box best (IoU > 0.5)."""
    out: list[int | None] = []
    for b in truth:
        iou = np.where(snap.frames_since_update == 0, iou_matrix(b[None], snap.boxes)[0], 0.0) \
            if len(snap) else np.zeros(0)
        out.append(int(snap.track_ids[np.argmax(iou)]) if len(iou) and iou.max() > 0.5 else None)
    return out


def unit_embeddings(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    e = np.random.default_rng(seed).normal(size=(n, dim))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)


def noisy(emb: np.ndarray, rng: np.random.Generator, sigma: float = 0.05) -> np.ndarray:
    return (emb + rng.normal(0, sigma, emb.shape)).astype(np.float32)


# ---------------------------------------------------------------------------- Track


def test_track_tentative_until_n_init_then_confirmed():
    t = Track(7, box_at(0, 0), 0.8, 2, n_init=3, max_age=5)
    assert t.is_tentative and t.hits == 1 and t.age == 0 and t.track_id == 7
    t.mark_predicted()
    t.mark_hit(box_at(1, 0), 0.7, 2)
    assert t.is_tentative and t.hits == 2
    t.mark_predicted()
    t.mark_hit(box_at(2, 0), 0.6, 3)
    assert t.state == TrackState.CONFIRMED and t.hits == 3 and t.age == 2
    assert t.score == 0.6 and t.class_id == 3
    np.testing.assert_array_equal(t.last_box, box_at(2, 0))
    assert Track(1, box_at(0, 0), 0.5, 0, n_init=1).state == TrackState.CONFIRMED


def test_tentative_track_deleted_on_first_miss():
    t = Track(1, box_at(0, 0), 0.8, 0, n_init=3)
    t.mark_predicted()
    t.mark_hit(box_at(0, 0), 0.8, 0)
    t.mark_predicted()
    t.mark_missed()
    assert t.is_deleted


def test_confirmed_track_lost_then_deleted_after_max_age():
    t = Track(1, box_at(0, 0), 0.8, 0, n_init=1, max_age=3)
    for k in range(1, 4):
        t.mark_predicted()
        t.mark_missed()
        assert t.state == TrackState.LOST and not t.is_deleted and t.frames_since_update == k
    t.mark_predicted()
    t.mark_missed()
    assert t.is_deleted
    # a lost track that is matched again is confirmed again
    u = Track(2, box_at(0, 0), 0.8, 0, n_init=1, max_age=3)
    u.mark_predicted()
    u.mark_missed()
    u.mark_predicted()
    u.mark_hit(box_at(0, 0), 0.8, 0)
    assert u.state == TrackState.CONFIRMED and u.frames_since_update == 0 and u.hits == 2


def test_feature_gallery_budget_and_ema():
    g = FeatureGallery(budget=3, ema_alpha=0.5)
    e = np.eye(5, dtype=np.float32)
    for i in range(5):
        assert g.add(2.0 * e[i])  # stored normalised
    assert len(g) == 3
    stored = {int(np.argmax(f)) for f in g.features}
    assert stored == {2, 3, 4}  # the oldest two were dropped
    assert int(np.argmax(g.last)) == 4  # the newest, also after the ring wrapped
    assert FeatureGallery(budget=3).last is None
    np.testing.assert_allclose(np.linalg.norm(g.features, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(g.ema), 1.0, rtol=1e-6)
    h = FeatureGallery(budget=10, ema_alpha=0.5)
    h.add(e[0])
    h.add(e[1])
    np.testing.assert_allclose(h.ema, (e[0] + e[1]) / np.sqrt(2), atol=1e-6)
    assert not h.add(np.zeros(5)) and not h.add(np.full(5, np.nan)) and len(h) == 2
    with pytest.raises(ValueError, match="feature dim 4"):
        h.add(np.ones(4))
    with pytest.raises(ValueError, match="budget"):
        FeatureGallery(budget=0)


# ---------------------------------------------------------------------------- lifecycle via Tracker


def test_tracker_confirms_after_n_init_and_reports_only_confirmed():
    tracker = build_tracker({"strategy": "sort", "n_init": 3})
    snaps = [tracker.update(dets([box_at(100 + 5 * t, 200)])) for t in range(4)]
    assert len(snaps[0]) == 0 and len(snaps[1]) == 0
    s = snaps[2]
    assert s.track_ids.tolist() == [1]
    assert s.states.tolist() == [TrackState.CONFIRMED]
    assert s.hits.tolist() == [3] and s.ages.tolist() == [2] and s.frames_since_update.tolist() == [0]
    assert s.boxes.shape == (1, 4) and s.velocities.shape == (1, 2)
    tentative = build_tracker({"strategy": "sort", "report_tentative": True})
    s0 = tentative.update(dets([box_at(100, 200)]))
    assert s0.track_ids.tolist() == [1] and s0.states.tolist() == [TrackState.TENTATIVE]


def test_tracker_lost_then_deleted_after_max_age():
    tracker = build_tracker({"strategy": "sort", "max_age": 3, "n_init": 2})
    for t in range(20):
        tracker.update(dets([box_at(100 + 5 * t, 200)]))
    for k in range(1, 4):
        s = tracker.update(Detections.empty())
        assert s.track_ids.tolist() == [1] and s.states.tolist() == [TrackState.LOST]
        assert s.frames_since_update.tolist() == [k]
        # the reported box is the prediction: it keeps moving at ~5 px/frame
        assert (s.boxes[0, 0] + s.boxes[0, 2]) / 2 == pytest.approx(195 + 5 * k, abs=1.5)
        assert s.velocities[0, 0] == pytest.approx(5.0, abs=0.3)
    assert len(tracker.update(Detections.empty())) == 0
    assert tracker.tracks == []


@pytest.mark.parametrize("keep", [True, False])
def test_lost_track_keeps_its_size_but_not_its_place(keep):
    """A person walking towards the camera grows; once unmatched, the prediction keeps moving
    the centre but (lost_keep_size) no longer grows the box, which would reach over neighbours."""
    tracker = build_tracker({"strategy": "sort", "kalman_filter": "xywh", "lost_keep_size": keep})
    for t in range(20):
        b = box_at(100 + 5 * t, 200)
        grow = 1.0 + 0.02 * t
        tracker.update(dets([[b[0], b[1] - 50 * (grow - 1), b[2], b[3] + 50 * (grow - 1)]]))
    s0 = tracker.update(Detections.empty())
    h0 = s0.boxes[0, 3] - s0.boxes[0, 1]
    for _ in range(5):
        s = tracker.update(Detections.empty())
    h = s.boxes[0, 3] - s.boxes[0, 1]
    assert (s.boxes[0, 0] + s.boxes[0, 2]) / 2 == pytest.approx(195 + 5 * 6, abs=2.0)
    if keep:
        assert h == pytest.approx(h0, abs=1e-6)
    else:
        assert h > h0 + 5 * 1.5  # still growing at ~2 px/frame


@pytest.mark.parametrize("tentative_last", [False, True])
def test_tentative_track_cannot_take_a_confirmed_tracks_detection(tentative_last):
    """A duplicate box starts a tentative track beside an established one; next frame the one
    detection overlaps the newcomer better. With ``tentative_last`` the established track keeps
    it (confirmed tracks match first) and the newcomer dies; without, the id switches."""
    tracker = build_tracker({"strategy": "sort", "n_init": 2, "tentative_last": tentative_last})
    for _ in range(5):
        tracker.update(dets([box_at(100, 200)]))
    tracker.update(dets([box_at(100, 200), box_at(108, 200)]))
    s = tracker.update(dets([box_at(107, 200)]))
    owner = s.track_ids[s.frames_since_update == 0].tolist()
    assert owner == ([1] if tentative_last else [2])
    if tentative_last:
        assert [t.track_id for t in tracker.tracks] == [1]


def test_tentative_last_orders_every_open_stage():
    """Stages that match every track run for confirmed tracks; the first one again for
    tentative tracks; stages with their own selection (ByteTrack's) are left as they are."""
    names = lambda t: [(type(s).__name__, s.track_selector.__name__) for s in t.strategy.stages]  # noqa: E731
    assert names(build_tracker({"strategy": "ocsort", "tentative_last": True})) == [
        ("MomentumStage", "select_confirmed"), ("IoUStage", "select_confirmed"),
        ("MomentumStage", "select_tentative")]
    assert names(build_tracker({"strategy": "deepsort", "tentative_last": True}))[1:] == [
        ("IoUStage", "select_iou_fallback&select_confirmed"),
        ("IoUStage", "select_iou_fallback&select_tentative")]
    assert (names(build_tracker({"strategy": "bytetrack", "tentative_last": True}))
            == names(build_tracker({"strategy": "bytetrack", "tentative_last": False})))


def test_report_lost_false_reports_only_updated_tracks():
    tracker = build_tracker({"strategy": "sort", "report_lost": False, "n_init": 1})
    tracker.update(dets([box_at(100, 200), box_at(400, 200)]))
    s = tracker.update(dets([box_at(100, 200)]))
    assert s.track_ids.tolist() == [1] and len(tracker.tracks) == 2


def test_tentative_track_deleted_on_miss_and_ids_never_reused():
    tracker = build_tracker({"strategy": "sort", "report_tentative": True})
    assert tracker.update(dets([box_at(100, 200)])).track_ids.tolist() == [1]
    assert len(tracker.update(Detections.empty())) == 0
    assert tracker.tracks == []
    assert tracker.update(dets([box_at(100, 200)])).track_ids.tolist() == [2]
    tracker.reset()
    assert tracker.tracks == [] and tracker.frame_count == 0
    assert tracker.update(dets([box_at(100, 200)])).track_ids.tolist() == [1]


def test_empty_frames_on_fresh_tracker():
    for name in TRACKERS:
        tracker = build_tracker(name)
        s = tracker.update(Detections.empty())
        assert len(s) == 0 and s.boxes.shape == (0, 4) and s.velocities.shape == (0, 2)
        tracker.update(dets([box_at(100, 200)], unit_embeddings(1)))
        assert len(tracker.update(Detections.empty())) == 0  # the tentative track dies quietly
        assert tracker.tracks == []


def test_min_score_and_invalid_boxes_are_dropped():
    tracker = build_tracker({"strategy": "sort", "min_score": 0.5, "report_tentative": True})
    boxes = [box_at(100, 200), box_at(300, 200), [5, 5, 5, 50], [np.nan, 0, 10, 10]]
    s = tracker.update(dets(boxes, scores=np.array([0.9, 0.3, 0.9, 0.9])))
    assert len(s) == 1 and len(tracker.tracks) == 1
    np.testing.assert_allclose(s.boxes[0], box_at(100, 200))


def test_velocity_box_score_and_class_follow_the_target():
    tracker = build_tracker({"strategy": "deepsort"})
    rng = np.random.default_rng(3)
    emb = unit_embeddings(1)
    for t in range(25):
        truth = box_at(100 + 4 * t, 300 - 2 * t)
        s = tracker.update(dets(truth[None] + rng.normal(0, 0.5, (1, 4)), noisy(emb, rng),
                                scores=np.array([0.5 + t / 100]), class_ids=np.array([t % 3])))
    np.testing.assert_allclose(s.velocities[0], [4.0, -2.0], atol=0.3)
    np.testing.assert_allclose(s.boxes[0], truth, atol=2.0)
    assert s.scores[0] == pytest.approx(0.74) and s.class_ids[0] == 24 % 3


# ---------------------------------------------------------------------------- identity keeping


@pytest.mark.parametrize("name", ["sort", "deepsort"])
def test_well_separated_targets_keep_ids(name):
    rng = np.random.default_rng(4)
    starts = np.array([[100.0, 150.0], [500.0, 150.0], [100.0, 500.0], [500.0, 500.0]])
    vel = np.array([[3.0, 1.0], [-2.0, 2.0], [1.0, -1.5], [0.0, 3.0]])
    emb = unit_embeddings(4, seed=1)
    tracker = build_tracker(name)
    seen: list[set[int]] = [set() for _ in range(4)]
    for t in range(60):
        truth = np.array([box_at(*(s + v * t)) for s, v in zip(starts, vel)])
        order = rng.permutation(4)  # detector output order must not matter
        snap = tracker.update(dets(truth[order] + rng.normal(0, 1.0, (4, 4)), noisy(emb[order], rng)))
        if t >= 2:
            for k, tid in enumerate(identities(snap, truth)):
                assert tid is not None, f"target {k} not reported at frame {t}"
                seen[k].add(tid)
    assert [len(s) for s in seen] == [1, 1, 1, 1]
    assert sorted(next(iter(s)) for s in seen) == [1, 2, 3, 4]


def crossing_scene(kind: str, frames: int = 60, seed: int = 0) -> list[np.ndarray]:
    """Two same-size people walking towards each other on one line; they fully overlap mid-way.

    ``cross``: they walk on through each other. ``bounce``: they turn back where they meet, so a
    constant-velocity prediction points to the *other* person afterwards.
    """
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        step = t if kind == "cross" else min(t, 30) - max(t - 30, 0)
        truth = np.array([box_at(100 + 8 * step, 260), box_at(580 - 8 * step, 260)])
        out.append(truth + rng.normal(0, 1.0, truth.shape))
    return out


def run_pair(name: str, scene: list[np.ndarray], embed: bool = True) -> tuple[list, list]:
    tracker = build_tracker(name)
    emb = unit_embeddings(2, seed=5)
    rng = np.random.default_rng(6)
    for t, boxes in enumerate(scene):
        snap = tracker.update(dets(boxes, noisy(emb, rng) if embed else None))
        if t == 10:
            before = identities(snap, boxes)
    return before, identities(snap, boxes)


@pytest.mark.parametrize("kind", ["cross", "bounce"])
def test_deepsort_keeps_ids_through_crossing(kind):
    for seed in range(3):
        before, after = run_pair("deepsort", crossing_scene(kind, seed=seed))
        assert before == after and sorted(before) == [1, 2], (kind, seed, before, after)


def test_bounce_fools_motion_only_matching():
    """Control for the test above: without appearance the bounce swaps the identities."""
    before, after = run_pair("sort", crossing_scene("bounce"))
    assert sorted(before) == [1, 2] and after == before[::-1]
    before, after = run_pair("deepsort", crossing_scene("bounce"), embed=False)
    assert sorted(before) == [1, 2] and after == before[::-1]


@pytest.mark.parametrize("name", ["sort", "deepsort"])
@pytest.mark.parametrize("embed", [True, False])
def test_track_survives_short_gap(name, embed):
    rng = np.random.default_rng(7)
    emb = unit_embeddings(2, seed=8)
    tracker = build_tracker(name)
    gap = range(20, 24)  # target 0 is not detected for 4 frames
    for t in range(35):
        truth = np.array([box_at(100 + 4 * t, 200), box_at(600, 400 - 3 * t)])
        keep = [0, 1] if t not in gap else [1]
        snap = tracker.update(dets(truth[keep] + rng.normal(0, 1.0, (len(keep), 4)),
                                   noisy(emb[keep], rng) if embed else None))
        if t == 19:
            before = identities(snap, truth)
        if t in gap:
            lost = snap.states[snap.track_ids == before[0]]
            assert lost.tolist() == [TrackState.LOST]
    assert identities(snap, truth) == before
    assert sorted(before) == [1, 2] and len(tracker.tracks) == 2


def test_deepsort_handles_frames_with_and_without_embeddings():
    tracker = build_tracker("deepsort")
    emb = unit_embeddings(2, seed=9)
    rng = np.random.default_rng(10)
    for t in range(30):
        truth = np.array([box_at(100 + 3 * t, 200), box_at(500, 200 + 3 * t)])
        with_emb = (t // 5) % 2 == 0
        snap = tracker.update(dets(truth + rng.normal(0, 1.0, (2, 4)),
                                   noisy(emb, rng) if with_emb else None))
        if t == 4:
            before = identities(snap, truth)
    assert identities(snap, truth) == before and sorted(before) == [1, 2]


# ---------------------------------------------------------------------------- stages


class FixedCost(Stage):
    def __init__(self, cost, max_distance: float) -> None:
        super().__init__(max_distance)
        self.matrix = np.asarray(cost, dtype=np.float64)

    def cost(self, ctx, track_rows, det_cols):
        return self.matrix[np.ix_(track_rows, det_cols)]


def test_matching_cascade_gives_recent_tracks_first_pick():
    ctx = SimpleNamespace(frames_since_update=np.array([3, 1, 50]))
    cost = [[0.0, 0.5],  # seen 3 frames ago; would take detection 0 in a global assignment
            [0.1, 0.9],  # seen last frame: picks first
            [0.0, 0.0]]  # older than max_depth: never matched by the cascade
    cascade = MatchingCascade(FixedCost(cost, 0.6), max_depth=10)
    matches, tracks, det_cols = cascade(ctx, np.arange(3), np.arange(2))
    assert sorted(map(tuple, matches.tolist())) == [(0, 1), (1, 0)]
    assert tracks.tolist() == [2] and det_cols.tolist() == []
    # a plain stage on the same costs is globally optimal instead
    matches, tracks, _ = FixedCost(cost, 0.6)(ctx, np.arange(3), np.arange(2))
    assert sorted(map(tuple, matches.tolist())) == [(0, 0), (2, 1)] and tracks.tolist() == [1]


class ScoreSplitStrategy(SortStrategy):
    """A ByteTrack-like pipeline assembled from the shared parts in a few lines."""

    name = "score_split"

    def build_stages(self, config):
        return [IoUStage(config.max_iou_distance,
                         det_selector=lambda ctx, cols: ctx.detections.scores[cols] >= 0.5),
                IoUStage(0.5, det_selector=lambda ctx, cols: ctx.detections.scores[cols] < 0.5)]

    def birth_mask(self, ctx, det_cols):
        return ctx.detections.scores[det_cols] >= 0.5


def test_custom_strategy_from_shared_stages():
    cfg = TrackerConfig(n_init=1)
    tracker = Tracker(cfg, strategy=ScoreSplitStrategy(cfg))
    assert tracker.name == "score_split"
    for t in range(20):
        score = 0.9 if t < 10 else 0.3  # the target gets occluded: low detector confidence
        boxes = [box_at(100 + 3 * t, 200), box_at(400, 400)]  # plus low-score clutter
        snap = tracker.update(dets(boxes, scores=np.array([score, 0.2])))
        assert snap.track_ids.tolist() == [1] and snap.frames_since_update.tolist() == [0]
    assert len(tracker.tracks) == 1  # the low-score clutter never started a track


# ---------------------------------------------------------------------------- config & registry


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="max_agee"):
        TrackerConfig.from_dict({"max_agee": 3, "n_init": 2})
    with pytest.raises(ValueError, match=r"\['bogus', 'zzz'\]"):
        build_tracker({"bogus": 1, "zzz": 2})


def test_config_validates_types_and_ranges():
    cfg = TrackerConfig.from_dict({"strategy": "deepsort", "max_iou_distance": 1, "gating": False})
    assert isinstance(cfg.max_iou_distance, float) and cfg.gating is False
    assert TrackerConfig.from_dict(cfg.to_dict()) == cfg
    assert TrackerConfig.from_dict(None) == TrackerConfig()
    for bad in [{"n_init": 0}, {"appearance_weight": 1.5}, {"max_iou_distance": -0.1},
                {"nn_budget": 0}, {"n_init": 2.5}, {"gating": "yes"}, {"max_age": True}]:
        key = next(iter(bad))
        with pytest.raises(ValueError, match=key):
            TrackerConfig.from_dict(bad)


def test_registry_and_build_tracker():
    assert set(TRACKERS) == {"sort", "deepsort", "strongsort", "bytetrack", "ocsort", "botsort",
                             "deepocsort", "boosttrack"}
    assert isinstance(build_tracker("sort").strategy, SortStrategy)
    assert isinstance(build_tracker({"strategy": "deepsort"}).strategy, DeepSortStrategy)
    cfg = TrackerConfig(strategy="deepsort", max_age=5)
    tracker = build_tracker(cfg)
    assert isinstance(tracker, Tracker) and tracker.config is cfg and tracker.name == "deepsort"
    with pytest.raises(ValueError, match=r"'bytetrak'.*\['boosttrack', 'botsort', 'bytetrack', "):
        build_tracker("bytetrak")
    with pytest.raises(ValueError, match="valid"):
        Tracker(TrackerConfig(strategy="nope"))
    assert Tracker({"strategy": "deepsort"}).name == "deepsort" and Tracker().name == "sort"
    with pytest.raises(ValueError, match="Kalman"):
        build_tracker({"kalman_filter": "abc"})
    with pytest.raises(TypeError, match="Detections"):
        build_tracker("sort").update(np.zeros((1, 4)))


@pytest.mark.parametrize("overrides", [
    {"strategy": "sort"},
    {"strategy": "deepsort"},
    {"strategy": "deepsort", "gating": False},
    {"strategy": "deepsort", "appearance_weight": 0.5, "report_tentative": True},
    {"strategy": "deepsort", "gating": False, "appearance_weight": 0.7, "n_init": 1, "max_age": 0},
    {"strategy": "strongsort"},
    {"strategy": "bytetrack"},
    {"strategy": "bytetrack", "with_appearance": True, "fuse_score": True},
    {"strategy": "botsort", "reentry": True, "n_init": 1, "max_age": 2},
    {"strategy": "ocsort"},
    {"strategy": "deepocsort", "reentry": True, "max_age": 3},
])
def test_invariants_under_random_input(overrides):
    """Clutter, births, deaths, missing embeddings: snapshots stay consistent, nothing crashes."""
    rng = np.random.default_rng(11)
    tracker = build_tracker({"nn_budget": 5, **overrides})
    cfg = tracker.config
    all_ids: set[int] = set()
    for t in range(150):
        k = int(rng.integers(0, 10))
        tl = rng.uniform(0, 600, (k, 2))
        clutter = np.concatenate([tl, tl + rng.uniform(-5, 120, (k, 2))], axis=1)  # some invalid
        walkers = np.array([box_at(50 + 3 * t, 100), box_at(600, 50 + 2 * t), box_at(300, 300)])
        walkers = walkers[rng.random(3) < 0.8]  # persistent targets, sometimes missed
        boxes = rng.permutation(np.concatenate([walkers, clutter]))
        n = len(boxes)
        emb = None if rng.random() < 0.3 or n == 0 else rng.normal(size=(n, 8)).astype(np.float32)
        if emb is not None:
            emb[0] = 0.0  # a zero embedding must not poison anything
        snap = tracker.update(dets(boxes, emb, scores=rng.uniform(0, 1, n)))
        m = len(snap)
        for arr in (snap.track_ids, snap.scores, snap.class_ids, snap.states, snap.ages,
                    snap.hits, snap.frames_since_update):
            assert arr.shape == (m,)
        assert snap.boxes.shape == (m, 4) and snap.velocities.shape == (m, 2)
        assert np.isfinite(snap.boxes).all() and np.isfinite(snap.velocities).all()
        assert len(set(snap.track_ids.tolist())) == m and (snap.track_ids >= 1).all()
        assert np.all(snap.boxes[:, 2:] >= snap.boxes[:, :2])
        assert np.all(snap.frames_since_update <= cfg.max_age)
        assert np.all((snap.frames_since_update == 0) == (snap.states != TrackState.LOST))
        if not cfg.report_tentative:
            assert not np.any(snap.states == TrackState.TENTATIVE)
        assert len(tracker.tracks) == len(tracker.mean) == len(tracker.covariance)
        all_ids.update(snap.track_ids.tolist())
    assert all_ids and max(all_ids) < tracker._next_id


def test_reconfigure_changes_thresholds_and_keeps_tracks():
    """Run-time parameter changes (tracker node) take effect without losing the tracks."""
    from reid_tracker_ros.tracking import build_tracker
    from reid_tracker_ros.types import Detections as _Dets

    tracker = build_tracker({"strategy": "sort", "n_init": 1, "max_age": 30, "max_iou_distance": 0.7})
    box = np.array([[100.0, 100.0, 140.0, 200.0]])
    tracker.update(_Dets(box, [0.9], [0]))
    first = tracker.update(_Dets(box, [0.9], [0]))
    tid = int(first.track_ids[0])
    # a 5 px jump (1 - IoU = 0.22) that max_iou_distance 0.7 accepts (control: same tracker copy)
    shifted = box + [[5.0, 0.0, 5.0, 0.0]]
    import copy

    control = copy.deepcopy(tracker)
    assert control.update(_Dets(shifted, [0.9], [0])).track_ids.tolist() == [tid]
    tracker.reconfigure({"strategy": "sort", "n_init": 1, "max_age": 2, "max_iou_distance": 0.1})
    assert tracker.tracks[0].max_age == 2
    out = tracker.update(_Dets(shifted, [0.9], [0]))
    # ... is refused after tightening max_iou_distance: a new id appears, the old one is kept (lost)
    assert tid in out.track_ids.tolist() or tid in [t.track_id for t in tracker.tracks]
    assert any(t != tid for t in out.track_ids.tolist())
    with pytest.raises(ValueError, match="cannot change at run time"):
        tracker.reconfigure({"strategy": "deepsort"})
