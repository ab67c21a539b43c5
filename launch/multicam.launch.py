"""Several cameras, one identity: N camera pipelines in namespaces plus one identity node.

    # camera drivers publish /cam1/image_raw, /cam2/image_raw (and camera_info):
    ros2 launch reid_tracker_ros multicam.launch.py cameras:=cam1,cam2 rviz:=true
    # videos or image folders instead of drivers, a gallery kept across restarts:
    ros2 launch reid_tracker_ros multicam.launch.py cameras:=left,right \\
        sources:=/data/left.mp4,/data/right.mp4 gallery_path:=$HOME/.ros/reid_identities.npz

Each camera runs [source ->] detector -> embedder -> tracker -> visualizer in its namespace
(/<camera>/tracks, /<camera>/tracks/markers, ...); its tracker publishes summaries to the
identity node on /identity/track_summaries and fills Track.global_id from its answers; markers
are coloured by global id. The specs come from reid_tracker_ros.graph.multicam_pipeline, which
the local runner starts too (run_graph --cameras cam1,cam2). Cameras on other computers join by
running their pipeline with the tracker's identity:=true and a distinct camera_name.
"""
import os
import tempfile

from launch.actions import SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from reid_tracker_ros.config import load_node_parameters
from reid_tracker_ros.graph import (PACKAGE, launch_environment, launch_node_kwargs, multicam_pipeline,
                                    multicam_rviz_config)
from reid_tracker_ros.launch_arguments import detector_backend, flag, shared
from reid_tracker_ros.launch_checks import Need, require, source_need
from reid_tracker_ros.ros.launch_description import launch_description

ARGUMENTS = {
    "cameras": ("cam1,cam2", "comma-separated camera names: each one's nodes run in that namespace"),
    "sources": ("", "comma-separated video files / webcam indices / image folders, one per camera (empty: "
                    "camera drivers publish /<camera>/<image>)"),
    "image": ("image_raw", "image topic inside each camera's namespace"),
    "gallery_path": ("", "identity gallery file kept across restarts (empty: the config's value)"),
    **shared("config", "detector", "tracker", "rviz", "dds_profile"),
}


def _actions(context, *_, **__):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    rviz = flag("rviz", value["rviz"])
    cameras = [c.strip() for c in value["cameras"].split(",") if c.strip()]
    sources = [s.strip() for s in value["sources"].split(",") if s.strip()] or None
    specs = multicam_pipeline(
        cameras, [value["config"]], image_topic=value["image"], sources=sources,
        identity_overrides={"gallery_path": value["gallery_path"]} if value["gallery_path"] else None,
        detector_backend=detector_backend(value["detector"]), tracker=value["tracker"] or None)
    needs = [Need(why=f"the {spec.key} node", off="build the workspace (make setup) and source env.bash",
                  package=PACKAGE, executable=spec.executable) for spec in specs]
    needs += [source_need(s) for s in sources or () if source_need(s)]
    if rviz:
        needs.append(Need(why="rviz:=true", package="rviz2", executable="rviz2",
                          off="rviz:=false starts without it (or install ros-$ROS_DISTRO-rviz2)"))
    require("multicam.launch.py", needs)
    env = launch_environment(value["dds_profile"], os.environ)
    actions = [SetEnvironmentVariable(k, v) for k, v in {**env, "REID_LAUNCHER_PID": str(os.getpid())}.items()]
    actions += [Node(**launch_node_kwargs(spec)) for spec in specs]
    if rviz:
        # each camera's image, markers, poses and points; with sources (no robot TF) the view is
        # fixed in the sources' frame_id, where every camera's markers are drawn
        frame = load_node_parameters("source", list(specs[0].param_files))["frame_id"] if sources else ""
        config = multicam_rviz_config(cameras, tempfile.mkdtemp(prefix="reid_multicam_rviz_"), frame)
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", output="log",
                            arguments=["-d", str(config)]))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
