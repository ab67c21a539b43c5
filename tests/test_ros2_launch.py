"""Every launch file under the real `ros2 launch`, the README's `ros2 lifecycle` / `ros2 param`
lines run as written, clean shutdown in every lifecycle state, and no process left behind a
SIGKILLed launch. Skipped (naming the folder) where neither apt ROS 2 nor ../shared/ros2 is
there; tests/test_launch_files.py then checks the launch files with a stand-in of `launch`.

Nodes run on this session's own domain with the shared-memory-only profile (dds_profile:=local).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from ros2_tools import (ROOT, Launch, alive, clean_exits, descendants, launch_env, lifecycle_state, ros2,
                        ros2_found, require_ros2_tools, wait_until)

MANAGED = ["detector", "embedder", "tracker"]
EXECUTABLES = {"detector": "detector_node", "embedder": "embedder_node", "tracker": "tracker_node",
               "source": "source_node", "visualizer": "visualizer_node"}
POLL = 0.1
START_S = 180.0  # nodes import torch/onnxruntime and load models: slow on a loaded 2-core machine


@pytest.fixture(scope="module", autouse=True)
def _tools():
    require_ros2_tools()


@pytest.fixture()
def env(tmp_path):
    env = launch_env(tmp_path)
    yield env
    # a README line without --no-daemon may have started the ros2 daemon of this domain
    subprocess.run(["ros2", "daemon", "stop"], env=env, capture_output=True, timeout=60)


@pytest.fixture()
def launches(tmp_path, env):
    started: list[Launch] = []

    def start(launch_file: str, *args: str) -> Launch:
        launch = Launch(launch_file, [*args, "dds_profile:=local"], env, tmp_path / f"launch{len(started)}.log")
        started.append(launch)
        return launch

    yield start
    for launch in started:
        launch.close()


def _wait_states(env, launch, nodes, state, timeout=START_S):
    wait_until(lambda: all(lifecycle_state(n, env) == state for n in nodes), timeout,
               f"{nodes} to be '{state}' (ros2 lifecycle get)", launch)


def readme_ros2_block() -> list[str]:
    """The README's bash block with the `ros2 lifecycle set` lines: its command lines, in order."""
    text = (ROOT / "README.md").read_text()
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines = [line.strip() for line in block.splitlines()]
        if any(line.startswith("ros2 lifecycle set") for line in lines):
            return [line for line in lines if line.startswith("ros2 ")]
    pytest.fail("README.md has no bash block with `ros2 lifecycle set` lines")


def test_tracker_launch_autostart_true_then_sigkill_leaves_no_process(launches, env):
    launch = launches("tracker.launch.py", "detector:=public")
    _wait_states(env, launch, MANAGED, "active")  # autostart: they configured and activated themselves
    # each --no-daemon call discovers the graph afresh for a moment: poll until all is seen
    wait_until(lambda: {"/detector", "/embedder", "/tracker"} <= set(ros2("node list --no-daemon", env).stdout.split()),
               60, "ros2 node list to show the nodes", launch)
    wanted = {"/detections", "/embedded_detections", "/tracks", "/diagnostics"}
    wait_until(lambda: wanted <= set(ros2("topic list --no-daemon", env).stdout.split()), 60,
               f"ros2 topic list to show {sorted(wanted)}", launch)
    tree = descendants(launch.proc.pid)
    pids = launch.node_pids()
    assert set(pids) == set(MANAGED) and set(pids.values()) <= tree
    os.kill(launch.proc.pid, signal.SIGKILL)  # no chance for launch to stop its nodes
    launch.proc.wait()
    wait_until(lambda: not any(alive(p) for p in tree), 10.0, f"the launch's processes {sorted(tree)} to exit")


