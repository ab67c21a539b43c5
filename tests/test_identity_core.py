"""The identity node's pure core: gallery bounds, vectorised/indexed lookup, cross-camera
assignment, restarts and atomic saving (no ROS)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from reid_tracker_ros.identity import (HAVE_FAISS, IdentityAssigner, IdentityConfig, IdentityGallery, PrototypeIndex,
                                       TrackSummary,
                                       load, save_atomic)

DIM = 32


def people(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def views(person: np.ndarray, k: int, noise: float, seed: int, cast: np.ndarray | None = None) -> np.ndarray:
    """k noisy views of a person; ``cast`` a camera's common shift of every view."""
    rng = np.random.default_rng(seed)
    v = person[None] + noise * rng.normal(size=(k, DIM)).astype(np.float32) / np.sqrt(DIM)
    if cast is not None:
        v = v + cast[None]
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_search_finds_the_nearest_identity_and_pads():
    g = IdentityGallery(DIM)
    p = people(5)
    ids = [g.add(views(p[i], 3, 0.1, i), stamp=0.0) for i in range(5)]
    gids, dist = g.search(views(p[3], 1, 0.1, 99), k=8)
    assert gids[0, 0] == ids[3] and dist[0, 0] < 0.05
    assert (gids[0, 5:] == 0).all() and np.isinf(dist[0, 5:]).all()  # only 5 stored
    with pytest.raises(ValueError, match=r"\(Q, 32\)"):
        g.search(np.zeros((1, DIM + 1)))


@pytest.mark.skipif(not HAVE_FAISS, reason="faiss-cpu not installed (requirements.txt installs it)")
@pytest.mark.parametrize("reduce_to", [DIM, 12])  # full rows, and the IVF on 12 principal axes
def test_indexed_search_agrees_with_exact_search_and_follows_changes(reduce_to):
    exact = IdentityGallery(DIM, index_from=10 ** 9)
    indexed = IdentityGallery(DIM, index_from=100)
    indexed.index = PrototypeIndex(DIM, index_from=100, reduce_to=reduce_to)
    p = people(900, seed=1)
    for i in range(600):
        f = views(p[i], 2, 0.05, i)
        exact.add(f, 0.0)
        indexed.add(f, 0.0)
    q = np.stack([views(p[i], 1, 0.05, 1000 + i)[0] for i in range(50)])
    ge, _ = exact.search(q, 1)
    gi, _ = indexed.search(q, 1)
    assert indexed.index.indexed and (indexed.index._proj is None) == (reduce_to == DIM)
    assert (ge[:, 0] == gi[:, 0]).mean() >= 0.95
    # a forgotten identity is never returned again, even before its row leaves the IVF
    indexed.forget(int(gi[0, 0]))
    assert int(gi[0, 0]) not in indexed.search(q[:1], 3)[0][0].tolist()
    # new identities are found at once (searched exactly until the next batch), also in a
    # forgotten identity's reused row; then a batch goes in and they are still found
    for i in range(600, 900):
        gid = indexed.add(views(p[i], 2, 0.05, i), 1.0)
        if i in (600, 700, 899):
            assert indexed.search(views(p[i], 1, 0.05, 5000 + i), 1)[0][0, 0] == gid
    assert len(indexed.index._pending) < 300  # batches went in on the way
    new_q = np.stack([views(p[i], 1, 0.05, 7000 + i)[0] for i in range(600, 900)])
    found = indexed.search(new_q, 1)[0][:, 0]
    assert (found == np.arange(601, 901)).mean() >= 0.95
    # an identity whose views change is found by its new look (the re-score reads the matrix)
    new_look = people(1, seed=77)[0]
    indexed.update(6, views(new_look, 4, 0.02, 40), 2.0)
    assert int(indexed.search(views(new_look, 1, 0.02, 99), 1)[0][0, 0]) == 6


def test_exemplars_are_bounded_and_keep_the_newest_view():
    g = IdentityGallery(DIM, exemplars=3)
    p = people(2)
    gid = g.add(views(p[0], 3, 0.1, 0), 0.0)
    g.update(gid, p[1], 1.0, "cam2")
    info = g.info(gid)
    assert info.exemplars == 3 and info.cameras == ("cam2",) and info.last_seen == 1.0
    stored = g.state()["exemplars"][0].astype(np.float32)
    assert np.max(stored @ p[1]) > 0.99


