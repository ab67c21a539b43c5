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


def zoomed(img: np.ndarray, zoom: float, dx: float, dy: float) -> np.ndarray:
    """The scene seen by a camera that zoomed about the image centre and moved (dx, dy)."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, zoom)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("zoom, dx, dy", [(1.0, 9.0, -5.0), (1.03, -6.0, 4.0)])
def test_downscaled_estimate_matches_full_resolution(zoom, dx, dy):
    """The quarter-scale estimate (the default) gives the same warp as half and full scale:
    the motion of a whole frame does not need full resolution."""
    base = cv2.resize(textured(3), None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)  # 960x540
    moved = zoomed(base, zoom, dx, dy)
    h, w = base.shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], float).T
    warps = {}
    for scale in (1.0, 0.5, 0.25):
        cmc = CameraMotionEstimator("sparse_flow", scale=scale)
        cmc.estimate(base)
        warps[scale] = cmc.estimate(moved)
        assert cmc.failures == 0
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, zoom)
    m[:, 2] += (dx, dy)
    for scale, a in warps.items():
        # where the image corners land: within 1.5 px of the true motion and of full scale
        np.testing.assert_allclose(a @ corners, m @ corners, atol=1.5, err_msg=f"scale {scale}")
        np.testing.assert_allclose(a @ corners, warps[1.0] @ corners, atol=1.5, err_msg=f"scale {scale}")


def test_grey_by_halvings_equals_one_area_resize():
    img = cv2.resize(textured(5), None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)  # 960x540
    from reid_tracker_ros.tracking.cmc import to_grey

    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    for scale in (0.5, 0.25, 0.3):
        out = to_grey(img, scale)
        size = (int(round(img.shape[1] * scale)), int(round(img.shape[0] * scale)))
        ref = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        assert out.shape == ref.shape and out.dtype == np.uint8
        # the same block averages up to rounding of the intermediate halvings
        assert np.abs(out.astype(int) - ref.astype(int)).mean() < 1.0, scale
    assert to_grey(grey, 1.0) is not None and to_grey(grey, 1.0).shape == grey.shape


def test_noise_frames_give_the_identity():
    """Fresh noise every frame: the flow finds no common motion; the estimate is rejected (no
    compensation beats a wrong one) however many corners the noise offers."""
    rng = np.random.default_rng(0)
    cmc = CameraMotionEstimator("sparse_flow")
    cmc.estimate(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    for _ in range(3):
        np.testing.assert_allclose(cmc.estimate(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)),
                                   np.eye(2, 3))
    assert cmc.failures == 3


def test_tracker_observes_frames_without_tracks_and_estimates_with_them():
    """No track, nothing to move: the frame is only kept; the next frame's estimate (once there
    are tracks) measures the motion from it."""
    base = textured(2)
    tracker = build_tracker({"strategy": "sort", "n_init": 1, "cmc": "sparse_flow"})
    calls = []
    for name in ("estimate", "observe"):
        fn = getattr(tracker.cmc, name)
        setattr(tracker.cmc, name, lambda *a, _fn=fn, _n=name, **k: (calls.append(_n), _fn(*a, **k))[1])
    people = _stationary_people()
    tracker.update(Detections(people, np.full(3, 0.9), np.zeros(3, np.int64)), frame=base)
    assert calls == ["observe"] and tracker.camera_motion is None
    tracker.update(Detections(people + [8.0, 0.0, 8.0, 0.0], np.full(3, 0.9), np.zeros(3, np.int64)),
                   frame=shifted(base, 8.0, 0.0))
    assert calls == ["observe", "estimate"]
    np.testing.assert_allclose(tracker.camera_motion[:, 2], [8.0, 0.0], atol=0.6)


def test_track_warps_vectorised_equal_one_by_one():
    from reid_tracker_ros.tracking.kalman_filter import warp_boxes
    from reid_tracker_ros.tracking.track import Track, warp_tracks

    rng = np.random.default_rng(1)
    tracks = []
    for k in range(5):
        box = np.array([10.0, 20.0, 50.0, 120.0]) + 30 * k
        t = Track(k + 1, box, 0.9, 0, n_init=1, history=3 if k % 2 else 0)
        for step in range(k):  # some observations, hence a direction, on the odd ones
            t.mark_predicted()
            t.mark_hit(box + rng.normal(0, 3, 4) + 5 * step, 0.9, 0)
        tracks.append(t)
    affine = np.array([[1.02, -0.01, 7.0], [0.01, 1.02, -3.0]])
    expected = []
    for t in tracks:
        obs = None if t.observations is None else warp_boxes(np.stack([b for _, b in t.observations]), affine)
        d = t.direction @ affine[:, :2].T
        n = np.hypot(*d)
        expected.append((warp_boxes(t.last_box, affine)[0], obs, d / n if n > 1e-9 else np.zeros(2)))
    warp_tracks(tracks, affine)
    for t, (last, obs, d) in zip(tracks, expected):
        np.testing.assert_allclose(t.last_box, last)
        np.testing.assert_allclose(t.direction, d)
        if obs is not None:
            np.testing.assert_allclose(np.stack([b for _, b in t.observations]), obs)


def test_kept_corners_stay_accurate_over_a_long_pan_and_save_searches(monkeypatch):
    """Corners that agreed with the last estimate are tracked on instead of searched for anew
    every frame: over 40 frames of a steady pan with a zoom step, every estimate stays within
    0.6 px of the true motion, and the corner search runs at most every REFRESH_FRAMES frames."""
    from reid_tracker_ros.tracking import cmc as cmc_module

    base = cv2.resize(textured(4), None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)  # 960x540
    cmc = CameraMotionEstimator("sparse_flow", scale=0.5)
    searches = []
    corners = cmc._corners
    monkeypatch.setattr(cmc, "_corners", lambda *a: (searches.append(1), corners(*a))[1])
    cmc.estimate(base)
    h, w = base.shape[:2]
    total = np.eye(3)
    for i in range(40):
        step = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, 1.01 if i == 20 else 1.0)
        step[:, 2] += (3.0, -1.0)
        total = np.vstack([step, [0, 0, 1]]) @ total
        frame = cv2.warpAffine(base, total[:2], (w, h), borderMode=cv2.BORDER_REFLECT)
        a = cmc.estimate(frame)
        pts = np.array([[w * 0.25, h * 0.25, 1], [w * 0.75, h * 0.75, 1]], float).T
        np.testing.assert_allclose(a @ pts, step @ pts, atol=0.6, err_msg=f"frame {i}")
    assert cmc.failures == 0
    assert len(searches) <= 40 // cmc_module.REFRESH_FRAMES + 1, len(searches)


def test_repeated_failures_back_off_and_a_textured_scene_is_found_again():
    """On frame after frame of noise the flow is only tried every RETRY_EVERY-th frame (the
    others would fail as well, at full cost); once the scene has texture and moves, the motion
    is found within RETRY_EVERY frames."""
    from reid_tracker_ros.tracking import cmc as cmc_module

    rng = np.random.default_rng(1)
    cmc = CameraMotionEstimator("sparse_flow")
    tried = []
    flow = cmc._sparse_flow
    cmc._sparse_flow = lambda *a: (tried.append(1), flow(*a))[1]
    cmc.estimate(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    for _ in range(20):
        cmc.estimate(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    assert cmc.failures == 20
    expected = cmc_module.FAILED_IN_A_ROW + (20 - cmc_module.FAILED_IN_A_ROW) // cmc_module.RETRY_EVERY
    assert len(tried) == expected, (len(tried), expected)
    base = textured(6)
    cmc.estimate(base)
    found = None
    for i in range(cmc_module.RETRY_EVERY):
        a = cmc.estimate(shifted(base, 5.0 * (i + 1), 0.0))
        if not np.allclose(a, np.eye(2, 3)):
            found = a
            break
    assert found is not None, "no estimate within RETRY_EVERY frames of a textured, moving scene"
    np.testing.assert_allclose(found[:, 2], [5.0, 0.0], atol=0.6)


def test_still_camera_is_measured_every_few_frames_and_late_motion_is_not_lost(monkeypatch):
    """After STATIC_IN_A_ROW estimates without motion, only every RETRY_EVERY-th frame is
    converted and measured (against the last measured image); when the camera then moves, the
    next measured frame returns all the motion since that image, and every frame is measured
    again until the camera stands still once more."""
    from reid_tracker_ros.tracking import cmc as cmc_module

    base = textured(7)
    cmc = CameraMotionEstimator("sparse_flow")
    greys = []
    to_grey = cmc_module.to_grey
    monkeypatch.setattr(cmc_module, "to_grey", lambda *a: (greys.append(1), to_grey(*a))[1])
    cmc.estimate(base)
    for _ in range(cmc_module.STATIC_IN_A_ROW):
        np.testing.assert_allclose(cmc.estimate(base), np.eye(2, 3), atol=0.05)
    measured = len(greys)
    n = 4 * cmc_module.RETRY_EVERY
    for _ in range(n):
        np.testing.assert_allclose(cmc.estimate(base), np.eye(2, 3), atol=0.05)
    assert len(greys) - measured == n // cmc_module.RETRY_EVERY
    assert cmc.skipped == n - n // cmc_module.RETRY_EVERY
    # the camera moves 2 px per frame from now on: until the next measured frame nothing is
    # compensated, then the whole shift since the last measured image at once
    shift, returned = 0.0, 0.0
    for i in range(cmc_module.RETRY_EVERY):
        shift += 2.0
        returned += cmc.estimate(shifted(base, shift, 0.0))[0, 2]
    np.testing.assert_allclose(returned, shift, atol=0.6)
    before = cmc.skipped
    for i in range(3):  # moving: measured frame by frame
        shift += 2.0
        a = cmc.estimate(shifted(base, shift, 0.0))
        np.testing.assert_allclose(a[:, 2], [2.0, 0.0], atol=0.6)
    assert cmc.skipped == before
    assert cmc.failures == 0


def test_corner_motion_is_the_largest_corner_displacement():
    from reid_tracker_ros.tracking.cmc import corner_motion

    assert corner_motion(np.eye(2, 3), 640, 480) == 0.0
    assert corner_motion(np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 4.0]]), 640, 480) == pytest.approx(5.0)
    zoom = np.array([[1.01, 0.0, 0.0], [0.0, 1.01, 0.0]])  # about the origin: the far corner moves most
    assert corner_motion(zoom, 640, 480) == pytest.approx(0.01 * np.hypot(640, 480))
