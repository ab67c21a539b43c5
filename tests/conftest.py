"""Test-wide isolation: every DDS packet stays on this host and in this run's own domain.

- Fast DDS uses config/fastdds_local.xml: shared memory is its only transport, discovery
  included, so nothing reaches the network interfaces (no multicast, no UDP).
- ROS_DOMAIN_ID is drawn per test session (override with REID_TEST_DOMAIN_ID), so two runs on
  one machine never see each other's nodes.
These are set before anything imports rclpy, and node processes inherit them.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / "fastdds_local.xml")
os.environ["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
os.environ["ROS_DOMAIN_ID"] = os.environ.get("REID_TEST_DOMAIN_ID", str(random.Random().randint(120, 220)))
for var in ("ROS_LOCALHOST_ONLY", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_STATIC_PEERS", "FASTDDS_BUILTIN_TRANSPORTS"):
    os.environ.pop(var, None)
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_report_header(config):
    return [f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} (shared-memory-only Fast DDS profile)"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Files a person may want to look at after the run (plots, logs)."""
    path = ROOT / "artifacts" / "tests"
    path.mkdir(parents=True, exist_ok=True)
    return path
