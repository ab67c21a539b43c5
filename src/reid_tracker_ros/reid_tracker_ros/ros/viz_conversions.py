"""Message conversions of the visualizer and source nodes: tracks in, markers / poses /
point cloud / camera info out. The content comes from the pure cores in
``reid_tracker_ros.visualization``; this module only copies it into messages."""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, PoseArray
from sensor_msgs.msg import CameraInfo, PointCloud2, PointField
from visualization_msgs.msg import Marker, MarkerArray

from ..types import TrackSnapshot, tlwh_to_xyxy
from ..visualization.cloud import FIELDS, POINT_STEP, cloud_data
from ..visualization.geometry import CameraModel, depth_to_metres
from ..visualization.markers import MarkerSpec
from .conversions import uint8_array
from ..images import ImageConversionError

try:  # apt ROS ships it; the PyPI wheels used here do not: the numpy path gives the same layout
    from sensor_msgs_py import point_cloud2 as _pc2  # type: ignore
except ImportError:  # pragma: no cover - depends on the installation
    _pc2 = None


def snapshot_from_msg(msg) -> TrackSnapshot:
    """reid_msgs/TrackArray -> TrackSnapshot (xyxy boxes, px/frame velocities)."""
    t = msg.tracks
    if not len(t):
        return TrackSnapshot.empty()
    arr = np.array([(k.x, k.y, k.width, k.height, k.score, k.velocity_x, k.velocity_y) for k in t], np.float64)
    ints = np.array([(k.track_id, k.class_id, k.state, k.age, k.hits, k.frames_since_update, k.global_id)
                     for k in t], np.int64)
    return TrackSnapshot(ints[:, 0], tlwh_to_xyxy(arr[:, :4]), arr[:, 4], ints[:, 1], ints[:, 2].astype(np.uint8),
                         ints[:, 3], ints[:, 4], ints[:, 5], arr[:, 5:7], ints[:, 6])


def camera_from_info(info: CameraInfo) -> CameraModel | None:
    """CameraInfo -> CameraModel; None for an uncalibrated driver's K of zeros or a zero size."""
    try:
        return CameraModel.from_k(list(info.k), int(info.width), int(info.height))
    except ValueError:
        return None


def camera_info_msg(header, camera: CameraModel) -> CameraInfo:
    """An ideal (undistorted) pinhole CameraInfo: what the source node publishes."""
    info = CameraInfo(header=header, width=camera.width, height=camera.height, distortion_model="plumb_bob")
    info.d = [0.0] * 5
    info.k = camera.k()
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def depth_from_msg(msg) -> np.ndarray:
    """sensor_msgs/Image depth (16UC1 mm or 32FC1 m) -> HxW float32 metres, NaN = no data."""
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    dtypes = {"16UC1": np.uint16, "mono16": np.uint16, "32FC1": np.float32}
    if msg.encoding not in dtypes:
        raise ImageConversionError(f"unsupported depth encoding '{msg.encoding}' (supported: 16UC1 in mm, "
                                   "32FC1 in m)")
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty depth image ({width}x{height})")
    dtype = np.dtype(dtypes[msg.encoding]).newbyteorder(">" if msg.is_bigendian else "<")
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if step < width * dtype.itemsize or buf.size < step * height:
        raise ImageConversionError(f"depth image step {step} / {buf.size} bytes do not fit {width}x{height} "
                                   f"'{msg.encoding}'")
    rows = buf[: step * height].reshape(height, step)[:, : width * dtype.itemsize]
    return depth_to_metres(np.ascontiguousarray(rows).view(dtype).reshape(height, width), msg.encoding)


def _duration(seconds: float) -> Duration:
    sec = int(seconds)
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def marker_array_msg(header, specs: list[MarkerSpec]) -> MarkerArray:
    out = MarkerArray()
    for s in specs:
        m = Marker(header=header, ns=s.ns, id=int(s.id), type=int(s.type), action=int(s.action))
        if s.action == Marker.ADD:
            m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in s.position)
            (m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z,
             m.pose.orientation.w) = (float(v) for v in s.orientation)
            m.scale.x, m.scale.y, m.scale.z = (float(v) for v in s.scale)
            m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in s.colour)
            m.text = s.text
            m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in s.points]
            m.lifetime = _duration(s.lifetime_s)
            m.frame_locked = False
        out.markers.append(m)
    return out


def pose_array_msg(header, positions: np.ndarray, orientations: np.ndarray) -> PoseArray:
    out = PoseArray(header=header)
    for p, q in zip(np.asarray(positions, np.float64).tolist(), np.asarray(orientations, np.float64).tolist()):
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = p
        pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = q
        out.poses.append(pose)
    return out


def point_fields() -> list[PointField]:
    return [PointField(name=n, offset=o, datatype=d, count=c) for n, o, d, c in FIELDS]


def point_cloud_msg(header, points: np.ndarray, use_sensor_msgs_py: bool = True) -> PointCloud2:
    """(N, 7) float32 cloud rows -> PointCloud2, through sensor_msgs_py.point_cloud2 when it is
    importable, else the same layout built with numpy."""
    points = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, len(FIELDS))
    if _pc2 is not None and use_sensor_msgs_py:
        return _pc2.create_cloud(header, point_fields(), points)
    data, width, row_step = cloud_data(points)
    return PointCloud2(header=header, height=1, width=width, fields=point_fields(), is_bigendian=False,
                       point_step=POINT_STEP, row_step=row_step, data=uint8_array(data), is_dense=False)