def test_retention_and_capacity_forget_anonymous_identities_first():
    g = IdentityGallery(DIM, max_identities=3, retention_s=10.0)
    p = people(5)
    a = g.add(p[0], 0.0)
    named = g.add(p[1], 0.0, name="alice")
    c = g.add(p[2], 5.0)
    d = g.add(p[3], 6.0)  # full: the least recently seen anonymous (a) goes
    assert a not in g and named in g and c in g and d in g
    assert sorted(g.expire(now=15.5)) == [c]  # 10.5 s unseen; alice is named and stays
    assert named in g and d in g
    assert g.forget(named) and named not in g and not g.forget(named)


def test_gallery_state_round_trip():
    g = IdentityGallery(DIM)
    p = people(3)
    for i in range(3):
        g.add(views(p[i], 2, 0.1, i), float(i), camera=f"cam{i}", name="bob" if i == 1 else "")
    g2 = IdentityGallery.from_state(g.state())
    assert [i.__dict__ for i in g2.identities()] == [i.__dict__ for i in g.identities()]
    assert g2.next_id == g.next_id == 4
    q = views(p[2], 1, 0.1, 50)
    np.testing.assert_allclose(g2.search(q, 2)[1], g.search(q, 2)[1], atol=1e-6)


def test_bulk_add_is_the_same_gallery_as_adding_one_by_one():
    p = people(100, seed=4)
    feats = np.stack([views(p[i], 2, 0.1, i) for i in range(100)])
    one, bulk = IdentityGallery(DIM, exemplars=3), IdentityGallery(DIM, exemplars=3)
    one.add(p[0], 0.0)
    bulk.add(p[0], 0.0)
    ids = [one.add(f, 1.0, camera="cam1") for f in feats]
    assert bulk.add_many(feats, 1.0, camera="cam1").tolist() == ids  # 2..101, across a growth
    s1, s2 = one.state(), bulk.state()
    for key in s1:
        np.testing.assert_array_equal(s1[key], s2[key], err_msg=key)
    q = views(p[7], 1, 0.1, 70)
    np.testing.assert_array_equal(bulk.search(q, 3)[0], one.search(q, 3)[0])
    assert bulk.add(p[1], 2.0) == one.add(p[1], 2.0) == 102  # bookkeeping goes on as after add()
    full = IdentityGallery(DIM, max_identities=5)
    with pytest.raises(ValueError, match="room for 5 more identities, not 6"):
        full.add_many(feats[:6], 0.0)
    with pytest.raises(ValueError, match=r"K <= 4"):
        full.add_many(np.ones((2, 5, DIM)), 0.0)
    with pytest.raises(ValueError, match="non-zero"):
        full.add_many(np.zeros((1, 1, DIM)), 0.0)
    assert len(full) == 0 and full.nbytes > 0


@pytest.mark.skipif(not HAVE_FAISS, reason="faiss-cpu not installed (requirements.txt installs it)")
def test_bulk_added_identities_reach_a_built_index():
    g = IdentityGallery(DIM, index_from=100)
    p = people(400, seed=5)
    g.add_many(p[:300, None], 0.0)
    g.search(p[:1], 1)  # builds the IVF over 300 rows
    assert g.index.indexed
    new = g.add_many(p[300:, None], 0.0)
    gids, _ = g.search(p[300:], 1)
    assert (gids[:, 0] == new).mean() >= 0.95


def _assigner(**kw) -> IdentityAssigner:
    return IdentityAssigner(IdentityConfig(**{"threshold": 0.3, "min_features": 2, **kw}), DIM)


def test_people_keep_their_global_id_across_cameras_with_a_colour_cast():
    a = _assigner()
    p = people(4, seed=3)
    cast = 0.15 * people(1, seed=9)[0]
    first = {}
    for frame in range(3):
        out = a.assign("cam1", "s1", float(frame), [TrackSummary(i + 1, views(p[i], 1, 0.2, 10 * frame + i))
                                                    for i in range(4)])
        if frame == 0:
            assert set(out.values()) == {0}  # one feature each: not enough yet
    first = out
    assert sorted(first.values()) == [1, 2, 3, 4]
    # the same people later in camera 2 (other track ids, other order, a colour cast)
    for frame in range(2):
        out = a.assign("cam2", "s1", 10.0 + frame, [TrackSummary(20 + i, views(p[i], 1, 0.2, 500 + 10 * frame + i, cast))
                                                     for i in (2, 0, 3)])
    assert out == {22: first[3], 20: first[1], 23: first[4]}
    assert a.created == 4 and a.linked == 3
    # a stranger gets a new id
    stranger = people(1, seed=77)[0]
    for frame in range(2):
        out = a.assign("cam2", "s1", 12.0 + frame, [TrackSummary(30, views(stranger, 1, 0.2, frame))])
    assert out[30] == 5


