"""ReID embedding backends (ONNX Runtime, TorchScript, TensorRT) and the :class:`Embedder`.

Every backend maps a float32 ``(N, 3, H, W)`` batch to float32 ``(N, D)`` rows with unit L2
norm, in chunks of at most ``max_batch`` (bounded GPU memory, and static-batch files work).
Heavy libraries (onnxruntime, torch, tensorrt) are imported when a backend is built, not at
module import. :func:`load_embedder` picks the backend from the file suffix and reads the
metadata JSON that travels with the model (see :mod:`.metadata`).
"""
from __future__ import annotations

import logging
import os
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from ..openvino_cpu import LATENCY_CONFIG, openvino_available
from ..vectors import normalize_rows
from .crops import CropPreprocessor
from .metadata import ModelMetadata, read_metadata

LOG = logging.getLogger(__name__)

ONNX_SUFFIXES = (".onnx",)
TORCH_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript")
ENGINE_SUFFIXES = (".engine", ".trt", ".plan")
ORT_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path.resolve()}")
    return path


class EmbeddingBackend(ABC):
    """Runs a ReID network. Subclasses implement :meth:`_forward` on one chunk."""

    name: str = "embedding"
    provider: str = "unknown"  # where inference actually runs, e.g. "CPUExecutionProvider"

    def __init__(self, max_batch: int = 32, feature_dim: int | None = None) -> None:
        if int(max_batch) <= 0:
            raise ValueError(f"max_batch must be positive, got {max_batch!r}")
        self.max_batch = int(max_batch)
        self.feature_dim = feature_dim

    @abstractmethod
    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        """Raw features ``(n, D)`` for a contiguous float32 chunk with ``n <= max_batch``."""

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """``(N, 3, H, W)`` float32 -> ``(N, D)`` float32, L2-normalised rows."""
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"batch must have shape (N, 3, H, W), got {batch.shape}")
        n = len(batch)
        if n == 0:
            if self.feature_dim is None:
                raise RuntimeError(f"{self.name}: feature size unknown before the first non-empty batch")
            return np.zeros((0, self.feature_dim), np.float32)
        out: np.ndarray | None = None
        for start in range(0, n, self.max_batch):
            chunk = np.ascontiguousarray(batch[start:start + self.max_batch], dtype=np.float32)
            feats = np.asarray(self._forward(chunk), dtype=np.float32).reshape(len(chunk), -1)
            if out is None:
                if self.feature_dim is not None and feats.shape[1] != self.feature_dim:
                    raise ValueError(f"{self.name}: model outputs {feats.shape[1]} features but "
                                     f"{self.feature_dim} were expected (metadata feature_dim)")
                self.feature_dim = feats.shape[1]
                out = np.empty((n, feats.shape[1]), np.float32)
            out[start:start + len(chunk)] = feats
        return normalize_rows(out, out=out)


def pad_to_batch(chunk: np.ndarray, static_batch: int | None) -> np.ndarray:
    """A model with a fixed batch size gets exactly that many rows: the chunk zero-padded."""
    if static_batch is None or len(chunk) >= static_batch:
        return chunk
    padded = np.zeros((static_batch,) + chunk.shape[1:], np.float32)
    padded[:len(chunk)] = chunk
    return padded


