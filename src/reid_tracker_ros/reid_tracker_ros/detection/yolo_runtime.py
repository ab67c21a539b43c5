"""YOLO (detect/pose) ONNX models run directly on ONNX Runtime or OpenVINO, no torch on the hot path.

Why not ``ultralytics.YOLO(...).predict``: on a 2-core robot every millisecond of the frame is
shared with the embedder, tracker and transport. Ultralytics' loop converts the image twice
(our RGB -> BGR, then its BGR -> RGB), goes through torch tensors for the letterbox and NMS, and
opens an ONNX Runtime session with default options: as many intra-op threads as cores,
spin-waiting between operators, which on a shared machine burns the CPU other nodes need.
Here: one letterbox resize into a preallocated buffer, one blob conversion, one ``run``, NMS in
OpenCV on the few candidates above the confidence threshold, and the session's threads and
spinning chosen by the caller (``threads``; ``spin=False`` by default).

Pure: numpy + OpenCV + the runtime; no ROS, no ultralytics. The model must be a static-shape
export (the project's default ``yolo11n-pose_<imgsz>_<sha>.onnx``, or an INT8 QDQ copy of it
from :mod:`reid_tracker_ros.detection.quantize`); its ultralytics metadata (``names``,
``kpt_shape``) says how many classes the output rows carry.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..openvino_cpu import LATENCY_CONFIG, openvino_available
from ..types import Detections
from .base import DetectorBackend, check_image

RUNTIMES = ("onnxruntime", "openvino")
PAD_VALUE = 114  # ultralytics' letterbox grey: the network was trained with it


STRIDE = 32  # the network's largest stride: input sides must be multiples of it


def letterbox_params(h: int, w: int, size: tuple[int, int]) -> tuple[float, int, int, int, int]:
    """(scale, new_w, new_h, left, top) of ultralytics' centred letterbox into ``size`` (h, w)."""
    r = min(size[0] / h, size[1] / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (size[1] - nw) / 2, (size[0] - nh) / 2
    return r, nw, nh, int(round(dw - 0.1)), int(round(dh - 0.1))


def rect_input_size(h: int, w: int, imgsz: int) -> tuple[int, int]:
    """(H, W) network input for an h x w image on a model with free input size: the image scaled
    so its long side is ``imgsz``, padded to the next multiple of the stride (ultralytics'
    ``rect``/``auto`` letterbox). 960x540 at imgsz 960 -> 544x960, not 960x960."""
    r = min(imgsz / h, imgsz / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    return nh + (imgsz - nh) % STRIDE, nw + (imgsz - nw) % STRIDE


def decode_output(pred: np.ndarray, nc: int, conf: float, iou: float, classes: Sequence[int] | None,
                  max_det: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, 4 + nc [+ kpts], N) raw YOLO output -> xyxy boxes, scores, class ids in network pixels
    after per-class NMS (ultralytics' defaults: class-aware, score > conf, IoU > iou suppressed)."""
    p = pred[0]
    cls_scores = p[4:4 + nc]
    if nc == 1:
        scores, cls = cls_scores[0], np.zeros(p.shape[1], np.int64)
    else:
        cls = cls_scores.argmax(0)
        scores = cls_scores[cls, np.arange(p.shape[1])]
    keep = scores > conf
    if classes is not None:
        keep &= np.isin(cls, classes)
    idx = np.flatnonzero(keep)
    if not idx.size:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    cx, cy, bw, bh = p[0, idx], p[1, idx], p[2, idx], p[3, idx]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
    scores, cls = scores[idx], cls[idx]
    # NMS in (x, y, w, h) per class: offsetting boxes by class id (as ultralytics does) keeps
    # classes apart in one call
    off = cls[:, None].astype(np.float32) * 7680.0
    xywh = np.concatenate([boxes[:, :2] + off, boxes[:, 2:] - boxes[:, :2]], 1)
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), float(conf), float(iou), top_k=max_det)
    kept = np.asarray(kept, np.int64).reshape(-1)[:max_det]
    return boxes[kept], scores[kept], cls[kept]


def model_classes(metadata: dict) -> int:
    """Number of class rows in the output, from ultralytics' ONNX metadata (``names``)."""
    names = metadata.get("names")
    if not names:
        raise ValueError("the ONNX model has no ultralytics 'names' metadata: export it with ultralytics "
                         "(format=onnx) or use the ultralytics backend")
    return len(ast.literal_eval(names) if isinstance(names, str) else names)


class _OrtSession:
    def __init__(self, path: Path, threads: int, spin: bool) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)  # 0: one per core
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:  # threads sleep between operators instead of burning the other nodes' CPU
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name, self.input_shape = inp.name, inp.shape
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: blob})[0]