def test_one_identity_is_one_track_per_camera():
    a = _assigner()
    p = people(1, seed=4)
    a.assign("cam1", "s", 0.0, [TrackSummary(1, views(p[0], 2, 0.1, 1))])
    # a second track of the same person in the same camera while the first is alive: new id
    out = a.assign("cam1", "s", 1.0, [TrackSummary(1, views(p[0], 1, 0.1, 2)), TrackSummary(2, views(p[0], 2, 0.1, 3))])
    assert out[1] == 1 and out[2] == 2
    # once track 1 has ended, a new track of that person takes id 1 back (re-entry)
    a.forget(2)
    out = a.assign("cam1", "s", 9.0, [TrackSummary(7, views(p[0], 2, 0.1, 4))])
    assert out == {7: 1}


def test_a_tracker_restart_keeps_the_global_ids():
    a = _assigner()
    p = people(3, seed=5)
    a.assign("cam1", "run-1", 0.0, [TrackSummary(i + 1, views(p[i], 2, 0.2, i)) for i in range(3)])
    before = a.mapping("cam1")
    # the tracker restarts: ids start again at 1, in another order; a new session
    out = a.assign("cam1", "run-2", 5.0, [TrackSummary(i + 1, views(p[2 - i], 2, 0.2, 40 + i)) for i in range(3)])
    assert out == {1: before[3], 2: before[2], 3: before[1]}


def test_identity_node_restart_from_saved_state(tmp_path):
    cfg = IdentityConfig(threshold=0.3, min_features=2)
    a = IdentityAssigner(cfg, DIM)
    p = people(2, seed=6)
    a.assign("cam1", "s", 0.0, [TrackSummary(i + 1, views(p[i], 2, 0.2, i)) for i in range(2)])
    a.enrol("carol", views(people(1, seed=8)[0], 3, 0.1, 3), 0.0)
    path = save_atomic(tmp_path / "gallery.npz", a.state())
    b = IdentityAssigner.from_state(cfg, load(path))
    assert b.mapping("cam1") == a.mapping("cam1")
    assert b.gallery.gid_by_name("carol") == a.gallery.gid_by_name("carol") == 3
    assert b.assign("cam1", "s", 1.0, [TrackSummary(1, views(p[0], 1, 0.2, 9))]) == {1: 1}
    # a new identity after the restart gets a fresh id, never a reused one
    out = b.assign("cam2", "t", 2.0, [TrackSummary(5, views(people(1, seed=11)[0], 2, 0.2, 1))])
    assert out == {5: 4}


def test_forgetting_unlinks_and_enrolment_names_a_person():
    a = _assigner()
    p = people(1, seed=12)
    gid = a.enrol("dave", views(p[0], 4, 0.1, 0), 0.0)
    out = a.assign("cam1", "s", 1.0, [TrackSummary(3, views(p[0], 2, 0.2, 1))])
    assert out == {3: gid} and a.gallery.name(gid) == "dave"
    assert a.forget(gid)
    out = a.assign("cam1", "s", 2.0, [TrackSummary(3, views(p[0], 2, 0.2, 2))])
    assert out[3] not in (0, gid)  # collected afresh and enrolled anonymously under a new id
    with pytest.raises(ValueError, match="name"):
        a.enrol("", p, 0.0)


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="threshold"):
        IdentityConfig(threshold=3.0)
    with pytest.raises(ValueError, match="min_features"):
        IdentityConfig(min_features=0)


def test_save_failure_leaves_the_previous_gallery(tmp_path, monkeypatch):
    path = tmp_path / "g.npz"
    g = IdentityGallery(DIM)
    g.add(people(1)[0], 0.0, name="erin")
    save_atomic(path, g.state())

    def broken(f, **kw):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_atomic(path, g.state())
    monkeypatch.undo()
    assert IdentityGallery.from_state(load(path)).gid_by_name("erin") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["g.npz"]  # no temporary left behind


