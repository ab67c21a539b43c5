"""Shared by the tracker-core tests: boxes, detections and unit features. Not a test file."""
from __future__ import annotations

import numpy as np

from reid_tracker_ros.types import Detections

BW, BH = 40.0, 100.0


def box_at(cx: float, cy: float, w: float = BW, h: float = BH) -> np.ndarray:
    """An xyxy box of size w x h centred at (cx, cy)."""
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def dets(boxes, scores=None, emb=None) -> Detections:
    """Detections of xyxy ``boxes`` (score 0.9 unless given), class 0, optional features."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    return Detections(boxes, np.full(n, 0.9) if scores is None else np.asarray(scores, float),
                      np.zeros(n, np.int64), emb)


def unit(v) -> np.ndarray:
    """One L2-normalised feature row."""
    v = np.asarray(v, np.float32).reshape(1, -1)
    return v / np.linalg.norm(v)
