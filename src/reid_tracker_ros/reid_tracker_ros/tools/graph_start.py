"""Start a camera graph so that a tool's own subscriber misses nothing: every node but the
source first, then, once the tool's subscriptions each hear a publisher, the source. Without
this, the first frames' outputs can be published while discovery of the tool's node is still
under way, and are lost to it (a faster-starting detector made that visible)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from ..runner import GraphRunner


def start_source_last(specs: Sequence, log_dir: Path, node, subscriptions: Sequence,
                      timeout: float) -> list[GraphRunner]:
    """Runners (graph, then source) for ``specs``; ``node`` is spun until every subscription in
    ``subscriptions`` has a matched publisher. TimeoutError names the topics still silent."""
    import rclpy

    source = [s for s in specs if s.name == "source"]
    graph = GraphRunner([s for s in specs if s.name != "source"], log_dir, profile="local").start()
    deadline = time.monotonic() + timeout
    try:
        while any(sub.get_publisher_count() == 0 for sub in subscriptions):
            graph.check_alive()
            if time.monotonic() > deadline:
                missing = [sub.topic_name for sub in subscriptions if sub.get_publisher_count() == 0]
                raise TimeoutError(f"no publisher on {', '.join(missing)} after {timeout:.0f} s; "
                                   f"node logs in {log_dir}")
            rclpy.spin_once(node, timeout_sec=0.05)
    except BaseException:
        graph.stop()
        raise
    return [graph, GraphRunner(source, log_dir, profile="local").start()]
