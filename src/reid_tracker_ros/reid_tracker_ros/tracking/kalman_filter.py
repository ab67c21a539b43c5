"""Constant-velocity Kalman filters over bounding boxes, vectorised over many tracks.

Every method works on *stacks*: ``mean`` is (M, 8) and ``covariance`` is (M, 8, 8), one row per
track, so a tracker predicts/updates all of its tracks with a handful of numpy calls instead of a
Python loop. The state is a 4-d box measurement plus its 4 velocities (units per frame).

The box parameterisation and the noise model are the only things that differ between variants, so
they are hooks: :class:`KalmanFilterXYAH` (centre x, centre y, aspect w/h, height) and
:class:`KalmanFilterXYWH` (centre, width, height) override the conversions and ``_*_std`` hooks;
the NSA variant (measurement noise scaled by ``1 - confidence``) of either is
``update(..., scale_by_confidence=True)`` with per-detection confidences. :meth:`warp` moves
states by a camera-motion affine.
"""
from __future__ import annotations

import numpy as np

# 0.95 quantile of the chi-square distribution by degrees of freedom: the Mahalanobis gate.
CHI2INV95: dict[int, float] = {
    1: 3.8415,
    2: 5.9915,
    3: 7.8147,
    4: 9.4877,
    5: 11.0705,
    6: 12.5916,
    7: 14.0671,
    8: 15.5073,
    9: 16.9190,
}

# Smallest noise scale [px]: keeps covariances positive definite for (near) zero-size boxes.
_MIN_SCALE = 1.0
# Smallest (1 - confidence) factor for confidence-scaled measurement noise: a detection with
# confidence 1 must not get a singular innovation covariance.
_MIN_NOISE_FACTOR = 1e-3


