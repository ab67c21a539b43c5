"""3D positions of tracked people in the camera's optical frame (pure numpy, no ROS).

Frame convention (REP 103 optical frame, the one ``header.frame_id`` of a camera image names):
x right, y down, z forward, metres. Every position returned is the person's *foot point*:
the bottom-centre of the box lifted into 3D, so both methods place people where they stand
and RViz shows them on the floor through the robot's own TF.

- with an aligned depth image: the median depth of the inner part of the box (robust to the
  background showing at the box's edges) gives the person's distance; the box's bottom-centre
  pixel is back-projected at that distance;
- without depth (or too few valid depth pixels): the ray through the bottom-centre pixel is
  intersected with the ground plane, from the camera's height above the floor and its pitch
  (positive = looking down).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD_NONE, METHOD_DEPTH, METHOD_GROUND = 0, 1, 2


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics of the (rectified) image the boxes are in."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (np.isfinite([self.fx, self.fy, self.cx, self.cy]).all() and self.fx > 0 and self.fy > 0):
            raise ValueError(f"camera intrinsics need finite fx, fy > 0, got fx={self.fx}, fy={self.fy}, "
                             f"cx={self.cx}, cy={self.cy}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_k(cls, k: np.ndarray | list[float], width: int, height: int) -> "CameraModel":
        """From a row-major 3x3 K (sensor_msgs/CameraInfo.k). A K of zeros (an uncalibrated
        driver) is rejected with ValueError so the caller can fall back to a field of view."""
        k = np.asarray(k, dtype=np.float64).reshape(9)
        return cls(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(width), int(height))

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> "CameraModel":
        """Square pixels, principal point at the image centre, focal length from the horizontal
        field of view: the best guess when no CameraInfo is published."""
        if not 1.0 <= hfov_deg <= 179.0:
            raise ValueError(f"horizontal field of view must be in [1, 179] degrees, got {hfov_deg}")
        f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
        return cls(float(f), float(f), width / 2.0, height / 2.0, int(width), int(height))

    def k(self) -> list[float]:
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N,) pixel coordinates -> (N, 3) rays with z = 1."""
        u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
        return np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones_like(u)], axis=1)

    def scaled(self, width: int, height: int) -> "CameraModel":
        """The same camera at another resolution (a depth image of another size)."""
        sx, sy = width / self.width, height / self.height
        return CameraModel(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, int(width), int(height))


def up_vector(pitch_deg: float) -> np.ndarray:
    """The world's up direction in the optical frame of a camera pitched down by ``pitch_deg``
    (level camera: -y)."""
    p = np.radians(pitch_deg)
    return np.array([0.0, -np.cos(p), -np.sin(p)])


