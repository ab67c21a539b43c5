"""PointCloud2 content of the tracks as plain data (no ROS): one point per person.

Fields: x, y, z (foot point, metres, optical frame), id (track id), vx, vy, vz (m/s). Every
field is FLOAT32 at consecutive offsets (point_step 28, little endian, height 1), the layout
``sensor_msgs_py.point_cloud2.create_cloud(header, fields, points)`` produces for an (N, 7)
float32 array in every ROS 2 release; a single datatype is what lets the old and the new
``create_cloud`` accept the same array. Track ids are exact in float32 up to 2**24.
"""
from __future__ import annotations

import numpy as np

FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32
FIELD_NAMES = ("x", "y", "z", "id", "vx", "vy", "vz")
# (name, offset, datatype, count) per field, as sensor_msgs/PointField
FIELDS = tuple((name, 4 * i, FLOAT32, 1) for i, name in enumerate(FIELD_NAMES))
POINT_STEP = 4 * len(FIELD_NAMES)
MAX_EXACT_ID = 2 ** 24


def cloud_points(track_ids: np.ndarray, positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """(N, 7) float32 rows (x, y, z, id, vx, vy, vz) for the rows with a finite position."""
    ids = np.asarray(track_ids, np.int64).reshape(-1)
    positions = np.asarray(positions, np.float64).reshape(-1, 3)
    velocities = np.asarray(velocities, np.float64).reshape(-1, 3)
    if not (len(ids) == len(positions) == len(velocities)):
        raise ValueError(f"cloud needs one position and velocity per id, got {len(ids)} ids, "
                         f"{len(positions)} positions, {len(velocities)} velocities")
    if len(ids) and (ids.min() < 0 or ids.max() > MAX_EXACT_ID):
        raise ValueError(f"track ids must be in [0, {MAX_EXACT_ID}] to be exact as float32, got "
                         f"{ids.min()}..{ids.max()}")
    keep = np.isfinite(positions).all(axis=1)
    vel = np.where(np.isfinite(velocities), velocities, 0.0)
    rows = np.column_stack([positions, ids.astype(np.float64), vel])[keep]
    return np.ascontiguousarray(rows, dtype="<f4")


def cloud_data(points: np.ndarray) -> tuple[bytes, int, int]:
    """(data bytes, width, row_step) of a PointCloud2 holding ``points`` (N, 7) float32."""
    points = np.ascontiguousarray(points, dtype="<f4").reshape(-1, len(FIELD_NAMES))
    return points.tobytes(), len(points), POINT_STEP * len(points)
