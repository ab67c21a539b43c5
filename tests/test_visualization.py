"""The visualizer's cores (annotated image, 3D positions, markers and their lifecycle, the
point cloud layout) and the visualizer node on real DDS. RViz cannot run here: what RViz
would receive is checked field by field instead, and the annotated image of a synthetic
frame is written to artifacts/tests/ for a person to look at."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid_tracker_ros.visualization.colours import id_colour
from reid_tracker_ros.types import TrackSnapshot, TrackState
from reid_tracker_ros.visualization import (METHOD_DEPTH, METHOD_GROUND, CameraModel, MarkerBook, TrackVisualizer,
                                            VelocityEstimator, VisualizerSettings, annotate_tracks, depth_to_metres,
                                            ground_plane_positions, track_positions)
from reid_tracker_ros.visualization import cloud, markers
from reid_tracker_ros.visualization.annotate import RateMeter, TrailHistory
from reid_tracker_ros.visualization.geometry import median_box_depths, up_vector

W, H = 640, 480
CAM = CameraModel(500.0, 500.0, 320.0, 240.0, W, H)


def read_cloud(data, width: int) -> np.ndarray:
    """PointCloud2 data -> structured array by field name (the inverse of cloud_points)."""
    dtype = np.dtype({"names": list(cloud.FIELD_NAMES), "formats": ["<f4"] * len(cloud.FIELD_NAMES),
                      "offsets": [off for _, off, _, _ in cloud.FIELDS], "itemsize": cloud.POINT_STEP})
    return np.frombuffer(bytes(data), dtype=dtype, count=width)


def snapshot(ids, boxes, states=None, since=None) -> TrackSnapshot:
    n = len(ids)
    states = [TrackState.CONFIRMED] * n if states is None else states
    return TrackSnapshot(np.asarray(ids, np.int64), np.asarray(boxes, np.float64).reshape(-1, 4), np.full(n, 0.9),
                         np.zeros(n, np.int64), np.asarray(states, np.uint8), np.full(n, 10), np.full(n, 10),
                         np.zeros(n, np.int64) if since is None else np.asarray(since, np.int64), np.zeros((n, 2)))


def project(points: np.ndarray, cam: CameraModel = CAM) -> np.ndarray:
    p = np.asarray(points, np.float64).reshape(-1, 3)
    return np.column_stack([cam.fx * p[:, 0] / p[:, 2] + cam.cx, cam.fy * p[:, 1] / p[:, 2] + cam.cy])


def camera_to_world_floor(pitch_deg: float, height: float, forward: float, right: float) -> np.ndarray:
    """A floor point `forward` m ahead and `right` m to the right of a camera `height` m up,
    pitched down by `pitch_deg`, in the camera's optical frame."""
    p = np.radians(pitch_deg)
    # world (right, down, forward-horizontal) -> optical: rotate about x by the pitch
    world = np.array([right, height, forward])
    rot = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rot @ world


# -- camera and geometry -----------------------------------------------------------------------
def test_camera_model_from_fov_k_and_bad_values():
    cam = CameraModel.from_hfov(640, 480, 90.0)
    assert cam.fx == pytest.approx(320.0) and cam.fy == cam.fx and (cam.cx, cam.cy) == (320.0, 240.0)
    assert CameraModel.from_k([500, 0, 300, 0, 510, 200, 0, 0, 1], 640, 480).fy == 510
    with pytest.raises(ValueError, match="fx=0.0"):
        CameraModel.from_k([0.0] * 9, 640, 480)  # an uncalibrated driver's K
    with pytest.raises(ValueError, match="field of view"):
        CameraModel.from_hfov(640, 480, 0.0)
    half = CAM.scaled(320, 240)
    assert (half.fx, half.cx, half.width) == (250.0, 160.0, 320)


@pytest.mark.parametrize("pitch", [0.0, 12.0, 30.0])
def test_ground_plane_recovers_the_foot_point_of_a_standing_person(pitch):
    height = 1.4
    feet = np.array([camera_to_world_floor(pitch, height, fwd, right) for fwd, right in
                     ((4.0, -1.0), (7.5, 0.5), (12.0, 2.0))])
    uv = project(feet)
    boxes = np.column_stack([uv[:, 0] - 15, uv[:, 1] - 90, uv[:, 0] + 15, uv[:, 1]])
    got = ground_plane_positions(boxes, CAM, height, pitch)
    np.testing.assert_allclose(got, feet, atol=1e-9)
    # the floor is `height` below the camera along the world's up direction
    np.testing.assert_allclose(got @ up_vector(pitch), -height, atol=1e-9)


