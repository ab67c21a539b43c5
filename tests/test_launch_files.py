"""Static checks of launch/*.launch.py where the real `launch` is absent (no apt ROS 2 and no
../shared/ros2): they are imported with a small stand-in of the launch API that records what
they declare, then the graph they would start is compared with what exists (executables,
files, topics). Where the real `launch` is present, tests/test_ros2_launch.py runs the launch
files for real instead and these are skipped."""
from __future__ import annotations

import ast
import os
import importlib.util
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_DIR = ROOT / "launch"
PKG_DIR = ROOT / "src" / "reid_tracker_ros"


# Stand-ins with the real signatures of launch / launch_ros (Humble and Jazzy): a wrong or
# misspelled keyword in a launch file fails here as it would on a robot.
class DeclareLaunchArgument:
    def __init__(self, name, *, default_value=None, description=None, choices=None):
        self.name, self.default_value, self.description = name, default_value, description


class OpaqueFunction:
    def __init__(self, *, function, args=None, kwargs=None):
        self.function = function


class SetEnvironmentVariable:
    def __init__(self, name, value):
        self.name, self.value = name, value


class RegisterEventHandler:
    def __init__(self, event_handler):
        self.event_handler = event_handler


class Shutdown:
    def __init__(self, *, reason="reason not given"):
        self.reason = reason


class OnProcessExit:
    def __init__(self, *, target_action=None, on_exit):
        self.target_action, self.on_exit = target_action, on_exit


class Node:
    def __init__(self, *, executable, package=None, name=None, namespace=None, exec_name=None, parameters=None,
                 remappings=None, ros_arguments=None, arguments=None, output="log", **ignored):
        assert not ignored, f"unknown Node arguments {sorted(ignored)}"
        self.kwargs = {"executable": executable, "package": package, "name": name, "namespace": namespace or "",
                       "parameters": parameters or [], "remappings": remappings or [], "arguments": arguments or [],
                       "output": output}


class LifecycleNode(Node):
    """launch_ros.actions.LifecycleNode: name and namespace are required keywords (Humble, Jazzy)."""

    def __init__(self, *, name, namespace, **kwargs):
        super().__init__(name=name, namespace=namespace, **kwargs)


class LaunchDescription:
    def __init__(self, initial_entities=None):
        self.entities = list(initial_entities or [])


class LaunchConfiguration:
    def __init__(self, variable_name, *, default=None):
        self.name = variable_name

    def perform(self, context):
        return context.launch_configurations[self.name]


def _real_launch_present() -> bool:
    if os.environ.get("REID_FORCE_LAUNCH_STUB") == "1":  # checks the stand-in path where launch exists
        return False
    try:
        import launch  # noqa: F401
        import launch_ros  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture()
def launch_stub(monkeypatch):
    if _real_launch_present():
        pytest.skip("the real launch/launch_ros are installed: tests/test_ros2_launch.py runs the launch files "
                    "with them")
    # the launch files' pre-start checks look packages and files up; the stand-in's graphs name
    # paths of a robot (/data/...) and packages (tf2_ros, rviz2) this machine does not have
    from reid_tracker_ros import launch_checks

    monkeypatch.setattr(launch_checks, "path_problem", lambda path, kind: None)
    monkeypatch.setattr(launch_checks, "executable_problem", lambda package, executable: None)
    modules = {
        "launch": types.SimpleNamespace(LaunchDescription=LaunchDescription),
        "launch.actions": types.SimpleNamespace(DeclareLaunchArgument=DeclareLaunchArgument,
                                                OpaqueFunction=OpaqueFunction,
                                                SetEnvironmentVariable=SetEnvironmentVariable,
                                                RegisterEventHandler=RegisterEventHandler, Shutdown=Shutdown),
        "launch.event_handlers": types.SimpleNamespace(OnProcessExit=OnProcessExit),
        "launch.substitutions": types.SimpleNamespace(LaunchConfiguration=LaunchConfiguration),
        "launch_ros": types.SimpleNamespace(),
        "launch_ros.actions": types.SimpleNamespace(Node=Node, LifecycleNode=LifecycleNode),
    }
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    # a robot shell has none of our variables set: the launch file must set them itself
    for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(var, raising=False)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH_DIR / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _console_scripts() -> set[str]:
    tree = ast.parse((PKG_DIR / "setup.py").read_text())
    scripts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and " = reid_tracker_ros." in node.value:
            scripts.add(node.value.split("=")[0].strip())
    return scripts


