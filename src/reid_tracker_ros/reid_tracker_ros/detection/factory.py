"""Detector by backend name (the backends import the interface in :mod:`.base`; this module
imports them, lazily, so ultralytics and cv2 load only when that backend is built)."""
from __future__ import annotations

import inspect
from typing import Any, Callable

from .base import BACKENDS


def _call_with_params(factory: Callable[..., Any], backend: str, params: dict[str, Any]) -> Any:
    """Call ``factory(**params)`` but report unknown parameter names as a ValueError listing the
    accepted ones (ROS parameter typos should not surface as a bare TypeError)."""
    accepted = [p for p in inspect.signature(factory).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for detector backend {backend!r}; accepted: {accepted}")
    return factory(**params)


def build_detector(backend: str, **params: Any):
    """Build a detector by backend name.

    ``"ultralytics"`` returns a YOLO detector (model ``"default"`` = the yolo11n-pose ONNX export,
    see :mod:`.default_weights`) on the runtime :func:`.yolo_runtime.choose_runtime` picks; ``"public"`` returns a
    :class:`PublicDetections` filter (no inference: boxes come with the data).
    """
    key = str(backend).strip().lower()
    if key == "ultralytics":  # the model on OpenVINO / ONNX Runtime, or in ultralytics' own loop
        from .yolo_runtime import build_yolo_detector

        return _call_with_params(build_yolo_detector, key, params)
    if key == "public":
        from .public import PublicDetections

        return _call_with_params(PublicDetections, key, params)
    raise ValueError(f"unknown detector backend {backend!r}; valid backends: {list(BACKENDS)}")