def _as_stack(x: np.ndarray, width: int, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and x.size == width:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {x.shape}")
    return x


class ConstantVelocityKalmanFilter:
    """Shared linear algebra; subclasses choose the box parameterisation and noise scales."""

    ndim = 4  # measurement dimension
    name = "base"

    def __init__(self, std_weight_position: float = 1.0 / 20.0,
                 std_weight_velocity: float = 1.0 / 160.0, dt: float = 1.0) -> None:
        self.std_weight_position = float(std_weight_position)
        self.std_weight_velocity = float(std_weight_velocity)
        self.dt = float(dt)
        n = self.ndim
        self._motion = np.eye(2 * n)
        self._motion[np.arange(n), n + np.arange(n)] = dt
        self._motion_t = self._motion.T.copy()
        self._eye_state = np.eye(2 * n)
        self._eye_meas = np.eye(n)

    @property
    def state_dim(self) -> int:
        return 2 * self.ndim

    # ------------------------------------------------------------------ format hooks
    def measurement_from_xyxy(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) xyxy boxes -> (N, ndim) measurements in this filter's parameterisation."""
        raise NotImplementedError

    def xyxy_from_state(self, mean: np.ndarray) -> np.ndarray:
        """(M, 8) states -> (M, 4) xyxy boxes (widths/heights clipped at 0)."""
        raise NotImplementedError

    def velocity(self, mean: np.ndarray) -> np.ndarray:
        """(M, 2) box-centre velocity [px/frame]; both variants keep the centre in dims 0-1."""
        return np.asarray(mean)[:, self.ndim:self.ndim + 2].copy()

    # ------------------------------------------------------------------ noise hooks
    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        """(N, 8) prior standard deviations of a new track."""
        raise NotImplementedError

    def _process_std(self, mean: np.ndarray) -> np.ndarray:
        """(M, 8) process-noise standard deviations for one prediction step."""
        raise NotImplementedError

    def _measurement_std(self, mean: np.ndarray) -> np.ndarray:
        """(M, ndim) measurement-noise standard deviations."""
        raise NotImplementedError

    def measurement_variance(self, mean: np.ndarray, confidences: np.ndarray | None = None,
                             scale_by_confidence: bool = False) -> np.ndarray:
        """(M, ndim) diagonal of R; scaled by ``1 - confidence`` (NSA) when asked."""
        var = np.square(self._measurement_std(mean))
        if scale_by_confidence:
            if confidences is None:
                raise ValueError("scale_by_confidence=True needs per-detection confidences")
            conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
            if conf.shape[0] != var.shape[0]:
                raise ValueError(f"got {conf.shape[0]} confidences for {var.shape[0]} tracks")
            factor = np.clip(1.0 - conf, _MIN_NOISE_FACTOR, 1.0)
            var = var * factor[:, None]
        return var

    # ------------------------------------------------------------------ filter
    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks from (N, ndim) measurements: zero velocity, height-scaled uncertainty."""
        z = _as_stack(measurement, self.ndim, "measurement")
        n = len(z)
        mean = np.zeros((n, 2 * self.ndim))
        mean[:, :self.ndim] = z
        cov = np.square(self._initial_std(z))[:, :, None] * self._eye_state
        return mean, cov

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One constant-velocity step for all tracks (returns new arrays)."""
        if len(mean) == 0:
            return mean.copy(), covariance.copy()
        new_mean = mean @ self._motion_t
        new_cov = self._motion @ covariance @ self._motion_t
        new_cov += np.square(self._process_std(mean))[:, :, None] * self._eye_state
        return new_mean, new_cov

    def extrapolate(self, mean: np.ndarray, steps: float) -> np.ndarray:
        """The predicted mean ``steps`` filter steps ahead (fractional and negative allowed): the
        constant-velocity model's ``x + steps * dt * v`` for every state; a new array."""
        mean = np.asarray(mean, dtype=np.float64)
        if not np.isfinite(steps):
            raise ValueError(f"extrapolation steps must be finite, got {steps!r}")
        out = mean.copy()
        n = self.ndim
        out[:, :n] += (float(steps) * self.dt) * mean[:, n:]
        return out

    def project(self, mean: np.ndarray, covariance: np.ndarray,
                confidences: np.ndarray | None = None,
                scale_by_confidence: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """State -> measurement space: (M, ndim) mean and (M, ndim, ndim) innovation covariance."""
        n = self.ndim
        var = self.measurement_variance(mean, confidences, scale_by_confidence)
        return mean[:, :n], covariance[:, :n, :n] + var[:, :, None] * self._eye_meas

    def update(self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray,
               confidences: np.ndarray | None = None,
               scale_by_confidence: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Correct track i with measurement row i (M rows each); returns new arrays.

        ``confidences`` (M,) are only used when ``scale_by_confidence`` is set (NSA filter).
        """
        z = _as_stack(measurement, self.ndim, "measurement")
        if len(z) != len(mean):
            raise ValueError(f"got {len(z)} measurements for {len(mean)} tracks")
        if len(z) == 0:
            return mean.copy(), covariance.copy()
        n = self.ndim
        proj_mean, proj_cov = self.project(mean, covariance, confidences, scale_by_confidence)
        hp = covariance[:, :n, :]  # H P: (M, n, 2n)
        # K = P H^T S^-1, so K^T = S^-1 H P (S and P symmetric): one batched solve.
        gain = np.linalg.solve(proj_cov, hp).transpose(0, 2, 1)  # (M, 2n, n)
        innovation = z - proj_mean
        new_mean = mean + np.matmul(gain, innovation[:, :, None])[:, :, 0]
        new_cov = covariance - gain @ hp
        new_cov = 0.5 * (new_cov + new_cov.transpose(0, 2, 1))
        return new_mean, new_cov

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray,
                        only_position: bool = False) -> np.ndarray:
        """(M, N) squared Mahalanobis distance of every measurement to every track's projection.

        Compare with :meth:`gating_threshold` (chi-square 0.95 quantile). ``only_position`` uses
        the centre (2 dof) only, which tolerates shape changes.
        """
        z = _as_stack(measurements, self.ndim, "measurements")
        m, k = len(mean), len(z)
        if m == 0 or k == 0:
            return np.zeros((m, k))
        proj_mean, proj_cov = self.project(mean, covariance)
        if only_position:
            proj_mean, proj_cov, z = proj_mean[:, :2], proj_cov[:, :2, :2], z[:, :2]
        diff = z.T[None, :, :] - proj_mean[:, :, None]  # (M, d, N)
        solved = np.linalg.solve(proj_cov, diff)  # S^-1 d, (M, d, N)
        return (diff * solved).sum(axis=1)

    def gating_threshold(self, only_position: bool = False) -> float:
        return CHI2INV95[2 if only_position else self.ndim]

    # ------------------------------------------------------------------ camera motion
    # Measurement dims that are box sizes (scaled by the zoom of a camera-motion warp).
    _size_dims: tuple[int, ...] = ()

    def hold_size(self, mean: np.ndarray, rows: np.ndarray) -> None:
        """Zero the box-size velocities of ``rows`` in place, so their predicted boxes keep
        their size (ByteTrack's and BoT-SORT's rule for lost tracks: a size trend extrapolated
        over a gap grows or shrinks the box onto the wrong person)."""
        n = self.ndim
        for d in self._size_dims:
            mean[rows, n + d] = 0.0

    def warp_matrix(self, affine: np.ndarray) -> np.ndarray:
        """(2n, 2n) linear part of a 2x3 image affine acting on the state.

        Centre and centre velocity rotate/scale with ``A[:, :2]``; box sizes (and their
        velocities) scale by the warp's zoom ``sqrt(|det|)``; aspect ratios stay.
        """
        a = _affine(affine)
        n = self.ndim
        lin = a[:, :2]
        t = np.eye(2 * n)
        t[0:2, 0:2] = lin
        t[n:n + 2, n:n + 2] = lin
        zoom = float(np.sqrt(abs(np.linalg.det(lin))))
        for d in self._size_dims:
            t[d, d] = zoom
            t[n + d, n + d] = zoom
        return t

    def warp(self, mean: np.ndarray, covariance: np.ndarray, affine: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Move all states into the current camera frame (camera-motion compensation)."""
        if len(mean) == 0:
            return mean.copy(), covariance.copy()
        t = self.warp_matrix(affine)
        new_mean = mean @ t.T
        new_mean[:, :2] += _affine(affine)[:, 2]
        new_cov = t @ covariance @ t.T
        return new_mean, new_cov


def _affine(affine: np.ndarray) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (2, 3) or not np.isfinite(a).all():
        raise ValueError(f"camera motion must be a finite 2x3 affine matrix, got {a!r}")
    return a


def warp_boxes(boxes: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy boxes moved by a 2x3 affine: the centre maps exactly, sizes scale by the zoom.

    (Rotating the corners would inflate boxes; camera shake is nearly a translation.)
    """
    a = _affine(affine)
    b = _as_stack(boxes, 4, "boxes")
    centre = 0.5 * (b[:, :2] + b[:, 2:])
    half = 0.5 * (b[:, 2:] - b[:, :2]) * float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
    c = centre @ a[:, :2].T + a[:, 2]
    return np.concatenate([c - half, c + half], axis=1)


class KalmanFilterXYAH(ConstantVelocityKalmanFilter):
    """State (cx, cy, a, h, vx, vy, va, vh); noise proportional to the box height.

    The aspect ratio is nearly rigid (small constant noise), so the filter follows a person's
    size mostly through the height.
    """

    name = "xyah"
    _size_dims = (3,)

    def __init__(self, std_weight_position: float = 1.0 / 20.0,
                 std_weight_velocity: float = 1.0 / 160.0, dt: float = 1.0) -> None:
        super().__init__(std_weight_position, std_weight_velocity, dt)
        p, v = self.std_weight_position, self.std_weight_velocity
        # std = height * weight + constant, per state / measurement dimension
        self._init_w = np.array([2 * p, 2 * p, 0.0, 2 * p, 10 * v, 10 * v, 0.0, 10 * v])
        self._init_c = np.array([0.0, 0.0, 1e-2, 0.0, 0.0, 0.0, 1e-5, 0.0])
        self._proc_w = np.array([p, p, 0.0, p, v, v, 0.0, v])
        self._proc_c = np.array([0.0, 0.0, 1e-2, 0.0, 0.0, 0.0, 1e-5, 0.0])
        self._meas_w = np.array([p, p, 0.0, p])
        self._meas_c = np.array([0.0, 0.0, 1e-1, 0.0])

    def measurement_from_xyxy(self, boxes: np.ndarray) -> np.ndarray:
        b = _as_stack(boxes, 4, "boxes")
        wh = b[:, 2:] - b[:, :2]
        out = np.empty_like(b)
        out[:, :2] = b[:, :2] + 0.5 * wh
        # Aspect of a zero-height box is undefined: treat the height as tiny, not zero.
        out[:, 2] = wh[:, 0] / np.maximum(wh[:, 1], 1e-6)
        out[:, 3] = wh[:, 1]
        return out

    def xyxy_from_state(self, mean: np.ndarray) -> np.ndarray:
        mean = np.asarray(mean, dtype=np.float64)
        wh = np.empty((len(mean), 2))
        wh[:, 1] = np.maximum(mean[:, 3], 0.0)
        wh[:, 0] = np.maximum(mean[:, 2] * wh[:, 1], 0.0)
        tl = mean[:, :2] - 0.5 * wh
        return np.concatenate([tl, tl + wh], axis=1)

    def _height(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x[:, 3:4], _MIN_SCALE)

    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        return self._height(measurement) * self._init_w + self._init_c

    def _process_std(self, mean: np.ndarray) -> np.ndarray:
        return self._height(mean) * self._proc_w + self._proc_c

    def _measurement_std(self, mean: np.ndarray) -> np.ndarray:
        return self._height(mean) * self._meas_w + self._meas_c


class KalmanFilterXYWH(ConstantVelocityKalmanFilter):
    """State (cx, cy, w, h, vx, vy, vw, vh); x-noise proportional to the width, y to the height.

    Widths change independently of heights (arms, bags, partial occlusion by the image border),
    which the rigid aspect of xyah cannot follow: BoT-SORT's choice.
    """

    name = "xywh"
    _size_dims = (2, 3)

    def __init__(self, std_weight_position: float = 1.0 / 20.0,
                 std_weight_velocity: float = 1.0 / 160.0, dt: float = 1.0) -> None:
        super().__init__(std_weight_position, std_weight_velocity, dt)
        p, v = self.std_weight_position, self.std_weight_velocity
        self._init_w = np.array([2 * p] * 4 + [10 * v] * 4)
        self._proc_w = np.array([p] * 4 + [v] * 4)
        self._meas_w = np.array([p] * 4)

    def measurement_from_xyxy(self, boxes: np.ndarray) -> np.ndarray:
        b = _as_stack(boxes, 4, "boxes")
        wh = b[:, 2:] - b[:, :2]
        return np.concatenate([b[:, :2] + 0.5 * wh, wh], axis=1)

    def xyxy_from_state(self, mean: np.ndarray) -> np.ndarray:
        mean = np.asarray(mean, dtype=np.float64)
        wh = np.maximum(mean[:, 2:4], 0.0)
        tl = mean[:, :2] - 0.5 * wh
        return np.concatenate([tl, tl + wh], axis=1)

    @staticmethod
    def _wh(x: np.ndarray, reps: int) -> np.ndarray:
        wh = np.maximum(x[:, 2:4], _MIN_SCALE)
        return np.tile(wh, reps)

    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        return self._wh(measurement, 4) * self._init_w

    def _process_std(self, mean: np.ndarray) -> np.ndarray:
        return self._wh(mean, 4) * self._proc_w

    def _measurement_std(self, mean: np.ndarray) -> np.ndarray:
        return self._wh(mean, 2) * self._meas_w


KALMAN_FILTERS: dict[str, type[ConstantVelocityKalmanFilter]] = {
    KalmanFilterXYAH.name: KalmanFilterXYAH,
    KalmanFilterXYWH.name: KalmanFilterXYWH,
}


def make_kalman_filter(name: str) -> ConstantVelocityKalmanFilter:
    """Instantiate a registered filter by name (ValueError listing valid names otherwise)."""
    try:
        return KALMAN_FILTERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown Kalman filter {name!r}; valid: {sorted(KALMAN_FILTERS)}") from None
