"""OpenVINO on the CPU, as the detector and the embedder both use it (no ROS imports): whether
the wheel is installed, and the one compile configuration (one stream, latency first: a robot
processes one frame at a time and shares its few cores with the other nodes)."""
from __future__ import annotations

import importlib.util

LATENCY_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}


def openvino_available() -> bool:
    """Whether the ``openvino`` wheel can be imported (checked without importing it)."""
    return importlib.util.find_spec("openvino") is not None