def test_a_process_killed_while_saving_never_leaves_a_broken_file(tmp_path):
    """SIGKILL a process that saves a large gallery in a loop, at several moments: every time
    the file on disk loads (the previous or the new state)."""
    path = tmp_path / "g.npz"
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from reid_tracker_ros.identity import IdentityGallery, save_atomic
        g = IdentityGallery(256)
        rng = np.random.default_rng(0)
        for i in range(2000):
            g.add(rng.normal(size=(4, 256)), float(i))
        k = 0
        while True:
            g.add(rng.normal(size=(1, 256)), float(k))
            save_atomic({str(path)!r}, g.state())
            k += 1
            print(k, flush=True)
    """)
    for delay in (0.9, 1.3, 1.7):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            assert proc.stdout.readline().strip() == "1"  # at least one save done
            time.sleep(delay)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        state = load(path)
        assert len(state["global_ids"]) > 2000
        assert IdentityGallery.from_state(state).dim == 256


def test_load_names_a_broken_file(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz"):
        load(bad)


def test_a_provisional_link_moves_when_later_views_disagree():
    """A track whose first views (a person half in view) look like someone else joins them
    provisionally; its later views are nearer its own identity and it moves there."""
    a = _assigner(threshold=0.3, min_features=1, settle_features=6)
    p = people(2, seed=13)
    a.assign("cam1", "s", 0.0, [TrackSummary(1, views(p[0], 2, 0.1, 0))])  # A -> 1
    a.assign("cam2", "s", 0.0, [TrackSummary(1, views(p[1], 2, 0.1, 1))])  # B -> 2
    a.assign("cam1", "s", 1.0, [])  # A has left camera 1
    # B walks into camera 1; the first view is closer to A's prototype
    misleading = views(0.7 * p[0] + 0.3 * p[1], 1, 0.05, 2)
    assert a.assign("cam1", "s", 2.0, [TrackSummary(5, misleading)]) == {5: 1}
    out = {}
    for k in range(3):
        out = a.assign("cam1", "s", 3.0 + k, [TrackSummary(5, views(p[1], 1, 0.1, 10 + k))])
    assert out == {5: 2} and a.relinked == 1
    # B leaves and comes back; the new track's first view looks like nobody known: a new,
    # provisional identity, dropped again when its later views find B
    a.assign("cam1", "s", 7.0, [])
    assert a.assign("cam1", "s", 8.0, [TrackSummary(6, views(people(1, seed=99)[0], 1, 0.05, 3))]) == {6: 3}
    for k in range(3):
        out = a.assign("cam1", "s", 9.0 + k, [TrackSummary(6, views(p[1], 1, 0.1, 30 + k))])
    assert out == {6: 2} and 3 not in a.gallery and a.relinked == 2


def test_views_cut_by_the_border_may_join_but_never_make_or_feed_an_identity():
    a = _assigner(threshold=0.3, min_features=1, settle_features=6)
    p = people(3, seed=21)
    a.assign("cam1", "s", 0.0, [TrackSummary(1, views(p[0], 2, 0.1, 0))])  # A -> 1
    before = a.gallery.state()["exemplars"].copy()

    def partial(person, k, seed):
        return TrackSummary(k, views(person, 1, 0.1, seed), partial=np.array([True]))

    # camera 2: A walks in from the side: joins identity 1 on a partial view, which is not stored
    assert a.assign("cam2", "s", 1.0, [partial(p[0], 5, 1)]) == {5: 1}
    np.testing.assert_array_equal(a.gallery.state()["exemplars"], before)
    # a stranger at the border makes nothing (no id yet) ...
    assert a.assign("cam2", "s", 2.0, [partial(p[0], 5, 2), partial(p[1], 6, 3)]) == {5: 1, 6: 0}
    assert len(a.gallery) == 1
    # ... and once whole views come, becomes a new identity
    out = a.assign("cam2", "s", 3.0, [TrackSummary(5, views(p[0], 1, 0.1, 4)), TrackSummary(6, views(p[1], 1, 0.1, 5))])
    assert out == {5: 1, 6: 2}
    # a track that joined on partial views of someone else, whose whole views match nobody
    # known, becomes a new identity of its own
    look_alike = views(0.8 * p[0] + 0.2 * p[2], 1, 0.02, 6)
    out = a.assign("cam2", "s", 4.0, [TrackSummary(5, views(p[0], 1, 0.1, 7)), TrackSummary(6, views(p[1], 1, 0.1, 8)),
                                      TrackSummary(7, look_alike, partial=np.array([True]))])
    assert out[7] == 1 or out[7] == 0  # identity 1 is held by track 5 in this camera
    a.assign("cam1", "s", 5.0, [])
    out = a.assign("cam2", "s", 6.0, [TrackSummary(6, views(p[1], 1, 0.1, 9)),
                                      TrackSummary(7, look_alike, partial=np.array([True]))])
    assert out[7] == 1  # track 5 ended: 7 joins 1 on a partial view
    for k in range(2):
        out = a.assign("cam2", "s", 7.0 + k, [TrackSummary(6, views(p[1], 1, 0.1, 10 + k)),
                                              TrackSummary(7, views(p[2], 1, 0.05, 20 + k))])
    assert out[7] == 3 and 3 in a.gallery and a.gallery.info(1).exemplars == 2


def test_summary_collector_flags_border_views_and_prefers_whole_ones():
    from types import SimpleNamespace

    from reid_tracker_ros.identity.summaries import SummaryCollector

    def track(tid, box, f, tentative=False):
        gallery = SimpleNamespace(last=np.full(DIM, f, np.float32))
        return SimpleNamespace(track_id=tid, is_tentative=tentative, is_deleted=False, frames_since_update=0,
                               gallery=gallery, last_box=np.array(box, float), score=0.9)

    c = SummaryCollector(period=2, per_track=1)
    assert c.observe([track(1, [50, 50, 90, 150], 1.0), track(2, [0, 40, 30, 150], 2.0),
                      track(3, [100, 40, 130, 150], 3.0, tentative=True)], (320, 240)) is None
    out = {s.track_id: s for s in c.observe([track(1, [300, 50, 320, 150], 4.0), track(2, [0, 40, 30, 150], 5.0)],
                                            (320, 240))}
    assert sorted(out) == [1, 2]  # tentative tracks are not reported
    assert out[1].features[0, 0] == 1.0 and not out[1].partial[0]  # the whole view beats the newer cut one
    assert out[2].features[0, 0] == 5.0 and out[2].partial[0]
    with pytest.raises(ValueError, match="period"):
        SummaryCollector(period=0)


def test_summaries_survive_the_message_round_trip():
    from reid_msgs.msg import TrackSummary as TrackSummaryMsg
    from reid_msgs.msg import TrackSummaryArray

    from reid_tracker_ros.ros.conversions import summaries_from_msg, summary_msgs_from

    rows = [TrackSummary(3, people(2), 0.8, np.array([False, True])), TrackSummary(4, np.zeros((0, DIM)), 0.5)]
    msg = TrackSummaryArray(camera="cam1", feature_dim=DIM, tracks=summary_msgs_from(rows, TrackSummaryMsg))
    back = summaries_from_msg(msg)
    assert [b.track_id for b in back] == [3, 4] and back[0].partial.tolist() == [False, True]
    np.testing.assert_allclose(back[0].features, people(2))
    assert back[1].features.shape == (0, DIM) and back[1].partial is None
    msg.tracks[0].partial = [1]
    with pytest.raises(ValueError, match="track 3: 1 partial flags for 2 features"):
        summaries_from_msg(msg)


def test_the_threshold_travels_with_the_model(tmp_path):
    """Cosine distances differ between models (dr's are about a quarter of dr2k's): the identity
    node takes the threshold from the features' model's metadata, also for a user's model."""
    import json
    import shutil

    from reid_tracker_ros.embedding.default_model import SHIPPED_MODEL_DIR, identity_threshold

    assert identity_threshold("reid-mobilenetv2-dr2k") == 0.04
    assert identity_threshold("reid-mobilenetv2-dr") == 0.01
    assert identity_threshold("somebody-elses-model") is None
    mine = tmp_path / "mine.onnx"
    shutil.copy(SHIPPED_MODEL_DIR / "reid_mobilenetv2_dr.onnx", mine)
    meta = json.loads((SHIPPED_MODEL_DIR / "reid_mobilenetv2_dr.onnx.json").read_text())
    meta["name"], meta["extra"]["identity_threshold"] = "my-model", 0.07
    (tmp_path / "mine.onnx.json").write_text(json.dumps(meta))
    assert identity_threshold("my-model", str(mine)) == 0.07
    assert identity_threshold("my-model") is None  # only found through the node's own 'model'
