"""Multi-camera sets from the second renderer (mot/multicam.py): MOTChallenge folders per camera
with global gt ids, determinism, one look per person under per-camera colour casts, config
validation, and people who leave one view and enter another after an unseen gap."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from reid_tracker_ros.mot.io import read_detections, read_ground_truth, read_seqinfo
from reid_tracker_ros.mot.multicam import MultiCamConfig, MultiCamWorld, main, render_multicam

SMALL = dict(frames=40, width=320, height=180, people=6)
ARGS = ["--name", "MC-T", "--frames", "40", "--width", "320", "--height", "180", "--people", "6",
        "--overlap", "0.5", "--gap", "0", "--seed", "3"]


@pytest.fixture(scope="module")
def mc_set(tmp_path_factory):
    """A small two-camera set written through the CLI, and its gt per camera."""
    out = tmp_path_factory.mktemp("mc")
    assert main([str(out), *ARGS]) == 0
    folders = [out / "MC-T-cam1", out / "MC-T-cam2"]
    return out, folders, [read_ground_truth(f / "gt" / "gt.txt") for f in folders]


def test_each_camera_is_a_valid_motchallenge_folder(mc_set, capsys):
    out, folders, gts = mc_set
    for k, (seq, gt) in enumerate(zip(folders, gts), start=1):
        info = read_seqinfo(seq)
        assert (info.name, info.seq_length, info.im_width, info.im_height) == (f"MC-T-cam{k}", 40, 320, 180)
        assert len(list((seq / "img1").glob("*.jpg"))) == 40
        assert cv2.imread(str(seq / "img1" / "000001.jpg")).shape == (180, 320, 3)
        assert len(gt) > 20 and gt[:, 0].min() >= 1 and gt[:, 0].max() <= 40
        assert ((gt[:, 8] >= 0) & (gt[:, 8] <= 1)).all() and (gt[:, 7] == 1).all()
        det = read_detections(seq / "det" / "det.txt")
        scores = np.concatenate([scores for _, scores in det.values()])
        assert len(scores) > 0.5 * len(gt) and scores.min() >= 0.1 and scores.max() <= 1.0  # yolo model
    meta = json.loads((out / "MC-T-cameras.json").read_text())
    assert [c["folder"] for c in meta["cameras"]] == ["MC-T-cam1", "MC-T-cam2"] and meta["seed"] == 3
    assert len(meta["people"]) == 6 and meta["config"]["cameras"] == 2


def test_gt_ids_are_global_across_cameras(mc_set):
    out, _, gts = mc_set
    seen = [set(gt[gt[:, 8] > 0, 1].astype(int)) for gt in gts]
    assert len(seen[0] & seen[1]) >= 2, seen
    assert seen[0] | seen[1] <= set(range(1, 7))
    meta = json.loads((out / "MC-T-cameras.json").read_text())
    assert [set(c["ids"]) for c in meta["cameras"]] == seen


def test_same_seed_same_set_other_seed_other(tmp_path):
    cfg = MultiCamConfig(**{**SMALL, "frames": 12})
    a = render_multicam(tmp_path / "a", "S", cfg, seed=5)
    b = render_multicam(tmp_path / "b", "S", cfg, seed=5)
    c = render_multicam(tmp_path / "c", "S", cfg, seed=6)
    for fa, fb, fc in zip(a, b, c):
        assert (fa / "gt" / "gt.txt").read_text() == (fb / "gt" / "gt.txt").read_text()
        assert (fa / "det" / "det.txt").read_text() == (fb / "det" / "det.txt").read_text()
        assert (fa / "img1" / "000007.jpg").read_bytes() == (fb / "img1" / "000007.jpg").read_bytes()
        assert (fa / "img1" / "000007.jpg").read_bytes() != (fc / "img1" / "000007.jpg").read_bytes()


def _torso_colours(seq, gt) -> dict[int, np.ndarray]:
    """Mean BGR of the torso strip of each well-visible person, over their frames."""
    out: dict[int, list] = {}
    for f, tid, l, t, w, h, *_, vis in gt:
        if vis < 0.8 or h < 20:
            continue
        img = cv2.imread(str(seq / "img1" / f"{int(f):06d}.jpg")).astype(np.float64)
        x0, x1 = int(l + 0.35 * w), int(l + 0.65 * w) + 1
        y0, y1 = int(t + 0.25 * h), int(t + 0.45 * h) + 1
        if 0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0]:
            out.setdefault(int(tid), []).append(img[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))
    return {tid: np.mean(c, axis=0) for tid, c in out.items()}


def test_one_look_per_person_under_per_camera_colour_casts(mc_set):
    out, folders, gts = mc_set
    c1, c2 = (_torso_colours(seq, gt) for seq, gt in zip(folders, gts))
    shared = sorted(set(c1) & set(c2))
    assert len(shared) >= 2
    same = [np.linalg.norm(c1[i] - c2[i]) for i in shared]
    other = [np.linalg.norm(c1[i] - c2[j]) for i in shared for j in c2 if j != i]
    assert np.median(same) < np.median(other), (same, other)
    # the cameras' looks differ: white balance, background, whole-image colour
    meta = json.loads((out / "MC-T-cameras.json").read_text())
    cams = meta["cameras"]
    assert cams[0]["cast_bgr"] != cams[1]["cast_bgr"] and cams[0]["background"] != cams[1]["background"]
    means = [cv2.imread(str(seq / "img1" / "000001.jpg")).reshape(-1, 3).mean(axis=0) for seq in folders]
    assert np.abs(means[0] - means[1]).max() > 5.0


@pytest.mark.parametrize("field, value", [("cameras", 1), ("cameras", 5), ("frames", 1), ("fps", 0.0),
                                          ("people", 0), ("width", 10), ("overlap", 1.0), ("gap_m", -1.0),
                                          ("offsets_s", (0.0,)), ("offsets_s", (0.0, -2.0)),
                                          ("cross_share", 1.5), ("det_model", "nope")])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"MultiCamConfig.{field} "):
        MultiCamConfig(**{field: value})


def test_cli_rejects_a_bad_config(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--cameras", "7"])
    assert "MultiCamConfig.cameras" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_world_people_leave_cam1_and_later_enter_cam2(seed):
    cfg = MultiCamConfig()
    world = MultiCamWorld(cfg, seed)
    fps = cfg.fps
    cams_seeing = [sum(world.seen(p.walker, k).sum() >= 0.5 * fps for k in range(cfg.cameras))
                   for p in world.people]
    assert sum(c >= 2 for c in cams_seeing) >= cfg.people / 2
    assert 1 in cams_seeing  # some people stay in one camera
    hops = [t for t in world.transitions() if (t["from"], t["to"]) == (1, 2)]
    assert hops and all(t["entered_s"] - t["left_s"] >= 1.0 for t in hops), hops
    # between leaving cam1 and entering cam2 nobody sees that person (disjoint regions)
    t = hops[0]
    walker = next(p.walker for p in world.people if p.walker.track_id == t["id"])
    gap = slice(int(round(t["left_s"] * fps)), int(round(t["entered_s"] * fps)))
    assert not any(world.seen(walker, k)[gap].any() for k in range(cfg.cameras))
    # one look object per person, whatever the camera
    assert len({id(p.walker.look) for p in world.people}) == cfg.people


def test_offsets_and_more_cameras_keep_regions_apart_and_ids_shared():
    cfg = MultiCamConfig(cameras=3, offsets_s=(0.0, 4.0, 8.0))
    world = MultiCamWorld(cfg, seed=2)
    xs = [r.to_world(np.array([0.0, (r.near + r.far) / 2]))[0] for r in world.rigs]
    assert xs == sorted(xs) and min(np.diff(xs)) > cfg.gap_m
    assert [r.offset_frames for r in world.rigs] == [0, 60, 120]
    cams_seeing = [sum(world.seen(p.walker, k).sum() >= 0.5 * cfg.fps for k in range(3)) for p in world.people]
    assert sum(c >= 2 for c in cams_seeing) >= cfg.people / 2
