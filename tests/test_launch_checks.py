"""reid_tracker_ros.launch_checks: what a launch file checks before it starts any process
(plain Python; the launch files use it under the real `launch` in tests/test_ros2_launch.py)."""
from __future__ import annotations

import pytest

from reid_tracker_ros.graph import PACKAGE
from reid_tracker_ros.launch_checks import Need, problems, require, source_need


def test_every_missing_piece_is_named_with_the_argument_that_does_without_it(tmp_path):
    present = tmp_path / "video.avi"
    present.write_bytes(b"x")
    needs = [Need(why="the tracker node", off="make setup", package=PACKAGE, executable="tracker_node"),
             Need(why="camera_tf", off="camera_tf:=false", package="no_such_package_xyz", executable="x"),
             Need(why="the visualizer", off="make setup", package=PACKAGE, executable="no_such_node"),
             Need(why="rviz:=true", off="rviz:=false", path=str(tmp_path / "missing.rviz")),
             Need(why="seq:=", off="give a folder", path=str(tmp_path / "nope"), kind="folder"),
             source_need(str(present))]
    found = problems(needs)
    assert len(found) == 4, found
    assert "package 'no_such_package_xyz' is not installed (needed for camera_tf): camera_tf:=false" in found[0]
    assert "no executable 'no_such_node'" in found[1]
    assert "missing.rviz does not exist" in found[2] and found[2].endswith("rviz:=false")
    assert found[3] == f"folder {tmp_path / 'nope'} does not exist (needed for seq:=): give a folder"
    with pytest.raises(RuntimeError, match=r"camera\.launch\.py: nothing was started") as err:
        require("camera.launch.py", needs)
    assert str(err.value).count("\n  - ") == 4
    require("camera.launch.py", needs[:1])  # all there: no error


def test_source_paths_are_checked_devices_are_left_to_the_node(tmp_path):
    assert source_need("0") is None and source_need("/dev/video2") is None and source_need("") is None
    need = source_need(str(tmp_path / "walk.mp4"))
    assert problems([need]) == [f"{tmp_path / 'walk.mp4'} does not exist (needed for the source node (source:=)): "
                                f"{need.off}"]
