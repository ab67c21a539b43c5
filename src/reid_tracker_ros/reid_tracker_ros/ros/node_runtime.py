"""The one main() every node executable shares: init, spin single-threaded, clean shutdown
(exit code 0 on SIGINT/SIGTERM in every state), and exit with the parent process (no orphans).

A SingleThreadedExecutor is used on purpose: measured here, MultiThreadedExecutor had
erratic latency (p99 up to seconds) for this pipeline.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 0.5
SPIN_WAKE_S = 0.1  # how soon a signal is noticed while the executor waits for work
# set by the launch files and the runner to their own pid: lets a node that starts after its
# launcher already died (while importing torch...) see that it is an orphan
PARENT_PID_ENV = "REID_LAUNCHER_PID"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exit_with_parent(sig: int = signal.SIGTERM) -> bool:
    """End this process (``sig``, handled as a clean shutdown) when the process that started it
    dies, even by SIGKILL: a node must never outlive ``ros2 launch`` or the local runner and
    answer a later graph on the same domain. Linux: PR_SET_PDEATHSIG; everywhere: a thread
    that watches the parent pid (also covers a parent that died before the prctl).
    ``REID_EXIT_WITH_PARENT=0`` turns it off (a node meant to outlive its parent shell).
    Returns whether the watch is on."""
    if os.environ.get("REID_EXIT_WITH_PARENT", "1").lower() in ("0", "false", "no", "off"):
        return False
    parent = os.getppid()
    launcher = os.environ.get(PARENT_PID_ENV, "")
    if launcher.isdigit() and int(launcher) != parent and not _pid_alive(int(launcher)):
        # the launch / runner that started us died while we were still importing: we are
        # already an orphan (PR_SET_PDEATHSIG comes too late for that)
        os.kill(os.getpid(), sig)
        return True
    if parent <= 1:  # started by init / a container's pid 1: nothing to outlive
        return False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the pid watch below still works

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return True


class _StopRequest:
    """SIGINT/SIGTERM as a request to stop spinning (Python handlers, not rclpy's): a second
    signal during the shutdown (Ctrl-C reaches the node from the terminal *and* from launch)
    then cannot raise KeyboardInterrupt out of the cleanup."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.state: str | None = None
        self.node: Node | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame) -> None:
        if self.signal is None:
            self.signal = sig
            self.state = _state_of(self.node)

    @staticmethod
    def ignore_further() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def _state_of(node: Node | None) -> str | None:
    machine = getattr(node, "_state_machine", None)  # rclpy LifecycleNode
    try:
        return str(machine.current_state[1]) if machine is not None else None
    except Exception:  # noqa: BLE001 - a state read must never fail the shutdown
        return None


def _shutdown_lifecycle(node: Node) -> None:
    """Run the lifecycle 'shutdown' transition (releases models, destroys subscriptions) from
    whichever primary state the node is in."""
    if _state_of(node) in ("unconfigured", "inactive", "active"):
        node.trigger_shutdown()


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Create the node (models load here, before any callback), spin until SIGINT/SIGTERM or
    an external shutdown, then shut down cleanly: exit code 0 and no traceback in every
    lifecycle state, mid-transition included (the running callback finishes first)."""
    stop = _StopRequest()
    exit_with_parent()
    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    node = None
    code = 0
    try:
        node = factory()
        stop.node = node
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while stop.signal is None and rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_WAKE_S)
    except ExternalShutdownException:
        pass
    except Exception as exc:  # start-up errors (missing model file...) end the process clearly
        name = node.get_name() if node is not None else getattr(factory, "__name__", "node")
        print(f"[{name}] fatal: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        stop.ignore_further()
        if node is not None:
            if stop.signal is not None:
                node.get_logger().info(f"{signal.Signals(stop.signal).name}: shutting down "
                                       f"(state {stop.state or 'running'})")
            try:
                if hasattr(node, "trigger_shutdown"):
                    _shutdown_lifecycle(node)
            except Exception as exc:  # noqa: BLE001 - report, but still leave cleanly
                print(f"[{node.get_name()}] shutdown transition failed: {type(exc).__name__}: {exc}",
                      file=sys.stderr, flush=True)
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


class ErrorCounter:
    """Counts bad inputs by kind and logs each kind at most once per ``period_s``, so a
    broken stream shows up clearly in the log without flooding it."""

    def __init__(self, node: Node, period_s: float = 5.0, counts: dict[str, int] | None = None) -> None:
        self._node = node
        self._period = period_s
        self.counts: dict[str, int] = {} if counts is None else counts  # shared with the node's StageStats
        self._last_logged: dict[str, float] = {}  # per kind: rclpy throttles per call site only

    def report(self, kind: str, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = time.monotonic()
        if now - self._last_logged.get(kind, -1e9) >= self._period:
            self._last_logged[kind] = now
            self._node.get_logger().error(f"{message} [{kind}: {self.counts[kind]} so far]")
