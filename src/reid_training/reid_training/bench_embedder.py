"""Crops/s of a ReID model through the embedder backends: ``python -m reid_training.bench_embedder``.

Measures the network alone (the normalised batch is prepared once) for onnxruntime and, when
a TorchScript file or a training checkpoint is given, torch -- side by side, at several batch
sizes. TensorRT engines (``.engine``) are measured too where tensorrt and a GPU exist. This is
a benchmark script, not a test: numbers depend on the machine and on what else runs on it, so
each cell is the best of ``--repeats`` timed rounds (the least disturbed one).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np


def _best_rate(fn: Callable[[np.ndarray], object], batch: np.ndarray, seconds: float, repeats: int) -> float:
    fn(batch)  # warm-up: allocations, lazy initialisation
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn(batch)
            n += 1
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
        best = max(best, n * len(batch) / dt)
    return best


def _torch_runner(path: Path, device: str) -> Callable[[np.ndarray], object]:
    import torch

    if path.suffix.lower() in (".pt", ".pth", ".ts", ".torchscript"):
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = torch.jit.load(str(path), map_location=device).eval()
        except RuntimeError:  # not TorchScript: maybe a reid_training checkpoint
            from reid_training.engine import model_from_checkpoint

            module = model_from_checkpoint(path)[0].to(device).eval()
    else:
        raise ValueError(f"torch model must be a TorchScript .pt or a reid_training checkpoint, got {path}")

    def run(x: np.ndarray):
        with torch.inference_mode():
            out = module(torch.from_numpy(x).to(device))
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            return out
    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_embedder", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default", help="ONNX model ('default' = the shipped default model)")
    p.add_argument("--torch", default=None, help="TorchScript .pt or reid_training checkpoint of the same network")
    p.add_argument("--engine", default=None, help="TensorRT .engine (GPU only)")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--device", default="cpu", help="cpu | cuda (onnxruntime provider and torch device)")
    p.add_argument("--threads", type=int, default=0, help="torch / onnxruntime intra-op threads (0 = library default)")
    p.add_argument("--seconds", type=float, default=1.5, help="timed seconds per round")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    from .embedding import OnnxRuntimeBackend, read_metadata
    from .embedding.default_model import default_model_path

    model = default_model_path() if args.model == "default" else Path(args.model).expanduser()
    meta = read_metadata(model)
    h, w = meta.input_height, meta.input_width
    rng = np.random.default_rng(0)
    runners: dict[str, Callable[[np.ndarray], object]] = {}
    ort_backend = OnnxRuntimeBackend(model, providers=args.device, max_batch=max(args.batch),
                                     intra_op_threads=args.threads)
    runners[f"onnxruntime ({ort_backend.provider})"] = ort_backend.embed
    if args.torch:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        runners[f"torch ({args.device})"] = _torch_runner(Path(args.torch), "cuda" if args.device.startswith("cuda")
                                                          else "cpu")
    if args.engine:
        from .embedding import TensorRTBackend

        trt = TensorRTBackend(args.engine, device="cuda:0", max_batch=max(args.batch))
        runners["tensorrt"] = trt.embed
    print(f"model {model} ({meta.name}, {h}x{w}, {meta.feature_dim}-d), cpu cores {os.cpu_count()}", flush=True)
    print(f"{'backend':<36}" + "".join(f"{'b=' + str(b):>10}" for b in args.batch) + "   (crops/s)", flush=True)
    results: dict[str, dict[int, float]] = {}
    for name, fn in runners.items():
        row = {}
        for b in args.batch:
            x = rng.standard_normal((b, 3, h, w), dtype=np.float32)
            row[b] = _best_rate(fn, x, args.seconds, args.repeats)
        results[name] = row
        print(f"{name:<36}" + "".join(f"{row[b]:>10.1f}" for b in args.batch), flush=True)
    print(json.dumps({"model": str(model), "input": [h, w], "crops_per_s": {
        k: {str(b): round(v, 1) for b, v in r.items()} for k, r in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
