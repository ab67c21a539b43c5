"""People tracking on a camera, with the visualizer and optionally RViz.

    # a camera driver already publishes /camera/image_raw and /camera/camera_info:
    ros2 launch reid_tracker_ros camera.launch.py rviz:=true
    # an RGB-D camera: aligned depth gives the 3D positions
    ros2 launch reid_tracker_ros camera.launch.py image:=/camera/camera/color/image_raw \\
        camera_info:=/camera/camera/color/camera_info depth:=/camera/camera/aligned_depth_to_color/image_raw
    # no driver: a video file, a webcam index or an image folder through the source node
    ros2 launch reid_tracker_ros camera.launch.py source:=/path/video.mp4 rviz:=true

Graph: [source ->] detector -> embedder -> tracker -> visualizer, described in
reid_tracker_ros.graph.camera_pipeline (the same specs the local runner and the video demo
start). Topics out: /tracks, /tracks/annotated_image, /tracks/markers, /tracks/poses,
/tracks/points, all in the camera image's frame_id.
"""
import os

from launch.actions import SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from reid_tracker_ros.graph import (DEFAULT_CAMERA_INFO_TOPIC, DEFAULT_IMAGE_TOPIC, PACKAGE, camera_pipeline,
                                    camera_tf_arguments, launch_environment, launch_node_kwargs, rviz_config_path)
from reid_tracker_ros.launch_arguments import detector_backend, flag, shared
from reid_tracker_ros.launch_checks import Need, require, source_need
from reid_tracker_ros.ros.launch_description import launch_description

ARGUMENTS = {
    "source": ("", "play a video file, a webcam index (0) or an image folder through the source node "
                   "(empty: a camera driver publishes the image)"),
    "image": (DEFAULT_IMAGE_TOPIC, "sensor_msgs/Image topic"),
    "camera_info": (DEFAULT_CAMERA_INFO_TOPIC, "sensor_msgs/CameraInfo topic (intrinsics for the 3D positions)"),
    "depth": ("", "depth image aligned to the image (16UC1 mm or 32FC1 m): 3D positions from depth "
                  "(empty: from the ground plane, camera_height_m / camera_pitch_deg in the config)"),
    **shared("config", "detector", "tracker", "rviz"),
    "fixed_frame": ("", "RViz fixed frame (empty: the .rviz file's base_link)"),
    "camera_tf": ("auto", "publish a static base_link -> camera frame transform from the visualizer's camera "
                          "height and pitch: auto (only with source:=..., where no driver or robot gives TF) | "
                          "true | false"),
    **shared("dds_profile"),
}


def _actions(context, *_, **__):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    backend = detector_backend(value["detector"])
    if value["camera_tf"] not in ("auto", "true", "false"):
        raise RuntimeError(f"camera_tf:={value['camera_tf']} must be auto, true or false")
    rviz = flag("rviz", value["rviz"])
    camera_tf = value["camera_tf"] == "true" or (value["camera_tf"] == "auto" and bool(value["source"]))
    env = launch_environment(value["dds_profile"], os.environ)
    specs = camera_pipeline([value["config"]], image_topic=value["image"], camera_info_topic=value["camera_info"],
                            depth_topic=value["depth"] or None, source=value["source"] or None,
                            detector_backend=backend, tracker=value["tracker"] or None)
    # everything is checked before any process starts: a launch failing half-way would leave
    # the nodes it already started running
    needs = [Need(why=f"the {spec.name} node", off="build the workspace (make setup) and source env.bash",
                  package=PACKAGE, executable=spec.executable) for spec in specs]
    if value["source"] and source_need(value["source"]):
        needs.append(source_need(value["source"]))
    if camera_tf:
        auto = " (camera_tf:=auto turns it on with source:=)" if value["camera_tf"] == "auto" else ""
        needs.append(Need(why=f"the static base_link -> camera transform{auto}", package="tf2_ros",
                          executable="static_transform_publisher",
                          off="camera_tf:=false starts without it (or install ros-$ROS_DISTRO-tf2-ros)"))
    if rviz:
        needs.append(Need(why="rviz:=true", package="rviz2", executable="rviz2",
                          off="rviz:=false starts without it (or install ros-$ROS_DISTRO-rviz2)"))
        needs.append(Need(why="rviz:=true", path=str(rviz_config_path()),
                          off="rviz:=false starts without it (the package installs config/reid_tracker.rviz)"))
    require("camera.launch.py", needs)

    # this launch's pid: a node that starts after the launch died ends itself (node_runtime)
    actions = [SetEnvironmentVariable(k, v) for k, v in {**env, "REID_LAUNCHER_PID": str(os.getpid())}.items()]
    actions += [Node(**launch_node_kwargs(spec)) for spec in specs]
    if camera_tf:
        actions.append(Node(package="tf2_ros", executable="static_transform_publisher", name="camera_tf",
                            output="log", arguments=camera_tf_arguments([value["config"]])))
    if rviz:
        arguments = ["-d", str(rviz_config_path())]
        if value["fixed_frame"]:
            arguments += ["-f", value["fixed_frame"]]
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", output="log", arguments=arguments))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