def _is_static(shape) -> bool:
    return len(shape) == 4 and all(isinstance(d, int) and d > 0 for d in shape[2:])


class _OpenVinoSession:
    """OpenVINO on the CPU. A model with free input size is compiled once per input shape (the
    camera's; a second shape only after a resolution change)."""

    def __init__(self, path: Path, threads: int, spin: bool) -> None:
        import openvino as ov

        self._ov = ov
        self._core = ov.Core()
        self._model = self._core.read_model(str(path))
        self._config = dict(LATENCY_CONFIG)
        if threads > 0:
            self._config["INFERENCE_NUM_THREADS"] = int(threads)
        partial = self._model.inputs[0].get_partial_shape()
        self.input_shape = ([d.get_length() if d.is_static else None for d in partial] if partial.is_dynamic
                            else list(partial.to_shape()))
        self._requests: dict[tuple[int, ...], object] = {}
        if partial.is_static:
            self._requests[tuple(self.input_shape)] = self._compile(None)
        rt = self._model.get_rt_info()
        self.metadata = {}
        if rt.__contains__("model_info"):
            self.metadata = {k: str(v) for k, v in rt["model_info"].items()}
        if "names" not in self.metadata:  # an ONNX file read directly: its metadata via onnx
            import onnx

            meta = onnx.load(str(path), load_external_data=False).metadata_props
            self.metadata = {m.key: m.value for m in meta}

    def _compile(self, shape: tuple[int, ...] | None):
        model = self._model
        if shape is not None:
            model = self._model.clone()
            model.reshape({model.inputs[0]: self._ov.PartialShape(list(shape))})
        return self._core.compile_model(model, "CPU", self._config).create_infer_request()

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        request = self._requests.get(blob.shape)
        if request is None:
            request = self._requests[blob.shape] = self._compile(blob.shape)
        return request.infer({0: blob})[0]


