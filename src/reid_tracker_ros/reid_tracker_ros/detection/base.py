"""Detector interface and factory (no ROS imports, no heavy imports at module load).

A detector turns one RGB image into :class:`~reid_tracker_ros.types.Detections` (xyxy pixels).
Backends are built by name so that a ROS parameter (``backend: ultralytics``) selects them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..types import Detections

BACKENDS = ("ultralytics", "public")


class DetectorBackend(ABC):
    """Runs a detector on one image.

    Subclasses set ``name`` (e.g. ``"ultralytics:yolo11n-pose.onnx"``); it is published in
    ``DetectionArray.source`` so a recording says which model produced its boxes.
    """

    name: str = "detector"

    @abstractmethod
    def detect(self, image_rgb: np.ndarray) -> Detections:
        """Detect objects in an ``(H, W, 3)`` uint8 RGB image; boxes are xyxy pixels."""


def check_image(image_rgb: np.ndarray) -> np.ndarray:
    """Validate an RGB image once, so backends fail with a clear message instead of deep inside."""
    if not isinstance(image_rgb, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image_rgb).__name__}")
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(
            f"image must be (H, W, 3) uint8 RGB, got shape {image_rgb.shape} dtype {image_rgb.dtype}")
    if image_rgb.shape[0] == 0 or image_rgb.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image_rgb.shape}")
    return image_rgb
