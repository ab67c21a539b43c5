"""Scoring several cameras with global ids and the offline multi-camera loop (no ROS): ground
truth scores perfectly only with shared ids; features that carry each person's identity link
people across cameras; features that carry none never merge people (appearance that never
hurts), and a provisional link moves when later views disagree."""
from __future__ import annotations

import numpy as np
import pytest

from reid_tracker_ros.identity import IdentityConfig
from reid_tracker_ros.mot.io import read_ground_truth
from reid_tracker_ros.mot.multicam import MultiCamConfig, render_multicam
from reid_tracker_ros.mot.multicam_eval import (CAMERA_ID_STRIDE, global_ids_of_people, run_offline, score_cameras,
                                                unique_ids)
from reid_tracker_ros.mot.offline import load_sequence
from reid_tracker_ros.tracking.costs import iou_matrix
from reid_tracker_ros.tracking.tracker import build_tracker
from reid_tracker_ros.types import tlwh_to_xyxy

DIM = 64


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory):
    out = tmp_path_factory.mktemp("mceval")
    cfg = MultiCamConfig(frames=120, width=320, height=180, people=6, overlap=0.5, gap_m=0.0)
    return render_multicam(out, "MCE", cfg, seed=3)


def gt_rows(seq) -> tuple[np.ndarray, np.ndarray]:
    gt = read_ground_truth(seq / "gt" / "gt.txt")
    gt = gt[gt[:, 6] > 0]
    return np.c_[gt[:, :6], np.ones(len(gt))], gt[:, 1].astype(np.int64)


def test_unique_ids_keep_global_ids_and_separate_cameras():
    rows = np.array([[1, 5, 0, 0, 10, 10, 1], [1, 6, 20, 0, 10, 10, 1], [2, 5, 0, 0, 10, 10, 1]], float)
    out = unique_ids(rows, camera=1, global_ids=np.array([7, 0, 7]))
    assert out[:, 1].tolist() == [7, 2 * CAMERA_ID_STRIDE + 6, 7]
    # one global id twice in a frame: the second row keeps a camera-local id (TrackEval refuses duplicates)
    dup = unique_ids(rows[:2], camera=0, global_ids=np.array([7, 7]))
    assert dup[:, 1].tolist() == [7, CAMERA_ID_STRIDE + 6]
    assert unique_ids(rows, camera=0)[:, 1].tolist() == [CAMERA_ID_STRIDE + 5, CAMERA_ID_STRIDE + 6,
                                                         CAMERA_ID_STRIDE + 5]


def test_ground_truth_scores_perfectly_only_with_shared_ids(two_cameras, tmp_path):
    rows, ids = zip(*(gt_rows(s) for s in two_cameras))
    res = score_cameras(two_cameras, list(rows), list(ids), tmp_path)
    assert res["cameras"] == ["MCE-cam1", "MCE-cam2"]
    assert all(m["IDF1"] == pytest.approx(100.0) for m in res["per_camera"].values())
    assert res["IDF1_global"] == pytest.approx(100.0) and res["HOTA_global"] > 99.0
    assert res["IDF1_global_no_sharing"] < 95.0  # people seen by both cameras count twice without sharing
    short = score_cameras(two_cameras, [r[r[:, 0] <= 60] for r in rows],
                          [i[r[:, 0] <= 60] for r, i in zip(rows, ids)], tmp_path / "short", lengths=[60, 60])
    assert short["IDF1_global"] == pytest.approx(100.0)


def _features(seqs, people: dict[int, np.ndarray], noise: float, seed: int) -> None:
    """Each detection's feature: the look of the person it covers (gt IoU >= 0.5) plus noise;
    false positives get a random look."""
    rng = np.random.default_rng(seed)
    for seq in seqs:
        gt = read_ground_truth(seq.info.path / "gt" / "gt.txt")
        feats = []
        for f, boxes in enumerate(seq.boxes):
            g = gt[gt[:, 0] == f + 1]
            e = rng.normal(size=(len(boxes), DIM)).astype(np.float32)
            if len(boxes) and len(g):
                iou = iou_matrix(boxes, tlwh_to_xyxy(g[:, 2:6]))
                for i in range(len(boxes)):
                    j = int(iou[i].argmax())
                    if iou[i, j] >= 0.5:
                        e[i] = people[int(g[j, 1])] + noise * e[i] / np.sqrt(DIM)
            feats.append(e / np.linalg.norm(e, axis=1, keepdims=True))
        seq.embeddings = feats


def _run(two_cameras, people, noise, threshold):
    seqs = [load_sequence(s) for s in two_cameras]
    _features(seqs, people, noise, seed=1)
    rows, gids, assigner = run_offline(seqs, [build_tracker("botsort") for _ in seqs],
                                       IdentityConfig(threshold=threshold))
    return rows, gids, assigner


def test_identity_features_link_people_across_cameras(two_cameras, tmp_path):
    rng = np.random.default_rng(0)
    people = {p: v / np.linalg.norm(v) for p, v in enumerate(rng.normal(size=(10, DIM)), start=1)}
    rows, gids, assigner = _run(two_cameras, people, noise=0.3, threshold=0.3)
    res = score_cameras(two_cameras, rows, gids, tmp_path)
    assert res["IDF1_global"] > res["IDF1_global_no_sharing"] + 5.0, res
    assert res["IDF1_global_over_mean"] >= 0.9, res
    assert len(assigner.gallery) <= 8  # 6 people (a track split now and then may add one)
    # every person seen by both cameras carries one global id in both
    both = [global_ids_of_people(s, r, g, 1, 120) for s, r, g in zip(two_cameras, rows, gids)]
    shared = set(both[0]) & set(both[1])
    assert shared and all(both[0][p] == both[1][p] for p in shared)


def test_features_without_identity_never_merge_people(two_cameras, tmp_path):
    """Noise features (every crop alike or random): no track takes another's identity, so the
    global score equals what the cameras get alone."""
    rng = np.random.default_rng(0)
    people = {p: rng.normal(size=DIM) * 0.0 for p in range(1, 11)}  # no look at all: pure noise
    rows, gids, assigner = _run(two_cameras, people, noise=1.0, threshold=0.04)
    res = score_cameras(two_cameras, rows, gids, tmp_path)
    assert assigner.linked == 0 and assigner.relinked == 0
    owners = {}
    for cam, (r, g) in enumerate(zip(rows, gids)):
        for tid, gid in zip(r[:, 1].astype(int).tolist(), g.tolist()):
            if gid:
                owners.setdefault(gid, set()).add((cam, tid))
    assert owners and all(len(o) == 1 for o in owners.values())  # one global id, one track
    # what is lost: each track's first rows, reported before its first global id came back
    assert res["IDF1_global"] >= res["IDF1_global_no_sharing"] - 3.0, res
