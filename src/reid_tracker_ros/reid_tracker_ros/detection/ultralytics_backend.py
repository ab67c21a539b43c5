"""Ultralytics YOLO detector backend (``.pt``, ``.onnx``, ``.engine``), offline and lazy.

``ultralytics`` is imported inside :class:`UltralyticsDetector` only, so this module (and the
detector node's parameter handling) imports without it. Before that import the environment is
set up for offline use (see :func:`configure_ultralytics_env`): ultralytics 8.4 reads
``YOLO_OFFLINE`` (skips its DNS online check, so no downloads, no update checks, no analytics),
``YOLO_AUTOINSTALL`` (no ``pip install`` at run time) and ``YOLO_CONFIG_DIR`` (where it writes
``settings.json``) once, when ``ultralytics.utils`` is first imported.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..types import Detections
from .base import DetectorBackend, check_image
from .default_weights import DEFAULT_MODEL_NAME, check_imgsz, configure_ultralytics_env, default_detector_model

LOG = logging.getLogger(__name__)

MODEL_SUFFIXES = (".pt", ".onnx", ".engine")


def resolve_model_path(model: str | os.PathLike, imgsz: int = 640) -> Path:
    """``"default"`` -> the cached yolo11n-pose ONNX for ``imgsz``; otherwise a weights file
    that must exist (offline: ultralytics cannot download a missing one)."""
    if str(model) == DEFAULT_MODEL_NAME:
        return default_detector_model(imgsz)
    path = Path(model).expanduser()
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ValueError(f"detector model {str(model)!r} must be 'default' or a file ending in "
                         f"{', '.join(MODEL_SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"detector model file not found: {path.resolve()} "
                                f"(use model 'default' for the bundled yolo11n-pose)")
    return path.resolve()


class UltralyticsDetector(DetectorBackend):
    """YOLO detector; pose models are used for their person boxes only (keypoints dropped).

    ``classes``: class ids to keep (``(0,)`` = COCO person); ``None`` or empty keeps all classes
    (a ROS integer-array parameter cannot be None, so empty means "all").
    ``imgsz`` must match the size a static ONNX/engine file was exported for; for model
    ``"default"`` the matching export is created on first use.
    """

    def __init__(self, model: str = DEFAULT_MODEL_NAME, conf: float = 0.25, iou: float = 0.7,
                 imgsz: int = 640, device: str = "cpu", classes: Sequence[int] | None = (0,),
                 half: bool = False, max_det: int = 300, warmup: bool = True) -> None:
        if not 0.0 <= float(conf) <= 1.0:
            raise ValueError(f"conf must be in [0, 1], got {conf!r}")
        if not 0.0 <= float(iou) <= 1.0:
            raise ValueError(f"iou must be in [0, 1], got {iou!r}")
        check_imgsz(imgsz)
        self.model_path = resolve_model_path(model, int(imgsz))
        self.conf = float(conf)
        self.iou = float(iou)
        self.imgsz = int(imgsz)
        self.device = str(device)
        self.classes = [int(c) for c in classes] if classes is not None and len(classes) else None
        self.half = bool(half)
        self.max_det = int(max_det)
        self.name = f"ultralytics:{self.model_path.name}"

        # ultralytics 8.4 replaced `half` by `quantize=16` (passing `half` logs a deprecation
        # warning on every call); FP32 is the default, so the key is only set for FP16.
        self._predict_kwargs = dict(conf=self.conf, iou=self.iou, imgsz=self.imgsz, device=self.device,
                                    classes=self.classes, max_det=self.max_det, verbose=False)
        if self.half:
            self._predict_kwargs["quantize"] = 16

        configure_ultralytics_env()
        from ultralytics import YOLO

        try:
            self._model = YOLO(str(self.model_path))
        except Exception as exc:  # ultralytics raises many types; name the file in one place
            raise RuntimeError(f"could not load detector model {self.model_path}: {exc}") from exc
        self.warmup_s = 0.0
        if warmup:
            t0 = time.perf_counter()
            self.detect(np.zeros((self.imgsz, self.imgsz, 3), np.uint8))
            self.warmup_s = time.perf_counter() - t0
            hw = self.input_hw
            if hw is not None and max(hw) != self.imgsz:
                LOG.warning("detector model %s has a fixed input size %s; imgsz=%d is ignored",
                            self.model_path, hw, self.imgsz)

    def set_thresholds(self, conf: float | None = None, iou: float | None = None) -> None:
        """Change the confidence / NMS IoU thresholds from the next image on (run-time
        parameter changes of the detector node)."""
        for key, value in (("conf", conf), ("iou", iou)):
            if value is None:
                continue
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], got {value!r}")
            setattr(self, key, float(value))
            self._predict_kwargs[key] = float(value)

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """Network input size (height, width) in effect; known after the first image.

        Static ONNX/engine files keep their export size whatever ``imgsz`` says. ``.pt`` models
        report ``imgsz`` but letterbox each image to a stride-aligned rectangle inside it.
        """
        predictor = getattr(self._model, "predictor", None)
        imgsz = getattr(predictor, "imgsz", None)
        return None if imgsz is None else (int(imgsz[0]), int(imgsz[1]))

    def detect(self, image_rgb: np.ndarray) -> Detections:
        """Detect in an RGB image; ultralytics expects BGR numpy, converted here once."""
        image_rgb = np.ascontiguousarray(check_image(image_rgb))  # no-op unless a flipped/strided view
        image_bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        results = self._model.predict(image_bgr, **self._predict_kwargs)
        boxes = results[0].boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        data = boxes.data.cpu().numpy()  # (N, 6): x1 y1 x2 y2 conf cls, one device->host copy
        return Detections(data[:, :4], data[:, 4], data[:, 5].astype(np.int64))