def test_ground_plane_rejects_feet_at_or_above_the_horizon_and_too_far():
    boxes = np.array([[300, 100, 340, 240.0],  # foot on the horizon of a level camera
                      [300, 50, 340, 200.0],  # above it
                      [300, 100, 340, 241.0]])  # just below: a point ~500 m away
    got = ground_plane_positions(boxes, CAM, 1.0, 0.0, max_range_m=30.0)
    assert np.isnan(got).all()


def test_depth_encodings_and_median_depth_inside_the_box():
    mm = np.array([[0, 1000], [65535, 2500]], np.uint16)
    np.testing.assert_allclose(depth_to_metres(mm, "16UC1"), [[np.nan, 1.0], [65.535, 2.5]], rtol=1e-6)
    m = np.array([[np.inf, -1.0], [np.nan, 3.25]], np.float32)
    np.testing.assert_allclose(depth_to_metres(m, "32FC1"), [[np.nan, np.nan], [np.nan, 3.25]])
    with pytest.raises(ValueError, match="'rgb8'"):
        depth_to_metres(mm, "rgb8")
    depth = np.full((H, W), 9.0, np.float32)  # background wall 9 m away
    depth[100:400, 200:260] = 4.0  # the person
    depth[150:160, 225:235] = np.nan  # holes are ignored
    box = np.array([[190, 90, 270, 410.0]])  # the box shows background at its edges
    assert median_box_depths(depth, box, (W, H))[0] == pytest.approx(4.0)
    # a half-resolution depth image of the same scene gives the same answer
    assert median_box_depths(depth[::2, ::2], box, (W, H))[0] == pytest.approx(4.0)


def test_track_positions_use_depth_where_it_measures_and_the_ground_elsewhere():
    pitch, height = 10.0, 1.2
    foot = camera_to_world_floor(pitch, height, 5.0, 0.3)
    u, v = project(foot)[0]
    person = np.array([u - 20, v - 120, u + 20, v])
    other = person + [150, 0, 150, 0]
    depth = np.full((H, W), np.nan, np.float32)  # no valid depth except on the first person
    depth[int(person[1]):int(person[3]), int(person[0]):int(person[2])] = foot[2]
    pos, method = track_positions(np.stack([person, other]), CAM, height, pitch, depth)
    assert method.tolist() == [METHOD_DEPTH, METHOD_GROUND]
    np.testing.assert_allclose(pos[0], foot, atol=1e-6)  # depth and ground agree on the floor
    assert pos[1, 0] > pos[0, 0] and pos[1, 2] == pytest.approx(foot[2], rel=1e-6)


def test_velocity_estimator_recovers_motion_and_forgets_ended_tracks():
    est = VelocityEstimator(smoothing=0.5, max_gap_s=1.0)
    truth = np.array([0.8, 0.0, -0.5])
    for k in range(12):
        v = est.update([3], [np.array([0.0, 1.0, 5.0]) + truth * k * 0.1], k * 0.1)
    np.testing.assert_allclose(v[0], truth, atol=1e-3)
    assert est.update([4], [[np.nan] * 3], 1.2)[0].tolist() == [0.0, 0.0, 0.0]  # unknown position
    est.update([5], [[0.0, 1.0, 3.0]], 5.0)  # 3.8 s later: track 3 is forgotten
    assert len(est) == 1


# -- markers, poses and the cloud ---------------------------------------------------------------
def test_marker_constants_match_visualization_msgs():
    from sensor_msgs.msg import PointField
    from visualization_msgs.msg import Marker

    assert (markers.ARROW, markers.CYLINDER, markers.TEXT_VIEW_FACING) == (Marker.ARROW, Marker.CYLINDER,
                                                                           Marker.TEXT_VIEW_FACING)
    assert (markers.ADD, markers.DELETE, markers.DELETEALL) == (Marker.ADD, Marker.DELETE, Marker.DELETEALL)
    assert cloud.FLOAT32 == PointField.FLOAT32