def foot_pixels(boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bottom-centre pixel of each box: where a standing person touches the floor."""
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    return (boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]


def ground_plane_positions(boxes_xyxy: np.ndarray, camera: CameraModel, camera_height_m: float,
                           pitch_deg: float, max_range_m: float = 30.0) -> np.ndarray:
    """(N, 3) foot points on the floor plane; rows are NaN where the foot ray does not hit the
    floor in front of the camera within ``max_range_m`` (at or above the horizon)."""
    if camera_height_m <= 0:
        raise ValueError(f"camera height above the floor must be > 0 m, got {camera_height_m}")
    u, v = foot_pixels(boxes_xyxy)
    rays = camera.rays(u, v)
    up = up_vector(pitch_deg)
    down_speed = rays @ up  # < 0 when the ray goes down towards the floor
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -camera_height_m / down_speed
        points = rays * t[:, None]
        bad = ~(down_speed < -1e-9) | ~np.isfinite(t) | ~(np.linalg.norm(points, axis=1) <= max_range_m)
    points[bad] = np.nan
    return points


def depth_to_metres(depth: np.ndarray, encoding: str) -> np.ndarray:
    """A depth image as float32 metres: '16UC1'/'mono16' are millimetres (the RealSense/OpenNI
    convention), '32FC1' metres. Zero, NaN and inf mean 'no measurement' and become NaN."""
    if encoding in ("16UC1", "mono16"):
        out = np.asarray(depth, np.float32) * np.float32(0.001)
    elif encoding == "32FC1":
        out = np.array(depth, dtype=np.float32, copy=True)
    else:
        raise ValueError(f"unsupported depth encoding '{encoding}' (supported: 16UC1 in mm, 32FC1 in m)")
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def median_box_depths(depth_m: np.ndarray, boxes_xyxy: np.ndarray, image_size: tuple[int, int],
                      inner: float = 0.5, min_valid: int = 20) -> np.ndarray:
    """(N,) median depth in metres of the central ``inner`` fraction (width and height) of each
    box, NaN where fewer than ``min_valid`` pixels hold a measurement. Boxes are in the colour
    image's pixels (``image_size`` = (width, height)); the depth image may have another size."""
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    dh, dw = depth_m.shape[:2]
    sx, sy = dw / image_size[0], dh / image_size[1]
    cxs, cys = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    hw, hh = (boxes[:, 2] - boxes[:, 0]) * inner / 2, (boxes[:, 3] - boxes[:, 1]) * inner / 2
    x1 = np.clip(np.floor((cxs - hw) * sx), 0, dw).astype(int)
    x2 = np.clip(np.ceil((cxs + hw) * sx), 0, dw).astype(int)
    y1 = np.clip(np.floor((cys - hh) * sy), 0, dh).astype(int)
    y2 = np.clip(np.ceil((cys + hh) * sy), 0, dh).astype(int)
    out = np.full(len(boxes), np.nan)
    for i in range(len(boxes)):  # a handful of people per frame: one small median each
        patch = depth_m[y1[i]:y2[i], x1[i]:x2[i]]
        valid = patch[np.isfinite(patch)]
        if valid.size >= min_valid:
            out[i] = float(np.median(valid))
    return out


def depth_positions(boxes_xyxy: np.ndarray, depths_m: np.ndarray, camera: CameraModel) -> np.ndarray:
    """(N, 3) foot points: the bottom-centre pixel back-projected at the person's depth."""
    u, v = foot_pixels(boxes_xyxy)
    return camera.rays(u, v) * np.asarray(depths_m, np.float64)[:, None]


def track_positions(boxes_xyxy: np.ndarray, camera: CameraModel, camera_height_m: float, pitch_deg: float,
                    depth_m: np.ndarray | None = None, max_range_m: float = 30.0,
                    min_valid_depth: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) foot points and (N,) method per row (METHOD_DEPTH, METHOD_GROUND or METHOD_NONE
    with a NaN row): depth where it measures the person, the ground plane elsewhere."""
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    positions = np.full((len(boxes), 3), np.nan)
    method = np.full(len(boxes), METHOD_NONE, np.uint8)
    if not len(boxes):
        return positions, method
    if depth_m is not None:
        depths = median_box_depths(depth_m, boxes, (camera.width, camera.height), min_valid=min_valid_depth)
        ok = np.isfinite(depths) & (depths <= max_range_m)
        positions[ok] = depth_positions(boxes[ok], depths[ok], camera)
        method[ok] = METHOD_DEPTH
    todo = method == METHOD_NONE
    if todo.any():
        ground = ground_plane_positions(boxes[todo], camera, camera_height_m, pitch_deg, max_range_m)
        hit = np.isfinite(ground).all(axis=1)
        idx = np.flatnonzero(todo)[hit]
        positions[idx] = ground[hit]
        method[idx] = METHOD_GROUND
    return positions, method


def person_heights(boxes_xyxy: np.ndarray, positions: np.ndarray, camera: CameraModel,
                   clamp: tuple[float, float] = (0.5, 2.2)) -> np.ndarray:
    """(N,) height in metres of each person from its box height and distance (for the size of
    the RViz marker), clamped to a plausible range; NaN where the position is unknown."""
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    z = np.asarray(positions, np.float64).reshape(-1, 3)[:, 2]
    h = (boxes[:, 3] - boxes[:, 1]) * z / camera.fy
    return np.where(np.isfinite(h), np.clip(h, *clamp), np.nan)


class VelocityEstimator:
    """Per-track 3D velocity (m/s) from consecutive foot points and their stamps, smoothed with
    an exponential moving average; a track unseen for ``max_gap_s`` starts afresh."""

    def __init__(self, smoothing: float = 0.5, max_gap_s: float = 1.0) -> None:
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"velocity smoothing must be in (0, 1], got {smoothing}")
        self.smoothing = smoothing
        self.max_gap_s = max_gap_s
        self._last: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}  # id -> (t, position, velocity)

    def update(self, track_ids: np.ndarray, positions: np.ndarray, stamp_s: float) -> np.ndarray:
        """(N, 3) velocities for this frame's tracks (zeros for new ones or unknown positions)."""
        ids = np.asarray(track_ids, np.int64).reshape(-1)
        positions = np.asarray(positions, np.float64).reshape(-1, 3)
        out = np.zeros((len(ids), 3))
        for i, tid in enumerate(ids.tolist()):
            pos = positions[i]
            if not np.isfinite(pos).all():
                continue
            prev = self._last.get(tid)
            vel = np.zeros(3)
            if prev is not None and 0.0 < stamp_s - prev[0] <= self.max_gap_s:
                raw = (pos - prev[1]) / (stamp_s - prev[0])
                vel = self.smoothing * raw + (1.0 - self.smoothing) * prev[2]
            self._last[tid] = (stamp_s, pos.copy(), vel)
            out[i] = vel
        for tid in [t for t, (ts, _, _) in self._last.items() if stamp_s - ts > self.max_gap_s]:
            del self._last[tid]  # ended tracks do not accumulate
        return out

    def __len__(self) -> int:
        return len(self._last)