def _expand(ld, **overrides):
    declared = {a.name: a.default_value for a in ld.entities if isinstance(a, DeclareLaunchArgument)}
    context = types.SimpleNamespace(launch_configurations={**declared, **overrides})
    actions = []
    for a in ld.entities:
        if isinstance(a, OpaqueFunction):
            actions += a.function(context)
    return declared, actions


def _check_nodes(nodes):
    scripts = _console_scripts()
    for n in nodes:
        assert n.kwargs["package"] == "reid_tracker_ros"
        assert n.kwargs["executable"] in scripts, f"{n.kwargs['executable']} is no console script in setup.py"
        for p in n.kwargs.get("parameters", []):
            if isinstance(p, str):
                assert Path(p).is_file(), f"parameter file {p} does not exist"


def test_tracker_launch_declares_arguments_and_starts_the_graph(launch_stub):
    ld = _load("tracker.launch.py").generate_launch_description()
    declared, actions = _expand(ld, image="/cam/color/image_raw", detector="public")
    assert {"image", "config", "detector", "dds_profile"} <= set(declared)
    assert declared["image"] == "/camera/image_raw"
    nodes = [a for a in actions if isinstance(a, Node)]
    assert [n.kwargs["name"] for n in nodes] == ["detector", "embedder", "tracker"]
    _check_nodes(nodes)
    by_name = {n.kwargs["name"]: n for n in nodes}
    assert ("image", "/cam/color/image_raw") in by_name["detector"].kwargs["remappings"]
    assert ("image", "/cam/color/image_raw") in by_name["embedder"].kwargs["remappings"]
    assert {"backend": "public"} in by_name["detector"].kwargs["parameters"]
    env = {a.name: a.value for a in actions if isinstance(a, SetEnvironmentVariable)}
    assert Path(env["FASTRTPS_DEFAULT_PROFILES_FILE"]).name == "fastdds.xml"  # robot profile by default
    assert Path(env["FASTRTPS_DEFAULT_PROFILES_FILE"]).is_file()
    assert env["MALLOC_MMAP_THRESHOLD_"] == "33554432"
    _, local = _expand(ld, dds_profile="local")
    env = {a.name: a.value for a in local if isinstance(a, SetEnvironmentVariable)}
    assert Path(env["FASTRTPS_DEFAULT_PROFILES_FILE"]).name == "fastdds_local.xml"
    _, keep = _expand(ld, dds_profile="env")
    assert "FASTRTPS_DEFAULT_PROFILES_FILE" not in {a.name for a in keep if isinstance(a, SetEnvironmentVariable)}
    _, yolo = _expand(ld, detector="yolo")
    assert {"backend": "ultralytics"} in [n for n in yolo if isinstance(n, Node)][0].kwargs["parameters"]
    assert not any(isinstance(n, LifecycleNode) for n in nodes)  # autostart: plain Node actions
    _, managed = _expand(ld, autostart="false")
    managed = [a for a in managed if isinstance(a, Node)]
    assert [type(n) for n in managed] == [LifecycleNode] * 3
    assert all({"autostart": False} in n.kwargs["parameters"] for n in managed)
    with pytest.raises(RuntimeError, match="autostart"):
        _expand(ld, autostart="yes")


def test_multicam_launch_starts_one_pipeline_per_camera_and_one_identity_node(launch_stub, tmp_path):
    ld = _load("multicam.launch.py").generate_launch_description()
    declared, actions = _expand(ld, cameras="left,right", sources="/data/l.mp4,/data/r.mp4", rviz="true",
                                gallery_path=str(tmp_path / "g.npz"))
    assert {"cameras", "sources", "image", "gallery_path", "config", "detector", "tracker", "rviz",
            "dds_profile"} <= set(declared)
    nodes = [a for a in actions if isinstance(a, Node)]
    ours = [n for n in nodes if n.kwargs["package"] == "reid_tracker_ros"]
    _check_nodes(ours)
    assert [(n.kwargs["namespace"], n.kwargs["name"]) for n in ours] == [
        (cam, name) for cam in ("left", "right") for name in ("source", "detector", "embedder", "tracker",
                                                              "visualizer")] + [("", "identity")]
    trackers = [n for n in ours if n.kwargs["name"] == "tracker"]
    assert all({"identity": True, "camera_name": c} in t.kwargs["parameters"]
               for t, c in zip(trackers, ("left", "right")))
    assert {"gallery_path": str(tmp_path / "g.npz")} in ours[-1].kwargs["parameters"]
    rviz = [n for n in nodes if n.kwargs["package"] == "rviz2"]
    assert len(rviz) == 1 and "right" in Path(rviz[0].kwargs["arguments"][1]).read_text()
    with pytest.raises(ValueError, match="2 sources for 3 cameras"):
        _expand(ld, cameras="a,b,c", sources="/data/l.mp4,/data/r.mp4")
    with pytest.raises(ValueError, match="distinct names"):
        _expand(ld, cameras="a,a")


