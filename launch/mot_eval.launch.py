"""MOT replay evaluation on a robot with apt ROS 2: the tracking graph with the evaluation
overrides (reliable QoS, public detections) plus the lockstep evaluator, which plays the
bag frame by frame, waits for each frame's tracks and prints HOTA/MOTA/IDF1 at the end.

    ros2 launch reid_tracker_ros mot_eval.launch.py seq:=/data/MOT16/train/MOT16-09
    ros2 launch reid_tracker_ros mot_eval.launch.py seq:=/data/MOT16/train/MOT16-09 detector:=ultralytics
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from reid_tracker_ros.graph import EVALUATOR_EXECUTABLE, PACKAGE, environment, evaluation_pipeline

ARGUMENTS = {
    "seq": ("", "MOTChallenge sequence folder (seqinfo.ini, img1/, det/det.txt, gt/gt.txt)"),
    "detector": ("public", "public (the sequence's public detections) | ultralytics"),
    "tracker": ("", "tracker strategy override (empty: the config's value)"),
    "mode": ("lockstep", "lockstep (wait for every frame's tracks) | realtime (play at the frame rate)"),
    "out": ("runs/eval", "folder for the bag, results and metrics JSON"),
    "dds_profile": ("local", "Fast DDS profile: local (this host only) | robot"),
}


def _actions(context, *_, **__):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    if not value["seq"]:
        raise RuntimeError("mot_eval.launch.py needs seq:=<MOTChallenge sequence folder>")
    actions = [SetEnvironmentVariable(k, v) for k, v in environment(value["dds_profile"]).items()
               if k not in os.environ]
    for spec in evaluation_pipeline(detector_backend=value["detector"], tracker=value["tracker"] or None):
        parameters = list(spec.param_files) + ([spec.overrides] if spec.overrides else [])
        actions.append(Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
                            parameters=parameters, remappings=list(spec.remappings)))
    actions.append(Node(package=PACKAGE, executable=EVALUATOR_EXECUTABLE, name="mot_evaluator", output="screen",
                        arguments=["--seq", value["seq"], "--detector", value["detector"], "--mode", value["mode"],
                                   "--out", value["out"], "--external-graph"]))
    return actions


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, (default, text) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_actions)])
