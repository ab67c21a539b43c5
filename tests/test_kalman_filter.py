"""Constant-velocity Kalman filters (xyah, xywh), vectorised over tracks; camera-motion warp."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from reid_tracker_ros.tracking.kalman_filter import (CHI2INV95, KALMAN_FILTERS,
                                                     ConstantVelocityKalmanFilter,
                                                     KalmanFilterXYAH, KalmanFilterXYWH,
                                                     make_kalman_filter, warp_boxes)


def box(cx: float, cy: float, w: float = 40.0, h: float = 100.0) -> np.ndarray:
    return np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]])


@pytest.fixture(params=sorted(KALMAN_FILTERS))
def kf(request) -> ConstantVelocityKalmanFilter:
    return make_kalman_filter(request.param)


def test_chi2_table_matches_scipy():
    for dof, value in CHI2INV95.items():
        assert value == pytest.approx(chi2.ppf(0.95, dof), abs=1e-3)


def test_measurement_roundtrip_and_initiate(kf):
    boxes = np.array([[10.0, 20.0, 50.0, 120.0], [0.0, 0.0, 30.0, 60.0]])
    z = kf.measurement_from_xyxy(boxes)
    np.testing.assert_allclose(z[0], [30.0, 70.0, 0.4 if kf.name == "xyah" else 40.0, 100.0])
    mean, cov = kf.initiate(z)
    assert mean.shape == (2, 8) and cov.shape == (2, 8, 8)
    np.testing.assert_allclose(mean[:, :4], z)
    np.testing.assert_array_equal(mean[:, 4:], 0.0)
    np.testing.assert_allclose(kf.xyxy_from_state(mean), boxes)
    np.testing.assert_allclose(cov, cov.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    # uncertainty scales with the box height
    assert cov[0, 0, 0] > cov[1, 0, 0]


def test_degenerate_box_gives_finite_measurement(kf):
    z = kf.measurement_from_xyxy(np.array([[5.0, 5.0, 15.0, 5.0], [5.0, 5.0, 5.0, 5.0]]))
    assert np.isfinite(z).all()
    mean, cov = kf.initiate(z)
    mean, cov = kf.predict(mean, cov)
    assert np.isfinite(mean).all() and np.all(np.linalg.eigvalsh(cov) > 0)
    out = kf.xyxy_from_state(mean)
    assert np.all(out[:, 2:] >= out[:, :2])


def test_predict_moves_at_constant_velocity(kf):
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(100, 200)))
    mean[0, 4:6] = [5.0, -2.0]
    traces = []
    for step in range(1, 6):
        mean, cov = kf.predict(mean, cov)
        np.testing.assert_allclose(mean[0, :2], [100 + 5 * step, 200 - 2 * step])
        traces.append(np.trace(cov[0]))
    np.testing.assert_allclose(mean[0, 2:4], kf.measurement_from_xyxy(box(0, 0))[0, 2:4])  # shape unchanged
    assert np.all(np.diff(traces) > 0)  # prediction only adds uncertainty
    np.testing.assert_allclose(kf.velocity(mean), [[5.0, -2.0]])


def test_updates_converge_to_true_velocity(kf):
    rng = np.random.default_rng(0)
    vx, vy = 6.0, 1.5
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(100, 200)))
    initial_std = np.sqrt(cov[0, 0, 0])
    for t in range(1, 40):
        mean, cov = kf.predict(mean, cov)
        noise = rng.normal(0, 1.0, (1, 4)) * [1, 1, 0, 1]  # pixels; the aspect stays exact
        z = kf.measurement_from_xyxy(box(100 + vx * t, 200 + vy * t)) + noise
        mean, cov = kf.update(mean, cov, z)
    np.testing.assert_allclose(mean[0, 4:6], [vx, vy], atol=0.3)
    np.testing.assert_allclose(mean[0, :2], [100 + vx * 39, 200 + vy * 39], atol=2.0)
    assert np.sqrt(cov[0, 0, 0]) < initial_std
    np.testing.assert_allclose(cov, cov.transpose(0, 2, 1), atol=1e-9)
    # a prediction after convergence lands where the target goes next
    pred, _ = kf.predict(mean, cov)
    np.testing.assert_allclose(pred[0, :2], [100 + vx * 40, 200 + vy * 40], atol=2.5)


def test_vectorised_equals_one_by_one(kf):
    rng = np.random.default_rng(1)
    centres = rng.uniform(50, 500, (5, 2))
    boxes = np.concatenate([centres - [20, 50], centres + [20, 50]], axis=1)
    mean, cov = kf.initiate(kf.measurement_from_xyxy(boxes))
    mean, cov = kf.predict(mean, cov)
    z = kf.measurement_from_xyxy(boxes + rng.normal(0, 3, boxes.shape))
    conf = rng.uniform(0.3, 0.9, 5)
    m_all, c_all = kf.update(mean, cov, z, confidences=conf, scale_by_confidence=True)
    gd_all = kf.gating_distance(mean, cov, z)
    for i in range(5):
        m_i, c_i = kf.update(mean[i:i + 1], cov[i:i + 1], z[i:i + 1], conf[i:i + 1], True)
        np.testing.assert_allclose(m_all[i], m_i[0])
        np.testing.assert_allclose(c_all[i], c_i[0])
        np.testing.assert_allclose(gd_all[i], kf.gating_distance(mean[i:i + 1], cov[i:i + 1], z)[0])


def test_update_matches_textbook_equations(kf):
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(300, 200)))
    mean, cov = kf.predict(mean, cov)
    z = kf.measurement_from_xyxy(box(310, 195, 42, 104))
    new_mean, new_cov = kf.update(mean, cov, z)
    H = np.eye(4, 8)
    R = np.diag(kf.measurement_variance(mean)[0])
    S = H @ cov[0] @ H.T + R
    K = cov[0] @ H.T @ np.linalg.inv(S)
    np.testing.assert_allclose(new_mean[0], mean[0] + K @ (z[0] - H @ mean[0]))
    np.testing.assert_allclose(new_cov[0], (np.eye(8) - K @ H) @ cov[0], atol=1e-9)


def test_confidence_scaling_pulls_toward_confident_measurements(kf):
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(100, 100)))
    mean, cov = kf.predict(mean, cov)
    z = kf.measurement_from_xyxy(box(120, 100))
    plain, _ = kf.update(mean, cov, z)
    ignored, _ = kf.update(mean, cov, z, confidences=np.array([0.95]))  # flag off: no effect
    np.testing.assert_allclose(ignored, plain)
    low, _ = kf.update(mean, cov, z, np.array([0.1]), scale_by_confidence=True)
    high, _ = kf.update(mean, cov, z, np.array([0.95]), scale_by_confidence=True)
    assert abs(high[0, 0] - 120) < abs(low[0, 0] - 120) < abs(plain[0, 0] - 120) + 1e-9
    full, full_cov = kf.update(mean, cov, z, np.array([1.0]), scale_by_confidence=True)
    assert np.isfinite(full).all() and np.isfinite(full_cov).all()
    with pytest.raises(ValueError, match="confidences"):
        kf.update(mean, cov, z, scale_by_confidence=True)


def test_gating_accepts_near_and_rejects_far(kf):
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(200, 200)))
    for t in range(1, 10):  # settle the filter on a static target
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, kf.measurement_from_xyxy(box(200, 200)))
    mean, cov = kf.predict(mean, cov)
    z = kf.measurement_from_xyxy(np.concatenate([box(203, 198), box(400, 200), box(200, 200, 40, 200)]))
    d = kf.gating_distance(mean, cov, z)
    assert d.shape == (1, 3)
    assert d[0, 0] < kf.gating_threshold() < d[0, 1]
    assert d[0, 2] > kf.gating_threshold()  # same place, twice as tall: rejected on shape
    d_pos = kf.gating_distance(mean, cov, z, only_position=True)
    assert d_pos[0, 2] < kf.gating_threshold(only_position=True) < d_pos[0, 1]
    assert kf.gating_threshold(True) == CHI2INV95[2] and kf.gating_threshold() == CHI2INV95[4]


def test_empty_stacks(kf):
    mean, cov = kf.initiate(np.zeros((0, 4)))
    assert mean.shape == (0, 8) and cov.shape == (0, 8, 8)
    m2, c2 = kf.predict(mean, cov)
    assert m2.shape == (0, 8) and c2.shape == (0, 8, 8)
    m3, _ = kf.update(mean, cov, np.zeros((0, 4)))
    assert m3.shape == (0, 8)
    assert kf.gating_distance(mean, cov, kf.measurement_from_xyxy(box(1, 1))).shape == (0, 1)
    one_m, one_c = kf.initiate(kf.measurement_from_xyxy(box(1, 1)))
    assert kf.gating_distance(one_m, one_c, np.zeros((0, 4))).shape == (1, 0)
    assert kf.xyxy_from_state(mean).shape == (0, 4)


def test_bad_shapes_and_names(kf):
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(1, 1)))
    with pytest.raises(ValueError, match="measurements for 1 tracks"):
        kf.update(mean, cov, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        kf.measurement_from_xyxy(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"'xyah-typo'.*valid: \['xyah', 'xywh'\]"):
        make_kalman_filter("xyah-typo")
    assert isinstance(make_kalman_filter("xyah"), KalmanFilterXYAH)
    assert isinstance(make_kalman_filter("xywh"), KalmanFilterXYWH)
    with pytest.raises(ValueError, match="2x3 affine"):
        kf.warp(mean, cov, np.eye(3))


def test_xywh_follows_width_changes_independently():
    """xywh lets the width change without the height (xyah keeps the aspect nearly rigid)."""
    kf = KalmanFilterXYWH()
    mean, cov = kf.initiate(kf.measurement_from_xyxy(box(100, 100, 40, 100)))
    for _ in range(10):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, kf.measurement_from_xyxy(box(100, 100, 60, 100)))
    out = kf.xyxy_from_state(mean)[0]
    assert out[2] - out[0] == pytest.approx(60, abs=1.5)
    assert out[3] - out[1] == pytest.approx(100, abs=0.5)


def test_hold_size_zeroes_only_size_velocities_of_the_given_rows(kf):
    """xyah: the height velocity (aspect rate too would be a shape change, kept as ByteTrack
    does); xywh: width and height velocities. Centre velocities and other rows are untouched."""
    mean, _ = kf.initiate(kf.measurement_from_xyxy(np.concatenate([box(100, 200), box(300, 50)])))
    mean[:, kf.ndim:] = np.arange(1.0, 1.0 + kf.ndim)
    before = mean.copy()
    kf.hold_size(mean, np.array([True, False]))
    size = {"xyah": [7], "xywh": [6, 7]}[kf.name]
    np.testing.assert_array_equal(mean[0, size], 0.0)
    keep = [d for d in range(8) if d not in size]
    np.testing.assert_array_equal(mean[0, keep], before[0, keep])
    np.testing.assert_array_equal(mean[1], before[1])


def test_warp_moves_state_and_covariance(kf):
    """A translation+zoom affine moves the centre exactly, scales sizes and velocities, and
    transforms the covariance as T P T^T (it stays symmetric positive definite)."""
    mean, cov = kf.initiate(kf.measurement_from_xyxy(np.concatenate([box(100, 200), box(300, 50)])))
    mean[:, kf.ndim:kf.ndim + 2] = [[2.0, -1.0], [0.5, 0.0]]
    zoom = 1.1
    affine = np.array([[zoom, 0.0, 15.0], [0.0, zoom, -7.0]])
    new_mean, new_cov = kf.warp(mean, cov, affine)
    np.testing.assert_allclose(new_mean[:, :2], zoom * mean[:, :2] + [15.0, -7.0])
    np.testing.assert_allclose(new_mean[:, kf.ndim:kf.ndim + 2], zoom * mean[:, kf.ndim:kf.ndim + 2])
    before, after = kf.xyxy_from_state(mean), kf.xyxy_from_state(new_mean)
    np.testing.assert_allclose(after[:, 2:] - after[:, :2], zoom * (before[:, 2:] - before[:, :2]))
    np.testing.assert_allclose(after, warp_boxes(before, affine), atol=1e-9)
    t = kf.warp_matrix(affine)
    np.testing.assert_allclose(new_cov, t @ cov @ t.T)
    assert np.all(np.linalg.eigvalsh(new_cov) > 0)
    same_mean, same_cov = kf.warp(mean, cov, np.eye(2, 3))
    np.testing.assert_allclose(same_mean, mean)
    np.testing.assert_allclose(same_cov, cov)
