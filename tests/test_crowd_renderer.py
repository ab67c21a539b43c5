"""The second renderer (mot/crowd.py): determinism, gt boxes and visibility that match the drawn
pixels, camera-motion gt transform, and MOTChallenge folders our readers and TrackEval accept."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from reid_tracker_ros.mot.crowd import (CrowdConfig, CrowdScene, Pose, composite, draw_person, mask_box,
                                        random_look, render_sequence, transform_boxes, window_affine)
from reid_tracker_ros.mot.detnoise import noisy_detections, write_detections
from reid_tracker_ros.mot.io import ground_truth_by_frame, read_detections, read_seqinfo, write_results
from reid_tracker_ros.mot.metrics import evaluate_mot

TINY = CrowdConfig(width=320, height=240, fps=15, frames=12, people=6, props=2)


def _label_box(label: np.ndarray, value: int) -> np.ndarray | None:
    ys, xs = np.nonzero(label == value)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], np.float64)


def test_same_seed_same_sequence_other_seed_other(tmp_path):
    a, gt_a = render_sequence(tmp_path / "a", "S", TINY, seed=3)
    b, gt_b = render_sequence(tmp_path / "b", "S", TINY, seed=3)
    _, gt_c = render_sequence(tmp_path / "c", "S", TINY, seed=4)
    np.testing.assert_array_equal(gt_a, gt_b)
    for f in (1, 6, 12):
        assert (a / "img1" / f"{f:06d}.jpg").read_bytes() == (b / "img1" / f"{f:06d}.jpg").read_bytes()
    assert gt_a.shape != gt_c.shape or not np.array_equal(gt_a, gt_c)
    assert (a / "gt" / "gt.txt").read_text() == (b / "gt" / "gt.txt").read_text()


def test_gt_boxes_and_visibility_match_the_drawn_pixels():
    cfg = replace(TINY, people=10, width=480, height=270)
    scene = CrowdScene(cfg, seed=11)
    full = partial = 0
    for f in range(0, cfg.frames, 3):
        image, rows, label = scene.frame(f, want_label=True)
        assert image.shape == (cfg.height, cfg.width, 3)
        for row in rows:
            box, vis, lv = np.array(row[2:6]), row[8], row[9]
            assert 0.0 <= vis <= 1.0 and row[6] == (1 if vis > 0 else 0)
            seen = _label_box(label, lv)
            if vis == 1.0:  # every pixel visible: the visible extent is the amodal box
                np.testing.assert_allclose(seen, box, atol=0)
                full += 1
            elif seen is not None:  # visible pixels lie inside the amodal box
                assert seen[0] >= box[0] and seen[1] >= box[1]
                assert seen[0] + seen[2] <= box[0] + box[2] and seen[1] + seen[3] <= box[1] + box[3]
                assert (label == lv).sum() > 0 and vis > 0
                partial += 1
    assert full > 5 and partial > 0, (full, partial)  # the crowd occludes some, not all


def test_visibility_counts_the_pixels_a_nearer_person_covers():
    rng = np.random.default_rng(0)
    far = draw_person(random_look(rng), Pose(100, 150, 100, 1.0, True, 0.3, 1.0))
    near = draw_person(random_look(rng), Pose(112, 170, 120, -1.0, False, 1.2, 1.0))
    frame = np.zeros((200, 240, 3), np.uint8)
    label = np.zeros((200, 240), np.int32)
    total_far = composite(frame, label, *far, value=1)
    composite(frame, label, *near, value=2)
    # expected: far mask pixels not under the near mask
    canvas_far = np.zeros((200, 240), bool)
    canvas_near = np.zeros((200, 240), bool)
    for canvas, (_, mask, x0, y0) in ((canvas_far, far), (canvas_near, near)):
        h, w = mask.shape
        canvas[y0:y0 + h, x0:x0 + w] |= mask
    assert total_far == canvas_far.sum()
    assert (label == 1).sum() == (canvas_far & ~canvas_near).sum() < total_far
    assert (label == 2).sum() == canvas_near.sum()
    np.testing.assert_array_equal(mask_box(far[1], far[2], far[3]), _label_box(canvas_far.astype(int), 1))


def test_window_affine_and_box_transform_agree_with_point_mapping():
    cfg = replace(TINY, canvas_scale=1.4, pan_px=60, zoom=0.3, shake_px=4)
    shake = np.random.default_rng(1).normal(0, 4, (cfg.frames, 2))
    canvas = (int(cfg.width * 1.4), int(cfg.height * 1.4))
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [200.0, 100.0, 15.0, 40.0]])
    for f in range(cfg.frames):
        A = window_affine(f, cfg, shake, canvas)
        # the window stays inside the canvas: its corners map inside the output image
        inv = cv2.invertAffineTransform(A)
        corners = cv2.transform(np.array([[[0, 0], [cfg.width, cfg.height]]], np.float64), inv)[0]
        assert (corners >= -1e-6).all() and corners[1, 0] <= canvas[0] + 1e-6 and corners[1, 1] <= canvas[1] + 1e-6
        out = transform_boxes(boxes, A)
        tl = cv2.transform(boxes[None, :, :2], A)[0]
        br = cv2.transform((boxes[:, :2] + boxes[:, 2:])[None], A)[0]
        np.testing.assert_allclose(out[:, :2], tl, atol=1e-9)
        np.testing.assert_allclose(out[:, :2] + out[:, 2:], br, atol=1e-9)


def test_camera_motion_gt_follows_the_people_in_the_output_frames():
    cfg = replace(TINY, width=400, height=300, people=5, props=0, canvas_scale=1.4, pan_px=120, zoom=0.3,
                  shake_px=5)
    scene = CrowdScene(cfg, seed=5)
    checked = 0
    offsets = []
    for f in range(cfg.frames):
        _, rows, label = scene.frame(f, want_label=True)
        A = scene.affine(f)
        offsets.append(A[:, 2].copy())
        for row in rows:
            box, vis = np.array(row[2:6]), row[8]
            if vis < 1.0 or box[0] < 1 or box[1] < 1 or box[0] + box[2] > cfg.width - 1 \
                    or box[1] + box[3] > cfg.height - 1:
                continue
            seen = _label_box(label, row[9])
            # nearest-neighbour resampling of the label map: within one output pixel per scale step
            tol = 1.0 + A[0, 0]
            np.testing.assert_allclose(seen, box, atol=tol)
            checked += 1
    assert checked >= 10
    assert np.ptp(np.array(offsets), axis=0).max() > 10  # the window really moved


def test_folder_is_readable_by_io_and_scored_by_trackeval(tmp_path):
    seq, gt = render_sequence(tmp_path, "CROWD-TINY", TINY, seed=8)
    det = noisy_detections(gt, model="yolo", rng=np.random.default_rng(0), image_size=(TINY.width, TINY.height))
    write_detections(seq / "det" / "det.txt", det)
    info = read_seqinfo(seq)
    assert (info.seq_length, info.im_width, info.im_height, info.frame_rate) == (12, 320, 240, 15.0)
    assert len(list((seq / "img1").glob("*.jpg"))) == 12
    dets = read_detections(seq / "det" / "det.txt")
    assert dets.skipped == 0 and set(dets) <= set(range(1, 13)) and sum(len(v[1]) for v in dets.values()) == len(det)
    by_frame = ground_truth_by_frame(seq / "gt" / "gt.txt")
    assert sum(len(v[1]) for v in by_frame.values()) == int((gt[:, 6] != 0).sum())
    # the ground truth as a tracker result scores perfectly; a shuffled-id one does not
    perfect = tmp_path / "perfect.txt"
    write_results(perfect, np.column_stack([gt[:, :6], np.ones(len(gt))]))
    m = evaluate_mot(seq, perfect)
    assert m["HOTA"] > 99.0 and m["IDSW"] == 0
    shuffled = gt[:, :6].copy()
    shuffled[:, 1] += 1000 * (shuffled[:, 0] % 3)  # a new identity every frame, cycling
    bad = tmp_path / "bad.txt"
    write_results(bad, np.column_stack([shuffled, np.ones(len(gt))]))
    assert evaluate_mot(seq, bad)["IDF1"] < m["IDF1"] - 20


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="people"):
        CrowdConfig(people=0)
    with pytest.raises(ValueError, match="image_mode"):
        CrowdConfig(image_mode="colour")
    with pytest.raises(ValueError, match="background"):
        CrowdConfig(background="moon")
