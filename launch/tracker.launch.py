"""Camera pipeline: detector -> embedder -> tracker on a live image topic.

    ros2 launch reid_tracker_ros tracker.launch.py image:=/camera/image_raw
    ros2 launch launch/tracker.launch.py image:=/camera/color/image_raw config:=/path/my.yaml detector:=ultralytics

detector, embedder and tracker are lifecycle nodes (lifecycle_msgs services, ``ros2 lifecycle``);
with ``autostart:=true`` (default) they configure and activate themselves, so no lifecycle
manager is needed; ``autostart:=false`` starts them as launch_ros ``LifecycleNode`` actions,
left unconfigured for a lifecycle manager or ``ros2 lifecycle set /detector configure`` then
``activate``.

The nodes, parameter files and remappings come from reid_tracker_ros.graph, the same
description the local runner (tests, demo, evaluator) starts, so both run the same graph.
"""
import os

from launch.actions import SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from reid_tracker_ros.graph import PACKAGE, launch_environment, launch_node_kwargs, pipeline
from reid_tracker_ros.launch_arguments import detector_backend, flag, shared
from reid_tracker_ros.launch_checks import Need, require
from reid_tracker_ros.ros.launch_description import launch_description

ARGUMENTS = {
    "image": ("/camera/image_raw", "input sensor_msgs/Image topic"),
    **shared("config", "detector", "dds_profile"),
    "autostart": ("true", "true: the lifecycle nodes configure and activate themselves | false: they wait "
                  "unconfigured for a lifecycle manager (ros2 lifecycle set /detector configure ...)"),
}


def _actions(context, *_, **__):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    autostart = flag("autostart", value["autostart"])
    env = launch_environment(value["dds_profile"], os.environ)
    specs = pipeline([value["config"]], image_topic=value["image"],
                     detector_backend=detector_backend(value["detector"]))
    # checked before any process starts (a half-started launch leaves its nodes running)
    require("tracker.launch.py", [Need(why=f"the {spec.name} node", package=PACKAGE, executable=spec.executable,
                                       off="build the workspace (make setup) and source env.bash")
                                  for spec in specs])
    # this launch's pid: a node that starts after the launch died ends itself (node_runtime)
    actions = [SetEnvironmentVariable(k, v) for k, v in {**env, "REID_LAUNCHER_PID": str(os.getpid())}.items()]
    for spec in specs:
        kwargs = launch_node_kwargs(spec)
        if not autostart:
            kwargs["parameters"] = [*kwargs["parameters"], {"autostart": False}]
            # LifecycleNode needs the namespace spelled out (Humble and Jazzy): kwargs has it
            actions.append(LifecycleNode(**kwargs))
        else:
            actions.append(Node(**kwargs))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