def test_readme_lifecycle_and_param_lines_bring_autostart_false_nodes_up(launches, env, tmp_path):
    lines = readme_ros2_block()
    launch_line = next(line for line in lines if line.startswith("ros2 launch"))
    assert "tracker.launch.py" in launch_line and "autostart:=false" in launch_line
    launch = launches(*shlex.split(launch_line)[3:])  # as written (plus dds_profile:=local)
    _wait_states(env, launch, MANAGED, "unconfigured")
    expected_param = None
    for line in lines[lines.index(launch_line) + 1:]:
        argv = shlex.split(line)
        res = ros2_found(argv, env)  # "Node not found" until discovery is done: the line is repeated
        assert res.returncode == 0, f"{line}: {res.stdout}{res.stderr}"
        if argv[1:3] == ["lifecycle", "set"]:
            assert "Transitioning successful" in res.stdout, f"{line}: {res.stdout}{res.stderr}"
        elif argv[1:3] == ["lifecycle", "get"]:
            assert res.stdout.startswith("unconfigured"), res.stdout
        elif argv[1:3] == ["param", "set"]:
            assert "Set parameter successful" in res.stdout, res.stdout
            expected_param = (argv[3], argv[4], argv[5])
        elif argv[1:3] == ["param", "get"]:
            assert expected_param and res.stdout.strip() == f"Integer value is: {expected_param[2]}", res.stdout
    assert expected_param is not None, "the README block sets no parameter"
    _wait_states(env, launch, MANAGED, "active")
    # active nodes, SIGTERM to each node process: exit code 0, no traceback
    pids = launch.node_pids()
    for pid in pids.values():
        os.kill(pid, signal.SIGTERM)
    assert launch.wait_exit(30) == 0
    clean_exits(launch.text(), [EXECUTABLES[n] for n in MANAGED])
    assert all(f"[{n}]: SIGTERM: shutting down (state active)" in launch.text() for n in MANAGED)


def test_unconfigured_nodes_end_cleanly_on_ctrl_c(launches, env):
    launch = launches("tracker.launch.py", "autostart:=false", "detector:=public")
    _wait_states(env, launch, MANAGED, "unconfigured")
    os.killpg(launch.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: launch and every node get SIGINT
    assert launch.wait_exit(30) == 0
    clean_exits(launch.text(), [EXECUTABLES[n] for n in MANAGED])
    assert all(f"[{n}]: SIGINT: shutting down (state unconfigured)" in launch.text() for n in MANAGED)


def test_inactive_nodes_end_cleanly_on_sigterm(launches, env):
    launch = launches("tracker.launch.py", "autostart:=false", "detector:=public")
    _wait_states(env, launch, MANAGED, "unconfigured")
    for node in MANAGED:
        res = ros2_found(["lifecycle", "set", f"/{node}", "configure", "--no-daemon"], env)
        assert "Transitioning successful" in res.stdout, res.stdout + res.stderr
    _wait_states(env, launch, MANAGED, "inactive")
    for pid in launch.node_pids().values():
        os.kill(pid, signal.SIGTERM)
    assert launch.wait_exit(30) == 0
    clean_exits(launch.text(), [EXECUTABLES[n] for n in MANAGED])
    assert all(f"[{n}]: SIGTERM: shutting down (state inactive)" in launch.text() for n in MANAGED)


def _bus_video(path: Path, frames: int) -> Path:
    """ultralytics' bus.jpg (4 people) panning slowly: YOLO finds people in every frame."""
    import ultralytics

    bus = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for k in range(frames):
        writer.write(cv2.resize(bus[100 + k % 150:900 + k % 150, :], (640, 480)))
    writer.release()
    return path


def test_camera_launch_with_a_video_publishes_tracks_markers_and_images(launches, env, tmp_path):
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from reid_msgs.msg import TrackArray
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    video = _bus_video(tmp_path / "bus.avi", 40)
    config = tmp_path / "looping.yaml"  # the video plays until the test has seen what it waits for
    config.write_text("/**/source:\n  ros__parameters:\n    loop: true\n")
    launch = launches("camera.launch.py", f"source:={video}", "camera_tf:=false", "rviz:=false", f"config:={config}")
    got: dict[str, list] = {"tracks": [], "markers": [], "image": []}
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("camera_launch_probe", context=context)
    try:
        node.create_subscription(TrackArray, "/tracks", lambda m: got["tracks"].append(len(m.tracks)), 10)
        node.create_subscription(MarkerArray, "/tracks/markers", lambda m: got["markers"].append(len(m.markers)),
                                 qos_profile_sensor_data)
        node.create_subscription(Image, "/tracks/annotated_image", lambda m: got["image"].append((m.width, m.height)),
                                 qos_profile_sensor_data)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)

        def spin_check() -> bool:
            executor.spin_once(timeout_sec=POLL)
            return any(n > 0 for n in got["tracks"]) and any(n > 0 for n in got["markers"]) and bool(got["image"])

        wait_until(spin_check, START_S, "tracks with people on /tracks, markers and annotated images", launch)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert got["image"][0] == (640, 480)
    pids = launch.node_pids()
    assert set(pids) == {"source", "detector", "embedder", "tracker", "visualizer"}, pids
    os.killpg(launch.proc.pid, signal.SIGINT)
    assert launch.wait_exit(30) == 0
    clean_exits(launch.text(), [EXECUTABLES[n] for n in pids])
    assert "static_transform_publisher" not in launch.text()  # camera_tf:=false


