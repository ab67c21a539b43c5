"""Camera-motion compensation: the estimator recovers a known shift, and the tracker uses it."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from reid_tracker_ros.tracking import CameraMotionEstimator, build_tracker, make_cmc
from reid_tracker_ros.types import Detections

H, W = 270, 480


def textured(seed: int = 0) -> np.ndarray:
    """A static scene with corners and gradients at several scales (BGR)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (H // 8 + 8, W // 8 + 8, 3), dtype=np.uint8)
    img = cv2.resize(small, None, fx=8, fy=8, interpolation=cv2.INTER_LINEAR)
    for _ in range(40):
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(5, 40)), y + int(rng.integers(5, 40))),
                      tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("method", ["sparse_flow", "ecc"])
def test_estimator_recovers_known_global_shift(method):
    base = textured()
    cmc = CameraMotionEstimator(method, scale=0.5)
    first = cmc.estimate(base)
    np.testing.assert_allclose(first, np.eye(2, 3))  # no previous frame: identity
    affine = cmc.estimate(shifted(base, 7.0, -4.0))
    np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.02)
    np.testing.assert_allclose(affine[:, 2], [7.0, -4.0], atol=0.6)
    # no motion: identity again
    still = cmc.estimate(shifted(base, 7.0, -4.0))
    np.testing.assert_allclose(still[:, 2], [0.0, 0.0], atol=0.3)


def test_estimator_handles_blank_frames_size_changes_and_bad_input():
    cmc = CameraMotionEstimator("sparse_flow")
    blank = np.zeros((H, W, 3), np.uint8)
    cmc.estimate(blank)
    np.testing.assert_allclose(cmc.estimate(blank), np.eye(2, 3))  # no corners: identity, no crash
    assert cmc.failures == 1
    np.testing.assert_allclose(cmc.estimate(np.zeros((100, 100), np.uint8)), np.eye(2, 3))
    with pytest.raises(ValueError, match="image"):
        cmc.estimate(np.zeros((4, 4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="CMC method"):
        CameraMotionEstimator("orb")
    assert make_cmc("none") is None


def _stationary_people() -> np.ndarray:
    return np.array([[100.0, 80.0, 140.0, 180.0], [250.0, 90.0, 290.0, 190.0],
                     [380.0, 60.0, 420.0, 160.0]])


@pytest.mark.parametrize("mode", ["frame", "affine"])
def test_cmc_keeps_ids_through_a_camera_jump(mode):
    """The camera jumps 30 px: every box moves by 30 px, beyond IoU reach of a 40 px wide box.
    Without CMC SORT starts new ids; with the motion estimated from the frames (or given as
    an affine), the predicted boxes move along and every id survives."""
    base = textured(1)
    people = _stationary_people()
    ids = {}
    for cmc in ("none", "sparse_flow"):
        tracker = build_tracker({"strategy": "sort", "n_init": 1, "cmc": cmc})
        seen = []
        for t in range(8):
            dx = 30.0 if t >= 5 else 0.0
            boxes = people + [dx, 0.0, dx, 0.0]
            dets = Detections(boxes, np.full(3, 0.9), np.zeros(3, np.int64))
            if mode == "frame":
                snap = tracker.update(dets, frame=shifted(base, dx, 0.0))
            else:
                motion = np.array([[1.0, 0.0, 30.0 if t == 5 else 0.0], [0.0, 1.0, 0.0]])
                snap = tracker.update(dets, camera_motion=motion if cmc != "none" else None)
            live = snap.frames_since_update == 0
            seen.append(sorted(snap.track_ids[live].tolist()))
        ids[cmc] = seen
    assert ids["sparse_flow"][-1] == ids["sparse_flow"][0] == [1, 2, 3]
    assert set(ids["none"][-1]).isdisjoint(ids["none"][0])  # all identities switched
