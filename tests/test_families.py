"""Validation families (mot/families.py) and detector noise models (mot/detnoise.py): split
hygiene, statistics of each score/noise model, real trajectories kept, uninformative frames,
and the generation cache."""
from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from reid_tracker_ros.mot import families
from reid_tracker_ros.mot.crowd import render_along_boxes
from reid_tracker_ros.mot.detnoise import DETECTOR_MODELS, get_model, noisy_detections
from reid_tracker_ros.mot.io import read_detections, read_ground_truth, read_seqinfo


def _synthetic_gt(frames: int = 400, people: int = 8, seed: int = 0) -> np.ndarray:
    """People of varied size and visibility on a straight walk, every frame."""
    rng = np.random.default_rng(seed)
    rows = []
    for pid in range(1, people + 1):
        h = rng.uniform(40, 200)
        x, y, vx = rng.uniform(50, 700), rng.uniform(50, 300), rng.uniform(-2, 2)
        for f in range(1, frames + 1):
            vis = float(np.clip(0.5 + 0.5 * np.sin(f / 23.0 + pid), 0, 1))
            cx = 20 + abs((x + vx * f) % 1300 - 650)  # bounce between the image borders
            rows.append((f, pid, cx, y, h * 0.4, h, 1, 1, round(vis, 3)))
    return np.array(rows)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    return inter / (a[:, 2:].prod(1)[:, None] + b[:, 2:].prod(1)[None] - inter)


def _match(det: np.ndarray, gt: np.ndarray):
    """Per gt row: best-IoU detection of its frame (IoU, det row index or -1)."""
    best = np.zeros(len(gt))
    idx = -np.ones(len(gt), int)
    for f in np.unique(gt[:, 0]):
        g = np.flatnonzero(gt[:, 0] == f)
        d = np.flatnonzero(det[:, 0] == f)
        if len(d) == 0:
            continue
        iou = _iou(gt[g, 2:6], det[d, 2:6])
        best[g] = iou.max(1)
        idx[g] = d[iou.argmax(1)]
    return best, idx


def test_every_family_has_dev_and_test_splits_that_differ():
    for fam in families.FAMILIES:
        dev, test = families.specs("dev", [fam]), families.specs("test", [fam])
        assert dev and test and len(test) <= 3, fam
        assert not {s.seed for s in dev} & {s.seed for s in test}
        assert not {s.name for s in dev} & {s.name for s in test}
        # settings differ too, not only seeds
        key = lambda s: json.dumps([s.source, s.det_model, s.crowd, s.image_mode], sort_keys=True)  # noqa: E731
        assert not {key(s) for s in dev} & {key(s) for s in test}, fam
    real_sources = {split: {s.source for s in families.specs(split, ["real", "noappearance"]) if s.source != "crowd"}
                    for split in families.SPLITS}
    assert real_sources == {"dev": {"tud-campus"}, "test": {"tud-stadtmitte"}}
    with pytest.raises(ValueError, match="split"):
        families.specs("train")
    with pytest.raises(ValueError, match="families"):
        families.specs("test", ["nope"])


def test_yolo_scores_are_probabilities_that_rise_with_visibility_and_size():
    gt = _synthetic_gt()
    det = noisy_detections(gt, "yolo", np.random.default_rng(1), image_size=(960, 540))
    s = det[:, 6]
    assert s.min() >= DETECTOR_MODELS["yolo"].min_score and s.max() <= 1.0
    iou, idx = _match(det, gt)
    hit = iou > 0.5
    vis, h, score = gt[hit, 8], gt[hit, 5], det[idx[hit], 6]
    assert np.corrcoef(vis, score)[0, 1] > 0.3
    assert np.corrcoef(np.log(h), score)[0, 1] > 0.05
    # recall falls with visibility
    assert hit[gt[:, 8] > 0.8].mean() > 0.85 > 0.3 > hit[gt[:, 8] < 0.15].mean()


def test_dpm_scores_are_unbounded_with_many_negatives():
    gt = _synthetic_gt()
    det = noisy_detections(gt, "dpm", np.random.default_rng(2), image_size=(960, 540))
    s = det[:, 6]
    assert (s < 0).mean() > 0.1 and s.max() > 1.0 and s.min() >= -1.0