def resolve_ort_providers(providers: str | Sequence[str], available: Sequence[str]) -> list[str]:
    """Turn ``"auto" | "cpu" | "cuda" | "tensorrt"`` or an explicit list into an ORT provider
    list. ``auto`` takes TensorRT, then CUDA, then CPU, as far as this onnxruntime build has them;
    an explicit GPU request that the build cannot serve is an error, not a silent CPU fallback."""
    if isinstance(providers, str):
        key = providers.strip().lower()
        if key == "auto":
            return [p for p in ORT_PREFERENCE if p in available] or list(available)
        wanted = {"cpu": ["CPUExecutionProvider"],
                  "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
                  "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}
        if key not in wanted:
            raise ValueError(f"providers must be 'auto', 'cpu', 'cuda', 'tensorrt' or a list, got {providers!r}")
        if wanted[key][0] not in available:
            raise RuntimeError(f"onnxruntime provider {wanted[key][0]} requested ({providers!r}) but this "
                               f"onnxruntime build only has {list(available)} (install onnxruntime-gpu)")
        return [p for p in wanted[key] if p in available]
    chosen = list(providers)
    missing = [p for p in chosen if p not in available]
    if missing or not chosen:
        raise RuntimeError(f"onnxruntime providers {missing or chosen} not available; available: {list(available)}")
    return chosen


class OnnxRuntimeBackend(EmbeddingBackend):
    """ONNX Runtime inference with the best available execution provider.

    Dynamic batch axes are used as they are; a file with a fixed batch size ``b`` is fed chunks
    of exactly ``b`` (the last one zero-padded). TensorRT engines built by the TensorRT provider
    are cached under ``<REID_TRACKER_CACHE>/ort_trt`` so only the first start is slow.
    """

    def __init__(self, path: str | os.PathLike, providers: str | Sequence[str] = "auto",
                 max_batch: int = 32, feature_dim: int | None = None, device_id: int = 0,
                 intra_op_threads: int = 0) -> None:
        super().__init__(max_batch, feature_dim)
        import onnxruntime as ort

        self.path = _existing_file(path, "ONNX model")
        self.name = f"onnxruntime:{self.path.name}"
        chosen = resolve_ort_providers(providers, ort.get_available_providers())
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(intra_op_threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: provider fallbacks are reported via .provider
        # threads sleep between operators: spinning ones take the CPU the detector needs on a small robot
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = self._create_session(ort, options, chosen, int(device_id))
        self.provider = self._session.get_providers()[0]
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        self._output_name = self._session.get_outputs()[0].name
        self._input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self.static_batch = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else None
        if self.static_batch is not None:
            self.max_batch = self.static_batch

    def _create_session(self, ort, options, chosen: list[str], device_id: int):
        """Try the provider list, dropping the first (GPU) provider after a failure: a CUDA or
        TensorRT library missing at run time must not stop a robot that can run on CPU."""
        last_error: Exception | None = None
        while chosen:
            try:
                return ort.InferenceSession(str(self.path), options, providers=[
                    (p, self._provider_options(p, device_id)) for p in chosen])
            except Exception as exc:  # onnxruntime raises its own exception types per provider
                last_error = exc
                if len(chosen) == 1:
                    break
                LOG.warning("onnxruntime provider %s failed for %s (%s); trying %s",
                            chosen[0], self.path, exc, chosen[1:])
                chosen = chosen[1:]
        raise RuntimeError(f"could not load ONNX model {self.path}: {last_error}") from last_error

    def _provider_options(self, provider: str, device_id: int) -> dict:
        if provider == "CUDAExecutionProvider":
            return {"device_id": device_id}
        if provider == "TensorrtExecutionProvider":
            from ..detection.default_weights import cache_root

            cache = cache_root() / "ort_trt"
            cache.mkdir(parents=True, exist_ok=True)
            return {"device_id": device_id, "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True,
                    "trt_timing_cache_path": str(cache)}
        return {}

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        n = len(chunk)
        chunk = pad_to_batch(chunk, self.static_batch)
        if self._input_dtype is not np.float32:
            chunk = chunk.astype(self._input_dtype)
        return self._session.run([self._output_name], {self._input_name: chunk})[0][:n]


class OpenVinoBackend(EmbeddingBackend):
    """An ONNX ReID model on OpenVINO's CPU plugin: about 1.9x ONNX Runtime's CPU speed for the
    shipped MobileNetV2 on this project's 2-core machine (docs/benchmarks.md), so ``device:
    auto`` takes it on a machine without a GPU provider. Dynamic batch axes stay dynamic."""

    def __init__(self, path: str | os.PathLike, max_batch: int = 32, feature_dim: int | None = None) -> None:
        super().__init__(max_batch, feature_dim)
        import openvino as ov

        self.path = _existing_file(path, "ONNX model")
        self.name = f"openvino:{self.path.name}"
        core = ov.Core()
        model = core.read_model(str(self.path))
        self._compiled = core.compile_model(model, "CPU", LATENCY_CONFIG)
        self._request = self._compiled.create_infer_request()
        self.provider = "OpenVINO:CPU"
        batch = model.inputs[0].get_partial_shape()[0]
        self.static_batch = batch.get_length() if batch.is_static else None
        if self.static_batch is not None:
            self.max_batch = self.static_batch

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        n = len(chunk)
        return np.array(self._request.infer({0: pad_to_batch(chunk, self.static_batch)})[0][:n])


def _cpu_runtime_for_auto() -> str:
    """``device: auto`` for an ONNX model: onnxruntime when it has a GPU provider, else OpenVINO
    when installed, else onnxruntime on the CPU."""
    import onnxruntime as ort

    if any(p in ort.get_available_providers() for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider")):
        return "onnxruntime"
    return "openvino" if openvino_available() else "onnxruntime"


def _torch_device(device: str) -> str:
    import torch

    key = str(device).strip().lower()
    if key == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    key = "cuda" if key == "gpu" else key
    if key != "cpu" and not (key == "cuda" or (key.startswith("cuda:") and key[5:].isdigit())):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N' for TorchScript, got {device!r}")
    if key.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but torch sees no CUDA GPU")
    return key


class TorchBackend(EmbeddingBackend):
    """TorchScript model (``torch.jit.save`` output) on CPU or CUDA."""

    def __init__(self, path: str | os.PathLike, device: str = "auto", max_batch: int = 32,
                 feature_dim: int | None = None) -> None:
        super().__init__(max_batch, feature_dim)
        import torch

        self._torch = torch
        self.path = _existing_file(path, "TorchScript model")
        self.device = _torch_device(device)
        try:
            with warnings.catch_warnings():  # torch 2.9+ flags TorchScript as deprecated; still supported
                warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.12
                warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.9-2.11
                self._module = torch.jit.load(str(self.path), map_location=self.device).eval()
        except Exception as exc:  # torch raises RuntimeError/ValueError depending on the damage
            raise RuntimeError(f"could not load TorchScript model {self.path}: {exc}") from exc
        self.name = f"torch:{self.path.name}"
        self.provider = f"torch:{self.device}"

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(chunk).to(self.device, non_blocking=True)
            return self._module(x).float().cpu().numpy()


class TensorRTBackend(EmbeddingBackend):
    """Serialized TensorRT engine (TensorRT >= 8.5 tensor API), run on a CUDA GPU via torch
    tensors (no pycuda needed). The engine's optimisation profile bounds the batch size."""

    def __init__(self, path: str | os.PathLike, device: str = "cuda:0", max_batch: int = 32,
                 feature_dim: int | None = None) -> None:
        super().__init__(max_batch, feature_dim)
        self.path = _existing_file(path, "TensorRT engine")
        try:
            import tensorrt as trt
        except ImportError as exc:
            raise RuntimeError(f"{self.path}: the TensorRT backend needs the 'tensorrt' Python package "
                               f"(not installed); use the model's .onnx file instead") from exc
        import torch

        key = str(device).strip().lower()
        key = "cuda:0" if key in ("auto", "cuda", "gpu") else key
        if not key.startswith("cuda") or not torch.cuda.is_available():
            raise RuntimeError(f"{self.path}: a TensorRT engine needs a CUDA GPU "
                               f"(device {device!r}, torch.cuda.is_available()={torch.cuda.is_available()})")
        self._torch = torch
        self.device = torch.device(key)
        self._trt_logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        self._engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self._engine is None:
            raise RuntimeError(f"{self.path}: TensorRT could not deserialize the engine (built with "
                               f"another TensorRT version or for another GPU?)")
        if not hasattr(self._engine, "num_io_tensors"):
            raise RuntimeError(f"{self.path}: TensorRT >= 8.5 is required (found {trt.__version__})")
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or not outputs:
            raise RuntimeError(f"{self.path}: expected 1 input and >= 1 output, got {inputs} / {outputs}")
        self._input, self._output = inputs[0], outputs[0]
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16}
        self._in_dtype = dtypes.get(self._engine.get_tensor_dtype(self._input))
        self._out_dtype = dtypes.get(self._engine.get_tensor_dtype(self._output))
        if self._in_dtype is None or self._out_dtype is None:
            raise RuntimeError(f"{self.path}: only float32/float16 engine inputs/outputs are supported")
        shape = tuple(self._engine.get_tensor_shape(self._input))
        if shape[0] == -1:  # dynamic batch: the profile's max bounds the chunk size
            profile_max = self._engine.get_tensor_profile_shape(self._input, 0)[2]
            self.max_batch = min(self.max_batch, int(profile_max[0]))
            self.static_batch = None
        else:
            self.static_batch = int(shape[0])
            self.max_batch = self.static_batch
        self._context = self._engine.create_execution_context()
        self._stream = torch.cuda.Stream(device=self.device)
        self.name = f"tensorrt:{self.path.name}"
        self.provider = f"tensorrt:{key}"

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        torch = self._torch
        n = len(chunk)
        with torch.cuda.stream(self._stream):
            x = torch.from_numpy(chunk).to(self.device, dtype=self._in_dtype, non_blocking=True)
            if self.static_batch is not None and n < self.static_batch:
                x = torch.cat([x, x.new_zeros((self.static_batch - n,) + tuple(x.shape[1:]))])
            x = x.contiguous()
            self._context.set_input_shape(self._input, tuple(x.shape))
            y = torch.empty(tuple(self._context.get_tensor_shape(self._output)), dtype=self._out_dtype,
                            device=self.device)
            self._context.set_tensor_address(self._input, x.data_ptr())
            self._context.set_tensor_address(self._output, y.data_ptr())
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError(f"{self.path}: TensorRT execution failed")
            result = y[:n].float().cpu()  # synchronises the stream
        return result.numpy()


class Embedder:
    """Crops + network: ``embed(image, boxes)`` gives one L2-normalised feature per box.

    Invalid boxes (see :mod:`.crops`) get an all-zero row and ``False`` in the mask of
    :meth:`embed_with_mask`; they are not sent through the network.
    """

    def __init__(self, backend: EmbeddingBackend, metadata: ModelMetadata, capacity: int = 32) -> None:
        self.backend = backend
        self.metadata = metadata
        backend.feature_dim = metadata.feature_dim
        self._crops = CropPreprocessor((metadata.input_height, metadata.input_width),
                                       metadata.mean, metadata.std, capacity=capacity)

    @property
    def feature_dim(self) -> int:
        return self.metadata.feature_dim

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def provider(self) -> str:
        return self.backend.provider

    @property
    def max_batch(self) -> int:
        return self.backend.max_batch

    def warmup(self) -> None:
        """One dummy crop: allocates the runtime's buffers and checks the output size against
        the metadata now instead of on the first real frame."""
        h, w = self.metadata.input_height, self.metadata.input_width
        self.backend.embed(np.zeros((1, 3, h, w), np.float32))

    def embed_with_mask(self, image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(features (N, D) float32, valid (N,) bool)`` for xyxy boxes in an RGB image."""
        batch, valid = self._crops(image_rgb, boxes_xyxy)
        feats = np.zeros((len(batch), self.feature_dim), np.float32)
        if valid.all():
            if len(batch):
                feats[:] = self.backend.embed(batch)
        elif valid.any():
            feats[valid] = self.backend.embed(batch[valid])
        return feats, valid

    def embed(self, image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
        """``(N, D)`` float32 features; rows of invalid boxes are zero."""
        return self.embed_with_mask(image_rgb, boxes_xyxy)[0]


def _backend_for(path: Path, meta: ModelMetadata, device: str, max_batch: int) -> EmbeddingBackend:
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        fmt = "onnx"
        key = str(device).strip().lower()
        device_id = int(key.split(":", 1)[1]) if key.startswith("cuda:") else 0
        providers = "cuda" if key.startswith("cuda") else ("auto" if key == "gpu" else key)
    elif suffix in TORCH_SUFFIXES:
        fmt = "torchscript"
    elif suffix in ENGINE_SUFFIXES:
        fmt = "engine"
    else:
        raise ValueError(f"unsupported ReID model file {path}: expected one of "
                         f"{ONNX_SUFFIXES + TORCH_SUFFIXES + ENGINE_SUFFIXES}")
    if meta.format != fmt:
        raise ValueError(f"{path}: metadata says format {meta.format!r} but the file suffix means {fmt!r}")
    if fmt == "onnx":
        if key == "openvino" or (key == "auto" and _cpu_runtime_for_auto() == "openvino"):
            return OpenVinoBackend(path, max_batch=max_batch, feature_dim=meta.feature_dim)
        return OnnxRuntimeBackend(path, providers=providers, max_batch=max_batch,
                                  feature_dim=meta.feature_dim, device_id=device_id)
    if fmt == "torchscript":
        return TorchBackend(path, device=device, max_batch=max_batch, feature_dim=meta.feature_dim)
    return TensorRTBackend(path, device=device,
                           max_batch=min(max_batch, meta.max_batch or max_batch), feature_dim=meta.feature_dim)


def load_embedder(model_path: str | os.PathLike, device: str = "auto", max_batch: int = 32,
                  warmup: bool = True) -> Embedder:
    """Load a ReID model and its ``<model>.json`` metadata; the backend follows the suffix.

    ``device``: ``"auto"`` (best available: for ONNX an onnxruntime GPU provider, else OpenVINO
    when installed, else onnxruntime's CPU), ``"cpu"`` (onnxruntime's CPU), ``"cuda"`` /
    ``"cuda:N"``, or for ONNX also ``"tensorrt"`` (the onnxruntime TensorRT provider) and
    ``"openvino"``. The chosen runtime is reported by ``Embedder.provider``.
    """
    path = _existing_file(model_path, "ReID model")
    meta = read_metadata(path)
    embedder = Embedder(_backend_for(path, meta, device, max_batch), meta, capacity=max_batch)
    if warmup:
        embedder.warmup()
    return embedder
