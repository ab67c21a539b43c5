"""What a launch file checks before it starts any process.

A launch that fails half-way leaves the processes it already started running (the issue this
exists for: a missing tf2_ros after five nodes were up, which then answered the next graph on
the same domain). So every launch file collects what it needs (packages with their
executables, files, folders) and calls :func:`require` first: one error that names every
missing piece and the launch argument that does without it, and nothing started.
No ``launch`` import here: the checks are plain Python, testable without ROS tools.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Need:
    """One thing a launch needs. ``package``/``executable``: a ROS executable; ``path``: a file
    (``kind='file'``) or folder (``kind='folder'``); ``why``: what it is for; ``off``: the
    argument that turns the need off (or how to fix it when nothing does)."""

    why: str
    off: str
    package: str = ""
    executable: str = ""
    path: str = ""
    kind: str = "file"


def executable_problem(package: str, executable: str) -> str | None:
    """None when ``package`` is in the ament index with ``lib/<package>/<executable>`` (where
    launch_ros looks), else what is missing."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = get_package_prefix(package)
    except (PackageNotFoundError, ValueError, LookupError):
        return f"package '{package}' is not installed"
    path = Path(prefix) / "lib" / package / executable
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"package '{package}' has no executable '{executable}' ({path})"
    return None


def path_problem(path: str, kind: str) -> str | None:
    p = Path(path).expanduser()
    if kind == "folder":
        return None if p.is_dir() else f"folder {path} does not exist"
    if kind == "file":
        return None if p.is_file() else f"file {path} does not exist"
    return None if p.exists() else f"{path} does not exist"


def problems(needs: list[Need]) -> list[str]:
    """One line per unmet need: what is missing, what it is for, how to do without it."""
    out = []
    for need in needs:
        problem = (executable_problem(need.package, need.executable) if need.package
                   else path_problem(need.path, need.kind))
        if problem:
            out.append(f"{problem} (needed for {need.why}): {need.off}")
    return out


def require(launch_file: str, needs: list[Need]) -> None:
    """Raise RuntimeError naming every unmet need; call it before returning any action."""
    missing = problems(needs)
    if missing:
        raise RuntimeError(f"{launch_file}: nothing was started, because\n  - " + "\n  - ".join(missing))


def source_need(source: str) -> Need | None:
    """A source:= that is a path must exist (webcam indices and /dev/videoN are checked by the
    source node, which names the device)."""
    source = source.strip()
    if not source or source.isdigit() or source.startswith("/dev/video"):
        return None
    return Need(why="the source node (source:=)", off="give an existing video file or image folder, or leave "
                "source empty when a camera driver publishes the image", path=source, kind="any")
