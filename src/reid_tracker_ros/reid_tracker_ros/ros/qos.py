"""QoS profiles: best-effort images on live cameras, reliable everywhere evaluation needs it."""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def image_qos(kind: str, depth: int) -> QoSProfile:
    """'sensor_data': best effort keep-last (a late frame is worth less than the next one);
    'reliable': nothing lost (lockstep evaluation)."""
    if kind not in ("sensor_data", "reliable"):
        raise ValueError(f"image QoS must be 'sensor_data' or 'reliable', got {kind!r}")
    reliability = ReliabilityPolicy.BEST_EFFORT if kind == "sensor_data" else ReliabilityPolicy.RELIABLE
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)


# Detections are small and every one is a frame's only answer: where a node's queue_depth is set
# low for its images (the detector's keep-last 1 on a live camera), its data topics keep this many.
MIN_DATA_DEPTH = 10


def data_qos(depth: int) -> QoSProfile:
    """Detections, embeddings and tracks: small messages, always reliable."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
