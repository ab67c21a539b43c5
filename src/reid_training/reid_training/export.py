"""Export a trained ReID model for the embedder: ONNX (dynamic batch), TorchScript, TensorRT (FP16).

Every export runs a parity check -- cosine similarity between the torch features and the
exported file's features on random crops must be >= ``PARITY_MIN_COS`` (0.999) for every crop --
and writes ``<model file>.json`` (input size, mean/std, feature dim, name; see
``reid_tracker_ros.embedding.metadata``) beside the model, which is all the embedder reads.

CLI (``reid-export``)::

    reid-export --ckpt runs/reid/checkpoint.pt --out models/reid.onnx [--format onnx|torchscript|engine]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from reid_tracker_ros.embedding.metadata import (IMAGENET_MEAN, IMAGENET_STD, ModelMetadata, metadata_path,
                                                 write_metadata)

PARITY_MIN_COS = 0.999
ONNX_OPSET = 17
FORMAT_SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "engine": ".engine"}


class ParityError(RuntimeError):
    """The exported model's features differ from the torch model's."""


def random_crops(n: int, input_hw: tuple[int, int], seed: int = 0, mean=IMAGENET_MEAN,
                 std=IMAGENET_STD) -> np.ndarray:
    """Normalised float32 batch of random-pixel crops plus smooth blobs (pure noise alone makes
    near-constant features and a too-easy parity test)."""
    rng = np.random.default_rng(seed)
    h, w = input_hw
    pixels = rng.integers(0, 256, (n, h, w, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(h / 8, h / 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        pixels[i] = pixels[i] * 0.3 + blob * rng.uniform(0, 255, 3) * 0.7
    batch = (pixels / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), np.float32)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-12)


def parity_check(model: nn.Module, run_exported: Callable[[np.ndarray], np.ndarray], input_hw: tuple[int, int],
                 n: int = 8, seed: int = 0, min_cos: float = PARITY_MIN_COS, what: str = "export") -> float:
    """Compare torch and exported features on ``n`` random crops; returns the minimum cosine,
    raises :class:`ParityError` below ``min_cos``."""
    batch = random_crops(n, input_hw, seed)
    model = model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        ref = model(torch.from_numpy(batch).to(device)).float().cpu().numpy()
    got = np.asarray(run_exported(batch), np.float32).reshape(len(batch), -1)
    if got.shape != ref.shape:
        raise ParityError(f"{what}: output shape {got.shape} differs from torch {ref.shape}")
    cos_rows = cosine_rows(ref, got)
    # an untrained net in eval mode can output ~0 (BatchNorm with initial statistics): the angle
    # of a ~0 vector is rounding noise, so such rows must instead agree in absolute terms
    tiny = np.linalg.norm(ref, axis=1) < 1e-5
    if tiny.any():
        cos_rows[tiny] = np.where(np.abs(ref[tiny] - got[tiny]).max(axis=1) < 1e-6, 1.0, 0.0)
    cos = float(cos_rows.min())
    if not cos >= min_cos:
        raise ParityError(f"{what}: parity check failed, min cosine(torch, exported) = {cos:.6f} < {min_cos}")
    return cos


def _metadata(model: nn.Module, fmt: str, name: str, description: str, extra: dict | None, opset: int | None,
              max_batch: int | None = None, trained: bool = True) -> ModelMetadata:
    cfg = getattr(model, "config", None)
    h, w = (cfg.input_height, cfg.input_width) if cfg is not None else (256, 128)
    feature_dim = int(getattr(model, "feature_dim"))
    info = dict(extra or {})
    if cfg is not None:
        info.setdefault("model_config", cfg.to_dict())
    return ModelMetadata(name=name, input_height=int(h), input_width=int(w), feature_dim=feature_dim, format=fmt,
                         mean=IMAGENET_MEAN, std=IMAGENET_STD, opset=opset, max_batch=max_batch, trained=trained,
                         description=description, extra=info)


def _input_hw(model: nn.Module) -> tuple[int, int]:
    cfg = getattr(model, "config", None)
    return (cfg.input_height, cfg.input_width) if cfg is not None else (256, 128)


def export_onnx(model: nn.Module, out_path: str | os.PathLike, name: str = "reid", description: str = "",
                extra: dict | None = None, opset: int = ONNX_OPSET, trained: bool = True) -> dict[str, Any]:
    """ONNX with a dynamic batch axis (``input`` -> ``features``); checks parity with onnxruntime
    at two batch sizes (so the dynamic axis is exercised) and writes the metadata."""
    import onnxruntime as ort

    out_path = Path(out_path).expanduser()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    h, w = _input_hw(model)
    with warnings.catch_warnings():  # the legacy (non-dynamo) exporter warns that it is legacy
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(2, 3, h, w),), str(out_path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["features"],
                          dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}})
    session = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    run = lambda x: session.run(["features"], {"input": x})[0]  # noqa: E731
    cos = min(parity_check(model, run, (h, w), n=5, seed=1, what=f"ONNX {out_path}"),
              parity_check(model, run, (h, w), n=16, seed=2, what=f"ONNX {out_path}"))
    meta = _metadata(model, "onnx", name, description, extra, opset, trained=trained)
    write_metadata(out_path, meta)
    return {"path": str(out_path), "format": "onnx", "parity_min_cos": cos, "metadata": str(metadata_path(out_path))}


def export_torchscript(model: nn.Module, out_path: str | os.PathLike, name: str = "reid", description: str = "",
                       extra: dict | None = None, trained: bool = True) -> dict[str, Any]:
    """Traced TorchScript (``.pt``) for the embedder's torch backend, with parity check and metadata."""
    out_path = Path(out_path).expanduser()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    h, w = _input_hw(model)
    with torch.no_grad(), warnings.catch_warnings():  # torch 2.9+ flags TorchScript as deprecated
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, torch.zeros(2, 3, h, w))
    traced.save(str(out_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(out_path), map_location="cpu").eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return loaded(torch.from_numpy(x)).numpy()

    cos = parity_check(model, run, (h, w), n=6, seed=3, what=f"TorchScript {out_path}")
    write_metadata(out_path, _metadata(model, "torchscript", name, description, extra, None, trained=trained))
    return {"path": str(out_path), "format": "torchscript", "parity_min_cos": cos,
            "metadata": str(metadata_path(out_path))}


def tensorrt_available() -> tuple[bool, str]:
    """``(True, version)`` when the tensorrt package imports and a CUDA GPU exists, else
    ``(False, reason)`` -- the reason is what the user needs to fix."""
    try:
        import tensorrt as trt
    except ImportError:
        return False, "the 'tensorrt' Python package is not installed (pip install tensorrt on a CUDA machine)"
    if not torch.cuda.is_available():
        return False, f"tensorrt {trt.__version__} is installed but torch sees no CUDA GPU"
    return True, trt.__version__


def build_tensorrt_engine(model: nn.Module, onnx_path: str | os.PathLike, engine_path: str | os.PathLike,
                          fp16: bool = True, max_batch: int = 64, opt_batch: int = 16, name: str = "reid",
                          description: str = "", extra: dict | None = None,
                          workspace_gb: float = 2.0) -> dict[str, Any]:
    """Build a serialized TensorRT engine from an ONNX file (dynamic batch 1..``max_batch``,
    optimised for ``opt_batch``), FP16 when the GPU supports it; parity-checked against torch on
    the GPU and written with its own metadata (``max_batch`` set from the profile)."""
    ok, why = tensorrt_available()
    if not ok:
        raise RuntimeError(f"cannot build a TensorRT engine: {why}. The ONNX file {onnx_path} works with "
                           f"onnxruntime (CPU/CUDA/TensorRT providers) instead.")
    import tensorrt as trt

    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    h, w = _input_hw(model)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16 and builder.platform_has_fast_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    inp = network.get_input(0).name
    profile.set_shape(inp, (1, 3, h, w), (min(opt_batch, max_batch), 3, h, w), (max_batch, 3, h, w))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT engine build failed for {onnx_path}")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    from reid_tracker_ros.embedding.backends import TensorRTBackend

    backend = TensorRTBackend(engine_path, device="cuda:0", max_batch=max_batch)
    gpu_model = model.eval().cuda()
    cos = parity_check(gpu_model, backend._forward, (h, w), n=16, seed=4, what=f"TensorRT {engine_path}")
    model.cpu()
    info = dict(extra or {})
    info["fp16"] = bool(fp16 and builder.platform_has_fast_fp16)
    info["tensorrt"] = trt.__version__
    write_metadata(engine_path, _metadata(model, "engine", name, description, info, None, max_batch=max_batch))
    return {"path": str(engine_path), "format": "engine", "parity_min_cos": cos,
            "metadata": str(metadata_path(engine_path)), "fp16": info["fp16"]}


def export_model(model: nn.Module, out_path: str | os.PathLike, fmt: str | None = None, **kwargs) -> dict[str, Any]:
    """Dispatch on ``fmt`` (or the suffix of ``out_path``)."""
    out_path = Path(out_path)
    if fmt is None:
        by_suffix = {v: k for k, v in FORMAT_SUFFIX.items()}
        fmt = by_suffix.get(out_path.suffix.lower())
        if fmt is None:
            raise ValueError(f"cannot tell the export format from {out_path}: use .onnx, .pt or .engine or --format")
    if fmt == "onnx":
        return export_onnx(model, out_path, **kwargs)
    if fmt == "torchscript":
        return export_torchscript(model, out_path, **kwargs)
    if fmt == "engine":
        onnx_path = out_path.with_suffix(".onnx")
        common = {k: v for k, v in kwargs.items() if k in ("name", "description", "extra")}
        if not onnx_path.is_file():
            export_onnx(model, onnx_path, **common)
        return build_tensorrt_engine(model, onnx_path, out_path, **kwargs)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {sorted(FORMAT_SUFFIX)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="reid-export", description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", required=True, help="training checkpoint (reid-train output)")
    p.add_argument("--out", required=True, help="output model file (.onnx, .pt, .engine)")
    p.add_argument("--format", choices=sorted(FORMAT_SUFFIX), default=None, help="default: from --out suffix")
    p.add_argument("--name", default=None, help="model name written into the metadata (default: from the checkpoint)")
    p.add_argument("--description", default="")
    p.add_argument("--max-batch", type=int, default=64, help="TensorRT profile maximum batch")
    p.add_argument("--no-fp16", action="store_true", help="TensorRT: build in FP32")
    p.add_argument("--eval-feature", choices=("after_bn", "before_bn"), default=None,
                   help="override the checkpoint's inference feature (before/after the BNNeck)")
    args = p.parse_args(argv)
    from .engine import model_from_checkpoint

    model, state = model_from_checkpoint(args.ckpt)
    if args.eval_feature:
        model.config.eval_feature = args.eval_feature
    name = args.name or f"reid-{model.config.backbone}"
    extra = {"checkpoint": str(Path(args.ckpt).name), **{k: v for k, v in (state.get("extra") or {}).items()
                                                         if k in ("dataset", "metrics", "command")}}
    kwargs: dict[str, Any] = {"name": name, "description": args.description, "extra": extra}
    fmt = args.format or {v: k for k, v in FORMAT_SUFFIX.items()}.get(Path(args.out).suffix.lower())
    if fmt == "engine":
        ok, why = tensorrt_available()
        if not ok:
            print(f"reid-export: TensorRT engine not built: {why}", file=sys.stderr)
            return 2
        kwargs.update(max_batch=args.max_batch, fp16=not args.no_fp16)
    result = export_model(model, args.out, fmt, **kwargs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
