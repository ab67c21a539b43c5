"""MOT replay evaluation on a robot with apt ROS 2: the tracking graph with the evaluation
overrides (reliable QoS, public detections) plus the lockstep evaluator, which plays the
sequence frame by frame, waits for each frame's tracks, prints HOTA/MOTA/IDF1 and then
shuts the launch down.

    ros2 launch reid_tracker_ros mot_eval.launch.py seq:=/data/MOT16/train/MOT16-09
    ros2 launch reid_tracker_ros mot_eval.launch.py seq:=/data/MOT16/train/MOT16-09 detector:=yolo
"""
import os
from pathlib import Path

from launch.actions import RegisterEventHandler, SetEnvironmentVariable, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from reid_tracker_ros.graph import (DETECTOR_ALIASES, EVALUATOR_EXECUTABLE, PACKAGE, evaluation_pipeline,
                                    image_subscriber_count, launch_environment, launch_node_kwargs)
from reid_tracker_ros.launch_checks import Need, require
from reid_tracker_ros.ros.launch_description import launch_description

ARGUMENTS = {
    "seq": ("", "MOTChallenge sequence folder (seqinfo.ini, img1/, det/det.txt, gt/gt.txt)"),
    "detector": ("public", "public (the sequence's public detections) | yolo (run the YOLO detector)"),
    "tracker": ("", "tracker strategy override (empty: the config's value)"),
    "mode": ("lockstep", "lockstep (wait for every frame's tracks) | realtime (play at the frame rate)"),
    "out": ("runs/eval", "folder for the bag, results and metrics JSON"),
    "dds_profile": ("local", "Fast DDS profile: local (this computer only) | robot | env"),
}


def _actions(context, *_, **__):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    if not value["seq"]:
        raise RuntimeError("mot_eval.launch.py needs seq:=<MOTChallenge sequence folder>")
    if value["detector"] not in DETECTOR_ALIASES:
        raise RuntimeError(f"detector:={value['detector']} is not one of {sorted(DETECTOR_ALIASES)}")
    env = launch_environment(value["dds_profile"], os.environ)
    specs = evaluation_pipeline(detector_backend=DETECTOR_ALIASES[value["detector"]],
                                tracker=value["tracker"] or None)
    # checked before any process starts (a half-started launch leaves its nodes running)
    build = "build the workspace (make setup) and source env.bash"
    seq = Path(value["seq"]).expanduser()
    needs = [Need(why=f"the {spec.name} node", package=PACKAGE, executable=spec.executable, off=build)
             for spec in specs]
    needs.append(Need(why="the evaluator", package=PACKAGE, executable=EVALUATOR_EXECUTABLE, off=build))
    needs.append(Need(why="seq:=", path=str(seq), kind="folder", off="give a MOTChallenge sequence folder"))
    if seq.is_dir():
        if not (seq / "img1").is_dir():
            needs.append(Need(why="seq:= (its frames)", path=str(seq / "img1"), kind="folder",
                              off="give a MOTChallenge sequence folder"))
        if value["detector"] == "public":
            needs.append(Need(why="detector:=public (the public detections)", path=str(seq / "det" / "det.txt"),
                              off="detector:=yolo runs the YOLO detector instead"))
    require("mot_eval.launch.py", needs)
    # this launch's pid: a node that starts after the launch died ends itself (node_runtime)
    actions = [SetEnvironmentVariable(k, v) for k, v in {**env, "REID_LAUNCHER_PID": str(os.getpid())}.items()]
    actions += [Node(**launch_node_kwargs(spec)) for spec in specs]
    arguments = ["--seq", value["seq"], "--detector", value["detector"], "--mode", value["mode"],
                 "--out", value["out"], "--external-graph",
                 "--image-subscribers", str(image_subscriber_count(specs))]
    if value["tracker"]:
        arguments += ["--tracker", value["tracker"]]
    evaluator = Node(package=PACKAGE, executable=EVALUATOR_EXECUTABLE, name="mot_evaluator", output="screen",
                     arguments=arguments)
    actions.append(evaluator)
    # the evaluation ends the launch: without this, the nodes would keep running after the metrics
    actions.append(RegisterEventHandler(OnProcessExit(target_action=evaluator,
                                                      on_exit=[Shutdown(reason="evaluation finished")])))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