class YoloRuntimeDetector(DetectorBackend):
    """A YOLO ONNX model on ``runtime`` ('onnxruntime' or 'openvino'). A static-shape model gets
    ultralytics' square letterbox; one with free input height and width gets the image scaled to
    ``imgsz`` on its long side and padded to the stride only (:func:`rect_input_size`)."""

    def __init__(self, model_path: str | Path, conf: float = 0.25, iou: float = 0.7,
                 classes: Sequence[int] | None = (0,), max_det: int = 300, runtime: str = "onnxruntime",
                 threads: int = 0, spin: bool = False, imgsz: int | None = None) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(f"detector runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
        if not 0.0 <= float(conf) <= 1.0 or not 0.0 <= float(iou) <= 1.0:
            raise ValueError(f"conf and iou must be in [0, 1], got {conf!r}, {iou!r}")
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"detector model file not found: {self.model_path}")
        self.conf, self.iou, self.max_det = float(conf), float(iou), int(max_det)
        self.classes = [int(c) for c in classes] if classes is not None and len(classes) else None
        self.runtime = runtime
        self._run = (_OrtSession if runtime == "onnxruntime" else _OpenVinoSession)(self.model_path, int(threads),
                                                                                     bool(spin))
        shape = self._run.input_shape
        if len(shape) != 4:
            raise ValueError(f"{self.model_path}: needs a (1, 3, H, W) input, got {shape}")
        if _is_static(shape):
            self.input_hw: tuple[int, int] | None = (int(shape[2]), int(shape[3]))
            self.imgsz = max(self.input_hw)
        else:  # free input size: the canvas follows the camera's aspect ratio
            if imgsz is None or int(imgsz) <= 0 or int(imgsz) % STRIDE:
                raise ValueError(f"{self.model_path} takes any input size: imgsz must be a positive multiple of "
                                 f"{STRIDE}, got {imgsz!r}")
            self.input_hw, self.imgsz = None, int(imgsz)
        self.nc = model_classes(self._run.metadata)
        self.name = f"{runtime}:{self.model_path.name}"
        self._canvas = np.full((*(self.input_hw or (self.imgsz, self.imgsz)), 3), PAD_VALUE, np.uint8)
        self._last_geometry: tuple | None = None

    def set_thresholds(self, conf: float | None = None, iou: float | None = None) -> None:
        for key, value in (("conf", conf), ("iou", iou)):
            if value is not None:
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"{key} must be in [0, 1], got {value!r}")
                setattr(self, key, float(value))

    def preprocess(self, image_rgb: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        """Letterboxed NCHW float32 blob (RGB, 0..1), scale, left and top padding."""
        h, w = image_rgb.shape[:2]
        size = self.input_hw or rect_input_size(h, w, self.imgsz)
        r, nw, nh, left, top = letterbox_params(h, w, size)
        if self._last_geometry != (h, w):  # the padding stays grey; only the image area is rewritten
            if self._canvas.shape[:2] != size:
                self._canvas = np.empty((*size, 3), np.uint8)
            self._canvas[:] = PAD_VALUE
            self._last_geometry = (h, w)
        region = self._canvas[top:top + nh, left:left + nw]
        if (nh, nw) == (h, w):
            region[:] = image_rgb
        else:
            region[:] = cv2.resize(image_rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob = cv2.dnn.blobFromImage(self._canvas, 1.0 / 255.0)  # HWC uint8 -> 1x3xHxW float32, one pass
        return blob, r, left, top

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image_rgb = check_image(image_rgb)
        blob, r, left, top = self.preprocess(image_rgb)
        boxes, scores, cls = decode_output(self._run(blob), self.nc, self.conf, self.iou, self.classes,
                                           self.max_det)
        if not len(boxes):
            return Detections.empty()
        h, w = image_rgb.shape[:2]
        boxes = (boxes - np.array([left, top, left, top], np.float32)) / r
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        return Detections(boxes, scores, cls)


DETECTOR_RUNTIMES = ("auto", "openvino", "onnxruntime", "ultralytics")  # the detector's `runtime` parameter


def choose_runtime(runtime: str, model_path: Path, device: str) -> str:
    """'auto': OpenVINO for an ONNX model on the CPU when the ``openvino`` wheel is there (the
    fastest that kept FP32's boxes, docs/benchmarks.md), else ONNX Runtime; ultralytics for
    .pt/.engine files and GPUs."""
    if runtime not in DETECTOR_RUNTIMES:
        raise ValueError(f"detector runtime must be one of {list(DETECTOR_RUNTIMES)}, got {runtime!r}")
    onnx_on_cpu = model_path.suffix.lower() == ".onnx" and str(device).strip().lower() == "cpu"
    if runtime == "auto":
        if not onnx_on_cpu:
            return "ultralytics"
        return "openvino" if openvino_available() else "onnxruntime"
    if runtime != "ultralytics" and not onnx_on_cpu:
        raise ValueError(f"detector runtime {runtime!r} runs ONNX models on the CPU only; model {model_path.name} "
                         f"on device {device!r} needs runtime 'ultralytics' (or 'auto')")
    return runtime


def build_yolo_detector(model: str = "default", conf: float = 0.25, iou: float = 0.7, imgsz: int = 640,
                        device: str = "cpu", classes: Sequence[int] | None = (0,), half: bool = False,
                        max_det: int = 300, warmup: bool = True, runtime: str = "auto") -> DetectorBackend:
    """The YOLO detector for the node's parameters: :class:`YoloRuntimeDetector` or ultralytics'."""
    from .default_weights import DEFAULT_MODEL_NAME, default_detector_model
    from .ultralytics_backend import UltralyticsDetector, resolve_model_path

    is_default = str(model) == DEFAULT_MODEL_NAME
    path = Path(f"{DEFAULT_MODEL_NAME}.onnx") if is_default else resolve_model_path(model, int(imgsz))
    chosen = choose_runtime(runtime, path, device)
    if chosen == "ultralytics":
        return UltralyticsDetector(model, conf=conf, iou=iou, imgsz=imgsz, device=device, classes=classes,
                                   half=half, max_det=max_det, warmup=warmup)
    if is_default:  # our runtimes: the export with free input size (rect letterbox)
        path = default_detector_model(int(imgsz), dynamic=True)
    det = YoloRuntimeDetector(path, conf=conf, iou=iou, classes=classes, max_det=max_det, runtime=chosen,
                              imgsz=int(imgsz))
    if det.input_hw is not None and max(det.input_hw) != int(imgsz):
        raise ValueError(f"detector model {path.name} takes {det.input_hw[1]}x{det.input_hw[0]} images, not imgsz "
                         f"{imgsz}: set imgsz to match or use model 'default' (exported per imgsz)")
    if warmup and det.input_hw is not None:  # a free-size model is compiled for the camera's first frame
        det.detect(np.zeros((int(imgsz), int(imgsz), 3), np.uint8))
    return det
