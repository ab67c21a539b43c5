"""Static checks of launch/camera.launch.py and config/reid_tracker.rviz (neither `launch` nor
RViz can run here): the launch file is imported with the stand-in of tests/test_launch_files.py
and the graph, the RViz and TF nodes it would start are compared with what exists."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from test_launch_files import Node, SetEnvironmentVariable, _check_nodes, _expand, _load, launch_stub  # noqa: F401

from reid_tracker_ros.graph import rviz_config_path
from reid_tracker_ros.topics import VISUALIZER_TOPICS

ROOT = Path(__file__).resolve().parents[1]


def _nodes(actions):
    return [a for a in actions if isinstance(a, Node)]


def test_camera_launch_starts_the_graph_with_the_visualizer(launch_stub):
    ld = _load("camera.launch.py").generate_launch_description()
    declared, actions = _expand(ld)
    assert {"source", "image", "camera_info", "depth", "config", "detector", "tracker", "rviz", "fixed_frame",
            "camera_tf", "dds_profile"} <= set(declared)
    assert (declared["image"], declared["camera_info"], declared["rviz"]) == ("/camera/image_raw",
                                                                              "/camera/camera_info", "false")
    nodes = _nodes(actions)
    assert [n.kwargs["name"] for n in nodes] == ["detector", "embedder", "tracker", "visualizer"]
    _check_nodes(nodes)
    vis = nodes[-1].kwargs
    assert vis["executable"] == "visualizer_node"
    assert set(vis["remappings"]) == {("image", "/camera/image_raw"), ("camera_info", "/camera/camera_info")}
    assert not [p for p in vis["parameters"] if isinstance(p, dict)]  # ground plane: use_depth from the config
    env = {a.name: a.value for a in actions if isinstance(a, SetEnvironmentVariable)}
    assert Path(env["FASTRTPS_DEFAULT_PROFILES_FILE"]).name == "fastdds.xml"


def test_camera_launch_with_a_video_depth_and_rviz(launch_stub):
    ld = _load("camera.launch.py").generate_launch_description()
    _, actions = _expand(ld, source="/data/walk.mp4", depth="/camera/aligned_depth", rviz="true",
                         fixed_frame="odom", image="/cam/color/image_raw", camera_info="/cam/color/camera_info")
    nodes = _nodes(actions)
    names = [n.kwargs["name"] for n in nodes]
    assert names == ["source", "detector", "embedder", "tracker", "visualizer", "camera_tf", "rviz2"]
    ours = [n for n in nodes if n.kwargs["package"] == "reid_tracker_ros"]
    _check_nodes(ours)
    source, vis = ours[0].kwargs, ours[-1].kwargs
    assert source["executable"] == "source_node" and {"uri": "/data/walk.mp4"} in source["parameters"]
    assert set(source["remappings"]) == {("image", "/cam/color/image_raw"), ("camera_info", "/cam/color/camera_info")}
    assert {"use_depth": True} in vis["parameters"] and ("depth", "/camera/aligned_depth") in vis["remappings"]
    tf, rviz = nodes[-2].kwargs, nodes[-1].kwargs
    assert (tf["package"], tf["executable"]) == ("tf2_ros", "static_transform_publisher")
    args = dict(zip(tf["arguments"][::2], tf["arguments"][1::2]))
    assert (args["--frame-id"], args["--child-frame-id"], float(args["--z"])) == ("base_link",
                                                                                  "camera_optical_frame", 1.0)
    assert float(args["--roll"]) == pytest.approx(-math.pi / 2, abs=1e-5)  # level camera (pitch 0 in default.yaml)
    assert float(args["--yaw"]) == pytest.approx(-math.pi / 2, abs=1e-5)
    assert (rviz["package"], rviz["executable"]) == ("rviz2", "rviz2")
    assert rviz["arguments"][0] == "-d" and Path(rviz["arguments"][1]).is_file()
    assert rviz["arguments"][2:] == ["-f", "odom"]
    # a webcam index becomes a device path (a bare 0 would reach the node as an integer)
    _, cam = _expand(ld, source="0")
    assert {"uri": "/dev/video0"} in _nodes(cam)[0].kwargs["parameters"]
    # a camera driver without source:= gets no TF of ours unless asked
    _, driver = _expand(ld, camera_tf="true")
    assert "camera_tf" in [n.kwargs["name"] for n in _nodes(driver)]
    with pytest.raises(RuntimeError, match="rviz:=maybe"):
        _expand(ld, rviz="maybe")
    with pytest.raises(RuntimeError, match="detector:=dpm"):
        _expand(ld, detector="dpm")


def test_rviz_config_shows_the_visualizer_topics():
    path = rviz_config_path()
    assert path.is_file() and path.name == "reid_tracker.rviz"
    doc = yaml.safe_load(path.read_text())
    manager = doc["Visualization Manager"]
    displays = {d["Class"]: d for d in manager["Displays"]}
    assert all(cls.startswith("rviz_default_plugins/") for cls in displays)
    topics = {cls.split("/")[1]: d["Topic"]["Value"] for cls, d in displays.items() if "Topic" in d}
    assert topics == {"Image": "/" + VISUALIZER_TOPICS["annotated_image"],
                      "MarkerArray": "/" + VISUALIZER_TOPICS["markers"],
                      "PoseArray": "/" + VISUALIZER_TOPICS["poses"],
                      "PointCloud2": "/" + VISUALIZER_TOPICS["points"]}
    assert displays["rviz_default_plugins/Image"]["Enabled"] and displays["rviz_default_plugins/MarkerArray"]["Enabled"]
    assert displays["rviz_default_plugins/PointCloud2"]["Channel Name"] == "id"
    assert set(displays["rviz_default_plugins/MarkerArray"]["Namespaces"]) == {"person", "label", "velocity"}
    assert manager["Global Options"]["Fixed Frame"] == "base_link"
    setup_text = (ROOT / "src" / "reid_tracker_ros" / "setup.py").read_text()
    assert 'glob("config/*.rviz")' in setup_text  # installed with the package
