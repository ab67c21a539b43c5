"""Helpers for tests that run the real `ros2 launch` and `ros2` command line (apt ROS 2, or
launch/ros2cli built from ../shared/ros2 by `make setup` into ros2_tools/).

Every wait polls a condition with a deadline (never a fixed sleep); every process a test
starts is stopped by its finalizer, by pid."""
from __future__ import annotations

import os
import re
import shlex
import signal
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_ROS2 = (ROOT.parent / "shared" / "ros2")
APT_ROS = [p for p in Path("/opt/ros").glob("*/setup.bash")] if Path("/opt/ros").is_dir() else []
POLL_S = 0.2


def require_ros2_tools() -> None:
    """Skip where neither apt ROS 2 nor ../shared/ros2 exists; fail where the sources exist but
    were not built (make setup builds them), since the tests should then run."""
    have = shutil.which("ros2") is not None
    try:
        import launch  # noqa: F401
        import launch_ros  # noqa: F401
    except ImportError:
        have = False
    if have:
        return
    if SHARED_ROS2.is_dir() and not APT_ROS:
        pytest.fail(f"{SHARED_ROS2} exists but `ros2`/launch_ros are not on this shell's paths: run `make setup` "
                    "(it builds them into ros2_tools/) and `source env.bash`")
    pytest.skip(f"no ROS 2 launch/command-line tools: neither apt ROS 2 (/opt/ros) nor {SHARED_ROS2} "
                "(the launch/ros2cli sources `make setup` builds) is present")


def launch_env(tmp_path: Path) -> dict[str, str]:
    """The test session's DDS settings (conftest: own domain, shared memory only) plus a log
    folder of this test's own."""
    env = dict(os.environ)
    env["ROS_LOG_DIR"] = str(tmp_path / "ros_log")
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    return env


def ros2(args: list[str] | str, env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    argv = shlex.split(args) if isinstance(args, str) else list(args)
    if argv[0] != "ros2":
        argv = ["ros2", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def ros2_found(args: list[str] | str, env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    """A ros2 command, repeated while it answers "Node not found": each call discovers the
    graph afresh (or asks a daemon that is still discovering), which can miss a node that is
    there."""
    deadline = time.monotonic() + timeout
    while True:
        res = ros2(args, env)
        if "node not found" not in (res.stdout + res.stderr).lower() or time.monotonic() > deadline:
            return res
        time.sleep(POLL_S)


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def descendants(pid: int) -> set[int]:
    kids, out, todo = children_map(), set(), [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, launch: "Launch | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if launch is not None and launch.proc.poll() is not None:
            pytest.fail(f"ros2 launch exited ({launch.proc.returncode}) while waiting for {what}:\n{launch.tail()}")
        time.sleep(POLL_S)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}" + (f":\n{launch.tail()}" if launch else ""))


class Launch:
    """`ros2 launch reid_tracker_ros <file> <args>` in its own process group (so the test can
    send Ctrl-C's SIGINT to the whole group as a terminal does), output in a file."""

    def __init__(self, launch_file: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "w")
        self.argv = ["ros2", "launch", "reid_tracker_ros", launch_file, *args]
        self.proc = subprocess.Popen(self.argv, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._seen: set[int] = set()

    def text(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def node_pids(self) -> dict[str, int]:
        """Our node processes under this launch, by node name (from -r __node:=<name>)."""
        out = {}
        for pid in descendants(self.proc.pid):
            match = re.search(r"__node:=(\w+)", cmdline(pid))
            if match and alive(pid):
                out[match.group(1)] = pid
        self._seen |= set(out.values())
        return out

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ros2 launch did not exit within {timeout:.0f} s:\n{self.tail()}")

    def close(self) -> None:
        """Finalizer: nothing this launch started may outlive the test."""
        tree = descendants(self.proc.pid) | self._seen
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in tree:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._out.close()


def lifecycle_state(node: str, env: dict[str, str]) -> str | None:
    """`ros2 lifecycle get /<node> --no-daemon`: 'unconfigured', 'inactive', 'active', or None
    while the node is not discovered yet."""
    res = ros2(["lifecycle", "get", f"/{node}", "--no-daemon"], env)
    match = re.match(r"(\w+) \[\d+\]", res.stdout.strip())
    return match.group(1) if res.returncode == 0 and match else None


def clean_exits(text: str, names: list[str]) -> None:
    """launch's report: every node 'finished cleanly' (exit code 0), none 'died', no traceback."""
    assert "Traceback" not in text, text[-4000:]
    died = [line for line in text.splitlines() if "process has died" in line]
    assert not died, "\n".join(died)
    finished = re.findall(r"\[INFO\] \[([\w.-]+)-\d+\]: process has finished cleanly", text)
    for name in names:
        assert any(f.startswith(name) for f in finished), f"{name}: no 'finished cleanly' in\n{text[-3000:]}"