class FakeRviz:
    """Applies MarkerArray semantics as RViz does: ADD adds or replaces (ns, id), DELETE
    removes it, DELETEALL removes everything."""

    def __init__(self) -> None:
        self.shown: dict[tuple[str, int], markers.MarkerSpec] = {}

    def apply(self, specs) -> None:
        for m in specs:
            if m.action == markers.DELETEALL:
                self.shown.clear()
            elif m.action == markers.DELETE:
                self.shown.pop((m.ns, m.id), None)
            else:
                self.shown[(m.ns, m.id)] = m


def _frame(book: MarkerBook, ids, moving=(), lost=()):
    ids = list(ids)
    pos = np.array([[0.5 * i, 1.0, 4.0 + i] for i in ids]).reshape(-1, 3)
    vel = np.array([[1.0, 0, 0] if i in moving else [0.0, 0, 0] for i in ids]).reshape(-1, 3)
    states = [TrackState.LOST if i in lost else TrackState.CONFIRMED for i in ids]
    return book.update(ids, states, pos, np.full(len(ids), 1.7), vel)


def test_marker_lifecycle_adds_updates_and_deletes_so_no_ghosts_remain():
    book, rviz = MarkerBook(lifetime_s=1.0), FakeRviz()
    rviz.shown[("person", 99)] = markers.MarkerSpec("person", 99, markers.ADD)  # left by an earlier run
    first = _frame(book, [1, 2], moving=[2])
    assert first[0].action == markers.DELETEALL  # the first update clears the earlier run's markers
    rviz.apply(first)
    assert set(rviz.shown) == {("person", 1), ("label", 1), ("person", 2), ("label", 2), ("velocity", 2)}
    person = rviz.shown[("person", 2)]
    assert person.type == markers.CYLINDER and person.lifetime_s == 1.0
    assert person.colour[:3] == pytest.approx(tuple(c / 255 for c in id_colour(2)[::-1]))
    assert rviz.shown[("label", 1)].text.startswith("1 ") and rviz.shown[("label", 1)].type == markers.TEXT_VIEW_FACING
    # track 1 ends, 2 stops walking, 3 appears lost
    second = _frame(book, [2, 3], lost=[3])
    deleted = {(m.ns, m.id) for m in second if m.action == markers.DELETE}
    assert deleted == {("person", 1), ("label", 1), ("velocity", 2)}
    rviz.apply(second)
    assert set(rviz.shown) == {("person", 2), ("label", 2), ("person", 3), ("label", 3)}
    assert "lost" in rviz.shown[("label", 3)].text and rviz.shown[("person", 3)].colour[3] < 0.5
    rviz.apply(_frame(book, []))
    assert rviz.shown == {} and all(not ids for ids in book.live.values())
    # a track without a position (NaN) gets no marker
    assert [m for m in book.update([7], [1], [[np.nan] * 3], [1.7], [[0.0] * 3]) if m.action == markers.ADD] == []


def test_markers_and_labels_follow_the_global_id_across_cameras():
    """Two cameras' visualizers: the same person (global id 7) has different track ids but one
    colour and the label g7 in both; a track without a global id keeps its own colour."""
    pos, vel = np.array([[0.0, 1.0, 4.0], [1.0, 1.0, 5.0]]), np.zeros((2, 3))
    cam1 = MarkerBook().update([3, 4], [1, 1], pos, [1.7, 1.7], vel, global_ids=[7, 0])
    cam2 = MarkerBook().update([12], [1], pos[:1], [1.7], vel[:1], global_ids=[7])
    person = {(m.ns, m.id): m for m in cam1 + cam2 if m.action == markers.ADD}
    assert person[("person", 3)].colour == person[("person", 12)].colour != person[("person", 4)].colour
    assert person[("person", 3)].colour[:3] == pytest.approx(tuple(c / 255 for c in id_colour(7)[::-1]))
    assert person[("label", 3)].text.startswith("g7 (3)") and person[("label", 12)].text.startswith("g7 (12)")
    assert person[("label", 4)].text.startswith("4 ")
    tracks = snapshot([3, 4], [[10, 20, 50, 120], [200, 30, 260, 200]])
    tracks.global_ids = np.array([7, 0])
    assert tracks.display_ids().tolist() == [7, 4]
    img = annotate_tracks(np.zeros((240, 320, 3), np.uint8), tracks)
    b, g, r = id_colour(7)
    assert (img[20:121, 10] == (b, g, r)).all(axis=1).any()  # the box's left edge in the global id's colour


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(1, 12), max_size=6), min_size=1, max_size=15),
       st.sets(st.integers(1, 12)))