def test_multicam_launch_gives_one_person_one_global_id_in_both_cameras(launches, env, tmp_path):
    """Two cameras playing the same video (so the same people) through multicam.launch.py: both
    trackers fill Track.global_id from the one identity node, the same ids in both cameras, and
    the markers of each camera's visualizer come out in its namespace."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from reid_msgs.msg import TrackArray
    from visualization_msgs.msg import MarkerArray

    video = _bus_video(tmp_path / "bus.avi", 40)
    config = tmp_path / "looping.yaml"
    config.write_text("/**/source:\n  ros__parameters:\n    loop: true\n")
    launch = launches("multicam.launch.py", "cameras:=cam1,cam2", f"sources:={video},{video}", f"config:={config}",
                      f"gallery_path:={tmp_path / 'gallery.npz'}")
    gids: dict[str, set[int]] = {"cam1": set(), "cam2": set()}
    labels: list[str] = []
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("multicam_launch_probe", context=context)
    try:
        for cam in gids:
            node.create_subscription(TrackArray, f"/{cam}/tracks", lambda m, c=cam: gids[c].update(
                t.global_id for t in m.tracks if t.global_id > 0), 10)
        node.create_subscription(MarkerArray, "/cam2/tracks/markers", lambda m: labels.extend(
            k.text for k in m.markers if k.text), qos_profile_sensor_data)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)

        def spin_check() -> bool:
            executor.spin_once(timeout_sec=POLL)
            return len(gids["cam1"] & gids["cam2"]) >= 2 and any(t.startswith("g") for t in labels)

        wait_until(spin_check, START_S * 1.5, "global ids shared by /cam1/tracks and /cam2/tracks", launch)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
    pids = launch.node_pids()
    assert set(pids) == {"source", "detector", "embedder", "tracker", "visualizer", "identity"}, pids
    os.killpg(launch.proc.pid, signal.SIGINT)
    assert launch.wait_exit(60) == 0
    clean_exits(launch.text(), [*EXECUTABLES.values(), "identity_node"])
    assert (tmp_path / "gallery.npz").is_file()  # saved at shutdown


def test_camera_launch_names_a_missing_package_and_starts_nothing(launches, env, tmp_path):
    from reid_tracker_ros.launch_checks import executable_problem

    if executable_problem("tf2_ros", "static_transform_publisher") is None:
        pytest.skip("tf2_ros is installed here: camera_tf has nothing missing to report")
    video = _bus_video(tmp_path / "bus.avi", 3)
    launch = launches("camera.launch.py", f"source:={video}")  # camera_tf:=auto with a source: needs tf2_ros
    assert launch.wait_exit(120) != 0
    text = launch.text()
    assert "nothing was started" in text and "tf2_ros" in text and "camera_tf:=false" in text, text
    assert "process started" not in text, text


def test_mot_eval_launch_prints_the_metrics_of_the_local_runner(launches, env, tmp_path):
    from reid_tracker_ros.mot.synthetic import generate_sequence

    seq = generate_sequence(tmp_path / "seq", name="SYNTH-LAUNCH", frames=40, width=640, height=360, n_people=4,
                            seed=7)
    launch = launches("mot_eval.launch.py", f"seq:={seq}", f"out:={tmp_path / 'launched'}")
    code = launch.wait_exit(START_S + 120)
    text = launch.text()
    assert code == 0, text[-4000:]
    launched = json.loads((tmp_path / "launched" / "metrics.json").read_text())
    local = subprocess.run([sys.executable, "-m", "reid_tracker_ros.tools.evaluate", "--seq", str(seq), "--out",
                            str(tmp_path / "local"), "--no-progress"], env=env, capture_output=True, text=True,
                           timeout=START_S + 120)
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-2000:]
    runner = json.loads((tmp_path / "local" / "metrics.json").read_text())
    assert launched["frames"] == runner["frames"] == 40 and launched["frames_dropped"] == 0
    for key in ("HOTA", "MOTA", "IDF1", "IDSW"):
        assert launched[key] == pytest.approx(runner[key], abs=1e-9), (key, launched[key], runner[key])
    assert f"{launched['HOTA']:.2f}" in text or f"{launched['HOTA']:.1f}" in text  # printed by the launch
    clean_exits(text, [EXECUTABLES[n] for n in MANAGED])
