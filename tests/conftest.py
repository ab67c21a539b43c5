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
import re
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


def _remove_dead_shm_segments(shm: Path = Path("/dev/shm")) -> int:
    """Fast DDS shared-memory segments whose owner died (SIGKILLed nodes leave them): their
    ``_el`` lock file can be locked, as in Fast DDS's own ``fastdds shm clean``. Left there,
    they fill a small /dev/shm and later graphs get no samples through."""
    import fcntl

    removed = 0
    for lock in shm.glob("fastrtps_*_el"):
        if not re.fullmatch(r"fastrtps_[0-9a-f]{16}_el", lock.name):
            continue  # port files are shared by every participant on this host: left alone
        segment = lock.with_name(lock.name[:-3])
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # alive: its owner holds the lock
        finally:
            os.close(fd)
        for path in (segment, lock):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def pytest_sessionstart(session):
    _remove_dead_shm_segments()


def pytest_sessionfinish(session, exitstatus):
    _remove_dead_shm_segments()


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


@pytest.fixture(scope="module")
def ros_context():
    """rclpy initialised for one test module's nodes on real DDS (the module's own context)."""
    import rclpy

    rclpy.init()
    yield
    rclpy.shutdown()