def test_rviz_shows_exactly_the_current_tracks_after_every_frame(frames, moving):
    book, rviz = MarkerBook(), FakeRviz()
    for ids in frames:
        rviz.apply(_frame(book, sorted(ids), moving=moving))
        expected = {(ns, i) for i in ids for ns in ("person", "label")} | {("velocity", i) for i in ids & moving}
        assert set(rviz.shown) == expected
    rviz.apply(book.clear())
    assert rviz.shown == {}


def test_upright_and_heading_orientations():
    def rotate(q, v):
        x, y, z, w = q
        u = np.array([x, y, z])
        return 2 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * np.asarray(v) + 2 * w * np.cross(u, v)

    for pitch in (0.0, 20.0):
        up = up_vector(pitch)
        np.testing.assert_allclose(rotate(markers.upright_quaternion(pitch), [0, 0, 1]), up, atol=1e-12)
        vel = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.05]])  # walking right; standing still
        quats = markers.heading_quaternions(vel, pitch)
        np.testing.assert_allclose(np.linalg.norm(quats, axis=1), 1.0)
        np.testing.assert_allclose(rotate(quats[0], [1, 0, 0]), [1, 0, 0], atol=1e-9)
        np.testing.assert_allclose(rotate(quats[0], [0, 0, 1]), up, atol=1e-9)
        facing = rotate(quats[1], [1, 0, 0])  # faces the camera, level with the floor
        assert facing[2] < 0 and abs(facing @ up) < 1e-9


def test_point_cloud_rows_and_the_pointcloud2_layout():
    ids = np.array([4, 7, 9])
    pos = np.array([[1.0, 1.2, 5.0], [np.nan] * 3, [-1.0, 1.1, 8.0]])
    vel = np.array([[0.5, 0, 0], [0, 0, 0], [np.nan, 0, 1.0]])
    rows = cloud.cloud_points(ids, pos, vel)
    assert rows.dtype == np.dtype("<f4") and rows.shape == (2, 7)
    np.testing.assert_allclose(rows[:, 3], [4, 9])
    np.testing.assert_allclose(rows[1, 4:], [0, 0, 1.0])  # a NaN velocity component becomes 0
    with pytest.raises(ValueError, match="exact as float32"):
        cloud.cloud_points([2 ** 25], [[0, 0, 1.0]], [[0, 0, 0.0]])

    from std_msgs.msg import Header

    from reid_tracker_ros.ros.viz_conversions import point_cloud_msg

    msg = point_cloud_msg(Header(frame_id="cam"), rows, use_sensor_msgs_py=False)
    # what sensor_msgs_py.point_cloud2.create_cloud makes of an (N, 7) float32 array
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        (n, 4 * i, 7, 1) for i, n in enumerate(("x", "y", "z", "id", "vx", "vy", "vz"))]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 2, 28, 56)
    assert not msg.is_bigendian and not msg.is_dense and msg.header.frame_id == "cam"
    # read back the way sensor_msgs_py.read_points does: a dtype from the message's own fields
    dtype = np.dtype({"names": [f.name for f in msg.fields], "formats": ["<f4"] * 7,
                      "offsets": [f.offset for f in msg.fields], "itemsize": msg.point_step})
    back = np.frombuffer(bytes(msg.data), dtype=dtype)
    np.testing.assert_allclose(back["id"], [4, 9])
    np.testing.assert_allclose(np.column_stack([back["x"], back["y"], back["z"]]), pos[[0, 2]])
    assert read_cloud(msg.data, msg.width)["vz"].tolist() == [0.0, 1.0]


# -- the annotated image -------------------------------------------------------------------------
def synthetic_frame() -> tuple[np.ndarray, TrackSnapshot]:
    img = np.full((H, W, 3), 70, np.uint8)
    cv2.rectangle(img, (0, 300), (W, H), (90, 120, 90), -1)  # a floor
    for x, c in ((110, (60, 60, 200)), (300, (200, 120, 40)), (480, (40, 200, 200))):
        cv2.ellipse(img, (x + 30, 240), (28, 90), 0, 0, 360, c, -1)
    tracks = snapshot([3, 8, 12], [[100, 140, 170, 335], [290, 150, 360, 340], [470, 145, 540, 338]],
                      states=[TrackState.CONFIRMED, TrackState.TENTATIVE, TrackState.LOST], since=[0, 0, 4])
    return img, tracks


