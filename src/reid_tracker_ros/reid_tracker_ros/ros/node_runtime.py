"""The one main() every node executable shares: init, spin single-threaded, clean shutdown.

A SingleThreadedExecutor is used on purpose: measured here, MultiThreadedExecutor had
erratic latency (p99 up to seconds) for this pipeline.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Create the node (models load here, before any callback), spin until Ctrl-C/shutdown."""
    rclpy.init(args=args if args is not None else sys.argv)
    node = None
    try:
        node = factory()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # start-up errors (missing model file...) end the process clearly
        name = node.get_name() if node is not None else getattr(factory, "__name__", "node")
        print(f"[{name}] fatal: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


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