def test_mot_eval_launch_requires_a_sequence_and_adds_the_evaluator(launch_stub):
    ld = _load("mot_eval.launch.py").generate_launch_description()
    with pytest.raises(RuntimeError, match="seq:="):
        _expand(ld)
    with pytest.raises(RuntimeError, match="detector:=dpm"):
        _expand(ld, seq="/data/MOT16/train/MOT16-09", detector="dpm")
    declared, actions = _expand(ld, seq="/data/MOT16/train/MOT16-09", tracker="sort")
    assert {"seq", "detector", "tracker", "mode", "out"} <= set(declared)
    nodes = [a for a in actions if isinstance(a, Node)]
    _check_nodes(nodes)
    names = [n.kwargs["name"] for n in nodes]
    assert names == ["detector", "embedder", "tracker", "mot_evaluator"]
    evaluator = nodes[-1]
    assert "--external-graph" in evaluator.kwargs["arguments"]
    assert "/data/MOT16/train/MOT16-09" in evaluator.kwargs["arguments"]
    assert evaluator.kwargs["arguments"][-2:] == ["--tracker", "sort"]
    assert {"tracker": "sort"} in nodes[2].kwargs["parameters"]
    (handler,) = [a for a in actions if isinstance(a, RegisterEventHandler)]
    assert handler.event_handler.target_action is evaluator  # the launch ends with the evaluation
    assert isinstance(handler.event_handler.on_exit[0], Shutdown)
    detector_files = [p for p in nodes[0].kwargs["parameters"] if isinstance(p, str)]
    assert [Path(p).name for p in detector_files] == ["default.yaml", "mot_eval.yaml"]


def test_launch_and_config_files_are_installed_with_the_package():
    """setup.py installs launch/ and config/ through links inside the package folder."""
    for link in ("launch", "config"):
        path = PKG_DIR / link
        assert path.is_symlink() and path.resolve() == (ROOT / link).resolve()
    assert sorted(p.name for p in (PKG_DIR / "launch").glob("*.launch.py")) == ["camera.launch.py",
                                                                                 "mot_eval.launch.py",
                                                                                 "multicam.launch.py",
                                                                                 "tracker.launch.py"]
    setup_text = (PKG_DIR / "setup.py").read_text()
    assert 'glob("launch/*.launch.py")' in setup_text and 'glob("config/*.yaml")' in setup_text


def test_multicam_rviz_config_shows_every_cameras_topics(tmp_path):
    """rviz:=true with multicam.launch.py: each visualizer display of the single-camera view,
    once per camera on that camera's namespaced topic; the rest of the view unchanged."""
    import yaml

    from reid_tracker_ros.graph import multicam_rviz_config, rviz_config_path
    from reid_tracker_ros.topics import VISUALIZER_TOPICS

    path = multicam_rviz_config(["left", "right"], tmp_path, fixed_frame="camera_optical_frame")
    view = yaml.safe_load(path.read_text())["Visualization Manager"]
    topics = {d["Topic"]["Value"] for d in view["Displays"] if isinstance(d.get("Topic"), dict)}
    assert topics == {f"/{cam}/{t}" for cam in ("left", "right") for t in VISUALIZER_TOPICS.values()}
    base = yaml.safe_load(rviz_config_path().read_text())["Visualization Manager"]
    others = [d["Name"] for d in base["Displays"] if not isinstance(d.get("Topic"), dict)]
    assert [d["Name"] for d in view["Displays"] if not isinstance(d.get("Topic"), dict)] == others
    assert view["Global Options"]["Fixed Frame"] == "camera_optical_frame"