def test_annotated_synthetic_frame_is_written_for_a_person_to_look_at(artifacts_dir):
    img, tracks = synthetic_frame()
    trails = TrailHistory(10)
    for k in range(6):  # a short walk to the right for track 3
        trails.update([3], [[100 - 8 * (5 - k), 140, 170 - 8 * (5 - k), 335]])
    out = annotate_tracks(img.copy(), tracks, trails, fps=12.5, show_tentative=True)
    path = artifacts_dir / "visualizer_annotated_synthetic.png"
    assert cv2.imwrite(str(path), out) and path.stat().st_size > 1000
    colour = np.array(id_colour(3))
    # the confirmed box's left edge is drawn in the id's colour, 2-3 px thick
    assert (np.abs(out[200:280, 99:102].astype(int) - colour).sum(axis=2) < 30).mean() > 0.9
    assert (np.abs(out[334, 60:100].astype(int) - colour).sum(axis=1) < 60).any()  # the trail
    lost = np.array(id_colour(12))
    edge = np.abs(out[150:330, 469:472].astype(int) - lost).sum(axis=2).min(axis=1) < 30
    assert 0.2 < edge.mean() < 0.9  # dashed: partly drawn
    assert (out[5:40, 5:200].min(axis=2) > 200).sum() > 50  # the white fps overlay
    # the tentative track is hidden unless asked for
    hidden = annotate_tracks(img.copy(), tracks, None, fps=None, show_tentative=False)
    assert np.array_equal(hidden[200:280, 289:292], img[200:280, 289:292])
    # rgb=True draws the same colour on an RGB image
    rgb = annotate_tracks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), tracks, trails, fps=12.5, show_tentative=True,
                          rgb=True)
    assert np.array_equal(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), out)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        annotate_tracks(np.zeros((4, 4), np.uint8), tracks)


def test_trails_are_bounded_and_forget_ended_tracks():
    trails = TrailHistory(length=5)
    for k in range(20):
        trails.update([1, 100 + k], [[k, 0, k + 10, 20], [0, 0, 5, 5]])  # one long track, many short ones
    assert len(trails.trail(1)) == 5 and trails.trail(1)[-1] == (19 + 5.0, 20.0)
    assert len(trails) <= 6
    rate = RateMeter(window=5)
    for t in np.arange(10) * 0.1:
        rate.tick(t)
    assert rate.rate == pytest.approx(10.0)


def test_track_visualizer_scene_is_consistent():
    vis = TrackVisualizer(VisualizerSettings(camera_height_m=1.2, camera_pitch_deg=5.0))
    scene = None
    for k in range(5):
        boxes = [[100 + 10 * k, 200, 140 + 10 * k, 330], [400, 210, 440, 300], [10, 10, 20, 20]]
        tracks = snapshot([1, 2, 3], boxes, states=[TrackState.CONFIRMED, TrackState.LOST, TrackState.TENTATIVE])
        scene = vis.update(tracks, k * 0.1, CAM)
    assert scene.track_ids.tolist() == [1, 2]  # tentative tracks are not published by default
    assert (scene.methods == METHOD_GROUND).all()
    np.testing.assert_allclose(scene.cloud[:, :3], scene.positions, rtol=1e-6)
    np.testing.assert_allclose(scene.cloud[:, 3], [1, 2])
    assert scene.velocities[0, 0] > 0.5 and abs(scene.velocities[1]).max() < 1e-9  # 1 walks right
    assert {m.ns for m in scene.markers} == {"person", "label", "velocity"}
    assert vis.camera_for(None, 1280, 720).fx == pytest.approx(640 / np.tan(np.radians(30)))
    assert vis.camera_for(CAM, 1280, 960).fx == 1000.0