def test_false_positives_duplicates_and_jitter_follow_the_model():
    gt = _synthetic_gt(frames=500)
    frames = 500
    m = get_model("dpm")
    det = noisy_detections(gt, m, np.random.default_rng(3), image_size=(4000, 4000))
    iou, idx = _match(det, gt)
    matched = np.zeros(len(det), bool)
    matched[idx[iou > 0.3]] = True
    # unmatched rows are false positives (placed anywhere) and duplicates; FP share ~ the model's rate
    extra = (~matched).sum() / frames
    assert 0.6 * m.fp_per_frame < extra < 1.6 * (m.fp_per_frame + m.dup_rate * len(gt) / frames)
    # duplicates: two detections on one person in a frame
    dup_pairs = 0
    for f in range(1, frames + 1):
        d = det[det[:, 0] == f, 2:6]
        if len(d) > 1:
            ov = _iou(d, d)
            np.fill_diagonal(ov, 0)
            dup_pairs += int((ov > 0.4).sum() // 2)
    assert dup_pairs > 0.3 * m.dup_rate * len(gt)
    # box jitter scales with box size: centre error / width near the model's jitter
    good = iou > 0.5
    err = np.abs((det[idx[good], 2] + det[idx[good], 4] / 2) - (gt[good, 2] + gt[good, 4] / 2)) / gt[good, 4]
    assert 0.3 * m.jitter < np.median(err) < 2.0 * m.jitter


def test_misses_come_in_bursts():
    gt = _synthetic_gt(frames=600)
    gt[:, 8] = 1.0  # fully visible: only base misses and bursts remain
    runs = {}
    for name in ("yolo", "bursty"):
        m = replace(get_model(name), fp_per_frame=0.0, dup_rate=0.0)
        det = noisy_detections(gt, m, np.random.default_rng(4), image_size=(4000, 4000))
        iou, _ = _match(det, gt)
        missed = iou < 0.3
        lengths = []
        for pid in np.unique(gt[:, 1]):
            seq = missed[gt[:, 1] == pid].astype(int)
            edges = np.diff(np.concatenate([[0], seq, [0]]))
            lengths += list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
        runs[name] = (np.mean(lengths), missed.mean())
    assert runs["bursty"][0] > 2 * runs["yolo"][0] and runs["bursty"][0] > 4.0
    assert runs["bursty"][1] > runs["yolo"][1]


def test_hidden_people_are_never_detected():
    gt = _synthetic_gt(frames=50)
    gt[:, 8] = 0.0
    m = replace(get_model("frcnn"), fp_per_frame=0.0)
    assert len(noisy_detections(gt, m, np.random.default_rng(0))) == 0
    gt[:, 8], gt[:, 6] = 1.0, 0
    assert len(noisy_detections(gt, m, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="detector model"):
        noisy_detections(gt, "yolov99")


def test_real_trajectories_keep_their_boxes_and_noise_frames_carry_no_identity(tmp_path):
    real = families.real_ground_truth("tud-campus")
    assert real.shape[0] == 359 and real[:, 0].max() == 71
    short = real[real[:, 0] <= 6]
    seq, gt = render_along_boxes(tmp_path, "REAL", short, 640, 480, 25.0, seed=1)
    np.testing.assert_allclose(gt[:, :6], short[:, :6])
    np.testing.assert_allclose(read_ground_truth(seq / "gt" / "gt.txt")[:, 2:6], short[:, 2:6], atol=0.01)
    assert (gt[:, 8] >= 0).all() and (gt[:, 8] <= 1).all() and (gt[:, 8] < 1).any()  # TUD-Campus overlaps
    # rendered people differ from each other; noise frames make every crop statistically alike
    img = cv2.imread(str(seq / "img1" / "000001.jpg"))
    crops = [img[int(t):int(t + h), int(l):int(l + w)].reshape(-1, 3).mean(0)
             for _, _, l, t, w, h, *_ in gt[gt[:, 0] == 1] if l >= 0 and t >= 0]
    assert np.ptp(np.array(crops), axis=0).max() > 10
    seq_n, _ = render_along_boxes(tmp_path, "NOISE", short, 640, 480, 25.0, seed=1, image_mode="noise")
    img_n = cv2.imread(str(seq_n / "img1" / "000001.jpg"))
    crops = [img_n[int(t):int(t + h), int(l):int(l + w)].reshape(-1, 3).mean(0)
             for _, _, l, t, w, h, *_ in gt[gt[:, 0] == 1] if l >= 0 and t >= 0]
    assert np.ptp(np.array(crops), axis=0).max() < 6
    assert read_seqinfo(seq_n).seq_length == 6


def test_split_generation_is_cached_and_regenerated_when_stale(tmp_path, monkeypatch):
    tiny = (
        families._crowd("crowd", "test", "C-T", 5, "yolo", width=160, height=120, fps=10, frames=5, people=3),
        families._crowd("cammotion", "test", "M-T", 6, "dpm", width=160, height=120, fps=10, frames=5, people=3,
                        canvas_scale=1.3, pan_px=20, shake_px=2),
        families._crowd("noappearance", "dev", "N-D", 7, "bursty", image_mode="grey", width=160, height=120,
                        fps=10, frames=5, people=3),
    )
    monkeypatch.setattr(families, "SPECS", tiny)
    paths = families.ensure_split(tmp_path, "test", progress=False)
    assert [p.name for p in paths] == ["C-T", "M-T"]
    assert paths[1] == tmp_path / "test" / "cammotion" / "M-T"
    for p in paths:
        assert families.is_current(p, next(s for s in tiny if s.name == p.name))
        assert families.family_of(p) in ("crowd", "cammotion")
        assert read_detections(p / "det" / "det.txt").skipped == 0
    stamp_time = (paths[0] / "gt" / "gt.txt").stat().st_mtime_ns
    assert families.ensure_split(tmp_path, "test", progress=False) == paths
    assert (paths[0] / "gt" / "gt.txt").stat().st_mtime_ns == stamp_time  # reused
    (paths[0] / "img1" / "000003.jpg").unlink()  # incomplete -> regenerated
    families.ensure_split(tmp_path, "test", families=["crowd"], progress=False)
    assert (paths[0] / "img1" / "000003.jpg").is_file()
    grey = families.ensure_split(tmp_path, "dev", progress=False)[0]
    assert cv2.imread(str(grey / "img1" / "000002.jpg")).std() == 0  # all crops alike
    out = families.main([str(tmp_path), "--split", "test", "--quiet"])
    assert out == 0


def test_cross_camera_reid_set_reads_as_market1501_with_distinct_cameras(tmp_path):
    from reid_training.data import load_dataset

    from reid_tracker_ros.mot.crowd_reid import write_reid_set

    info = write_reid_set(tmp_path / "set", n_train=4, n_test=3, cameras=("c1", "c2"), per_camera=3, seed=0,
                          progress=False)
    assert info["images"] == {"bounding_box_train": 24, "bounding_box_test": 12, "query": 6}
    ds = load_dataset(tmp_path / "set")
    train_ids = {r.pid for r in ds.train}
    test_ids = {r.pid for r in ds.query} | {r.pid for r in ds.gallery}
    assert len(train_ids) == 4 and set(ds.train_pid_map) == {1, 2, 3, 4} and test_ids == {5, 6, 7}
    assert {r.camid for r in ds.query} == {0, 1}
    # every query has a cross-camera match in the gallery
    for q in ds.query:
        assert any(g.pid == q.pid and g.camid != q.camid for g in ds.gallery)
    # the cameras differ in colour cast: mean red/blue ratio of c2 (warm) above c1's
    imgs = {c: np.stack([cv2.imread(r.path) for r in ds.train if r.camid == c]).astype(float) for c in (0, 1)}
    assert all(v.shape[1:] == (128, 64, 3) for v in imgs.values())
    ratio = {c: imgs[c][..., 2].mean() / imgs[c][..., 0].mean() for c in imgs}
    assert ratio[1] > ratio[0] * 1.2
    with pytest.raises(ValueError, match="cameras"):
        write_reid_set(tmp_path / "bad", cameras=("c1",), progress=False)


def test_by_family_groups_generated_and_foreign_folders(tmp_path):
    spec = families._crowd("cammotion", "test", "M", 1, "yolo", width=160, height=120, fps=10, frames=3, people=2,
                           canvas_scale=1.2, shake_px=1)
    seq = families.generate(tmp_path, spec, progress=False)
    other = tmp_path / "MOT17-02"
    other.mkdir()
    assert families.by_family([seq, other]) == {"cammotion": [seq], "other": [other]}
