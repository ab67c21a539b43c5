"""/diagnostics for the processing nodes: diagnostic_msgs/DiagnosticArray from StageStats.

Each node publishes one DiagnosticStatus named ``reid_tracker_ros: <node>`` every
``diagnostics_period`` seconds on the absolute topic ``/diagnostics`` (where
diagnostic_aggregator, rqt_robot_monitor and ``ros2 topic echo /diagnostics`` look), in every
lifecycle state, so an unconfigured or inactive node is visible too. The arithmetic lives in
:mod:`reid_tracker_ros.stats`; this module only formats and publishes.
"""
from __future__ import annotations

from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ..stats import WARN, StatsSnapshot, snapshot_values
from ..topics import DIAGNOSTICS

STATUS_PREFIX = "reid_tracker_ros: "


def diagnostics_qos() -> QoSProfile:
    """What diagnostic_updater uses: reliable, keep last 10, volatile."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def diagnostic_status(node_name: str, snap: StatsSnapshot, extra: list[tuple[str, str]],
                      warnings: list[str] = ()) -> DiagnosticStatus:
    """One node's status: level/message from the snapshot (raised to WARN by ``warnings``)."""
    level = max(snap.level, WARN if warnings else 0)
    message = "; ".join([*warnings, *([snap.message] if snap.message != "ok" or not warnings else [])])
    status = DiagnosticStatus(level=bytes([level]), name=f"{STATUS_PREFIX}{node_name}", message=message,
                              hardware_id=node_name)
    status.values = [KeyValue(key=k, value=v) for k, v in [*extra, *snapshot_values(snap)]]
    return status


def status_values(status: DiagnosticStatus) -> dict[str, str]:
    """KeyValue list -> dict (for readers and tests)."""
    return {kv.key: kv.value for kv in status.values}


class DiagnosticsReporter:
    """A timer on ``node`` publishing its StageStats; ``values`` returns (warnings, extra pairs)."""

    def __init__(self, node: Node, period_s: float,
                 values: Callable[[], tuple[list[str], list[tuple[str, str]]]]) -> None:
        self.node = node
        self._values = values
        self.pub = node.create_publisher(DiagnosticArray, DIAGNOSTICS, diagnostics_qos())
        self.timer = node.create_timer(period_s, self.publish) if period_s > 0 else None

    def publish(self) -> DiagnosticArray:
        warnings, extra = self._values()
        snap = self.node.stats.snapshot(self.node.now_s())
        msg = DiagnosticArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.status = [diagnostic_status(self.node.get_name(), snap, extra, warnings)]
        self.pub.publish(msg)
        return msg