# -- ROS conversions -----------------------------------------------------------------------------
def test_message_conversions_round_trip():
    from reid_msgs.msg import Track, TrackArray
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from reid_tracker_ros.ros.conversions import track_msgs_from
    from reid_tracker_ros.ros.viz_conversions import (camera_from_info, camera_info_msg, depth_from_msg,
                                                      marker_array_msg, pose_array_msg, snapshot_from_msg)

    tracks = snapshot([5, 6], [[10, 20, 50, 120], [200, 30, 260, 200]], states=[1, 2], since=[0, 3])
    tracks.velocities = np.array([[1.5, -0.5], [0.0, 2.0]])
    back = snapshot_from_msg(TrackArray(tracks=track_msgs_from(tracks, Track, {6: 42})))
    assert back.global_ids.tolist() == [0, 42]
    for field in ("track_ids", "boxes", "states", "frames_since_update", "velocities"):
        np.testing.assert_allclose(getattr(back, field), getattr(tracks, field), rtol=1e-6)
    assert len(snapshot_from_msg(TrackArray())) == 0

    info = camera_info_msg(Header(frame_id="cam"), CAM)
    assert camera_from_info(info) == CAM and info.p[0] == CAM.fx and info.distortion_model == "plumb_bob"
    info.k = [0.0] * 9
    assert camera_from_info(info) is None

    depth = np.arange(12, dtype=np.uint16).reshape(3, 4) * 100
    padded = np.zeros((3, 6), np.uint16)
    padded[:, :4] = depth  # rows padded to 12 bytes
    img = Image(height=3, width=4, encoding="16UC1", step=12, data=padded.tobytes())
    np.testing.assert_allclose(depth_from_msg(img)[1:], depth[1:] / 1000.0)
    img.encoding = "bgr8"
    with pytest.raises(ValueError, match="unsupported depth encoding 'bgr8'"):
        depth_from_msg(img)

    specs = MarkerBook(lifetime_s=0.5).update([5], [1], [[1.0, 1.0, 4.0]], [1.6], [[1.0, 0, 0]])
    arr = marker_array_msg(Header(frame_id="cam"), specs)
    assert [m.action for m in arr.markers] == [3, 0, 0, 0]
    arrow = arr.markers[3]
    assert arrow.type == arrow.ARROW and len(arrow.points) == 2 and arrow.lifetime.nanosec == 500_000_000
    assert all(m.header.frame_id == "cam" for m in arr.markers)
    poses = pose_array_msg(Header(frame_id="cam"), np.array([[1.0, 2.0, 3.0]]), np.array([[0, 0, 0, 1.0]]))
    assert poses.poses[0].position.z == 3.0 and poses.poses[0].orientation.w == 1.0


# -- the node on real DDS ------------------------------------------------------------------------
def test_visualizer_node_publishes_annotated_image_markers_poses_and_cloud(ros_context, tmp_path, artifacts_dir):
    import rclpy
    from geometry_msgs.msg import PoseArray
    from reid_msgs.msg import Track, TrackArray
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from visualization_msgs.msg import MarkerArray

    from reid_tracker_ros.graph import camera_pipeline
    from reid_tracker_ros.topics import VISUALIZER_TOPICS
    from reid_tracker_ros.ros.conversions import stamp_to_ns, track_msgs_from
    from reid_tracker_ros.images import image_to_rgb
    from reid_tracker_ros.ros.qos import data_qos
    from reid_tracker_ros.ros.conversions import fill_image_msg
    from reid_tracker_ros.ros.viz_conversions import camera_info_msg
    from reid_tracker_ros.runner import GraphRunner

    # reliable images: a best-effort subscriber may miss the first frames while it connects
    specs = [s for s in camera_pipeline(depth_topic="/camera/depth", visualizer_overrides={"image_qos": "reliable"})
             if s.name == "visualizer"]
    runner = GraphRunner(specs, tmp_path / "logs", profile="local").start()
    node = rclpy.create_node("visualizer_probe")
    q = data_qos(50)
    pubs = {"image": node.create_publisher(Image, "/camera/image_raw", q),
            "info": node.create_publisher(CameraInfo, "/camera/camera_info", q),
            "depth": node.create_publisher(Image, "/camera/depth", q),
            "tracks": node.create_publisher(TrackArray, "/tracks", q)}
    got: dict[str, dict[int, object]] = {k: {} for k in VISUALIZER_TOPICS}
    def header_of(msg):  # a MarkerArray has none of its own: its markers carry it
        return msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header

    for key, cls in (("annotated_image", Image), ("markers", MarkerArray), ("poses", PoseArray),
                     ("points", PointCloud2)):
        node.create_subscription(cls, "/" + VISUALIZER_TOPICS[key],
                                 lambda m, k=key: got[k].__setitem__(stamp_to_ns(header_of(m).stamp), m), q)

    def spin_until(pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and not pred():
            runner.check_alive()
            rclpy.spin_once(node, timeout_sec=0.02)
        return pred()

    try:
        assert spin_until(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), 60)
        img, tracks = synthetic_frame()
        depth = np.zeros((H, W), np.uint16)
        depth[140:335, 100:170] = 4000  # track 3 stands 4 m away; no depth elsewhere

        def send_frame(stamp: int, ids) -> None:
            header = Image().header
            header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
            header.frame_id = "camera_color_optical_frame"
            pubs["info"].publish(camera_info_msg(header, CAM))
            dmsg = Image(header=header, height=H, width=W, encoding="16UC1", step=2 * W, data=depth.tobytes())
            pubs["depth"].publish(dmsg)
            imsg = Image(header=header)
            fill_image_msg(imsg, img, encoding="bgr8")
            pubs["image"].publish(imsg)
            spin_until(lambda: False, 0.2)  # tracks come later than the camera's data, as on a robot
            keep = [i for i, t in enumerate([3, 8, 12]) if t in ids]
            snap = snapshot(np.asarray([3, 8, 12])[keep], tracks.boxes[keep], tracks.states[keep],
                            tracks.frames_since_update[keep])
            pubs["tracks"].publish(TrackArray(header=header, image_width=W, image_height=H,
                                              tracks=track_msgs_from(snap, Track)))
            assert spin_until(lambda: all(stamp in got[k] for k in got), 15), \
                f"frame {stamp}: got {[k2 for k2 in got if stamp in got[k2]]}\n{runner.log_tail('visualizer')}"

        # warm-up frames until the depth path is flowing: DDS can deliver the very first large
        # message of a new connection after the tracks that follow it (the node then falls back to
        # the ground plane, as it should); the node's first marker array clears RViz
        warm = [10**9 * 400 + k * 100_000_000 for k in range(10)]
        for stamp in warm:
            send_frame(stamp, [3, 8, 12])
            if read_cloud(got["points"][stamp].data, got["points"][stamp].width)["z"][0] == pytest.approx(4.0, rel=1e-4):
                break
        else:
            raise AssertionError(f"depth never reached the visualizer\n{runner.log_tail('visualizer')}")
        first_markers = got["markers"][warm[0]].markers
        assert first_markers[0].action == first_markers[0].DELETEALL
        sent = [10**9 * 500 + k * 100_000_000 for k in range(3)]
        for k, stamp in enumerate(sent):
            send_frame(stamp, [3, 8, 12] if k < 2 else [8, 12])  # track 3 ends in the last frame
        first, last = sent[0], sent[-1]
        ann = got["annotated_image"][first]
        assert ann.encoding == "bgr8" and (ann.width, ann.height) == (W, H)
        assert ann.header.frame_id == "camera_color_optical_frame"
        annotated = cv2.cvtColor(image_to_rgb(ann), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(artifacts_dir / "visualizer_node_annotated.png"), annotated)
        assert not np.array_equal(annotated, img)
        # 3D: track 3 from depth (4 m), track 12 (lost) from the ground plane; tentative 8 not shown
        cloud_msg = got["points"][first]
        assert cloud_msg.header.frame_id == "camera_color_optical_frame" and cloud_msg.width == 2
        pts = read_cloud(cloud_msg.data, cloud_msg.width)
        assert pts["id"].tolist() == [3.0, 12.0]
        assert pts["z"][0] == pytest.approx(4.0, rel=1e-4)
        assert len(got["poses"][first].poses) == 2
        first_markers = got["markers"][first].markers
        assert {(m.ns, m.id) for m in first_markers if m.action == m.ADD} >= {("person", 3), ("person", 12)}
        # the track that ended is deleted: no ghost in RViz
        deleted = {(m.ns, m.id) for m in got["markers"][last].markers if m.action == m.DELETE}
        assert {("person", 3), ("label", 3)} <= deleted
        assert len(got["poses"][last].poses) == 1
        runner.check_alive()
    finally:
        node.destroy_node()
        runner.stop()
