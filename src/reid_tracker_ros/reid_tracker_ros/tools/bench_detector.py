"""Detector speed and accuracy: our runtimes against Ultralytics' own loop, same weights, same frames.

``python -m reid_tracker_ros.tools.bench_detector [--imgsz 640] [--frames 60] [--variants ...]``

Variants (each on the default yolo11n-pose export for ``--imgsz``):
- ``ul-predict``: ``YOLO(onnx).predict(bgr, imgsz, classes=[0])`` (our detector node's backend
  until now); ``ul-track``: ``YOLO(onnx).track(..., tracker="botsort.yaml", persist=True)``,
  what a user would run instead of our graph (sparse-flow GMC, no ReID);
- ``ort``: :class:`~reid_tracker_ros.detection.yolo_runtime.YoloRuntimeDetector` on ONNX Runtime,
  spinning off (``ort-spin``: on), threads ``--threads``; ``ov``: the same on OpenVINO;
- ``ort-int8`` / ``ov-int8``: the INT8 QDQ copy (:mod:`~reid_tracker_ros.detection.quantize`),
  calibrated on vtest.avi frames that are not timed (every 7th frame from frame 400).

Frames: the first ``--frames`` of vtest.avi (768x576), given round-robin to every variant so load
changes on the shared machine hit all alike; per-frame wall times, medians. ``--load N`` runs N
busy processes (the embedder's ReID network on ONNX Runtime in a loop, as in the graph) during the
timing. Accuracy: each variant's person boxes against ``ul-predict`` FP32 (greedy IoU >= 0.5
matching): recall, precision and mean IoU over bus.jpg, zidane.jpg (ultralytics' assets) and
the timed vtest frames. Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CONFIDENT = 0.35  # reference boxes at least this sure (conf 0.25 + 0.1)
VARIANTS = ("ul-predict", "ul-track", "ort", "ort-spin", "ov", "ort-int8", "ov-int8")


def read_frames(video: Path, start: int, count: int, step: int = 1) -> list[np.ndarray]:
    """RGB frames ``start, start+step, ...`` of ``video``."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out, k = [], 0
    while len(out) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        if k % step == 0:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        k += 1
    cap.release()
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def match(ref: np.ndarray, got: np.ndarray, thr: float = 0.5) -> tuple[int, list[float]]:
    """Greedy one-to-one matching by IoU: (matches, their IoUs)."""
    if not len(ref) or not len(got):
        return 0, []
    m = iou_matrix(ref, got)
    ious = []
    while m.size and m.max() >= thr:
        i, j = np.unravel_index(m.argmax(), m.shape)
        ious.append(float(m[i, j]))
        m[i, :], m[:, j] = -1, -1
    return len(ious), ious


class UltralyticsVariant:
    def __init__(self, onnx: Path, imgsz: int, track: bool) -> None:
        from ..detection.ultralytics_backend import configure_ultralytics_env

        configure_ultralytics_env()
        from ultralytics import YOLO

        self.model, self.imgsz, self.track = YOLO(str(onnx), task="pose"), imgsz, track

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # what a user's cv2 capture gives
        kw = dict(imgsz=self.imgsz, classes=[0], verbose=False)
        r = (self.model.track(bgr, tracker="botsort.yaml", persist=True, **kw) if self.track
             else self.model.predict(bgr, **kw))[0]
        if r.boxes is None:
            return np.zeros((0, 4)), np.zeros(0)
        return r.boxes.xyxy.cpu().numpy(), r.boxes.conf.cpu().numpy()


class RuntimeVariant:
    def __init__(self, onnx: Path, runtime: str, threads: int, spin: bool) -> None:
        from ..detection.yolo_runtime import YoloRuntimeDetector

        self.det = YoloRuntimeDetector(onnx, runtime=runtime, threads=threads, spin=spin)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        d = self.det.detect(rgb)
        return d.boxes, d.scores


def _busy_embedder(stop, spin: bool) -> None:  # a load generator: the graph's ReID network
    import onnxruntime as ort

    from ..embedding.default_model import shipped_model_path

    opts = ort.SessionOptions()
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(shipped_model_path()), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [8 if not isinstance(d, int) else d for d in inp.shape]
    x = np.random.default_rng(0).random(shape, np.float32)
    while not stop.is_set():
        sess.run(None, {inp.name: x})
        time.sleep(0.02)  # the embedder waits for the next frame's detections


def start_load(n: int, spin: bool) -> tuple[list, object]:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_busy_embedder, args=(stop, spin), daemon=True)
             for _ in range(n)]
    for p in procs:
        p.start()
    return procs, stop


def int8_model(fp32: Path, imgsz: int) -> Path:
    """The cached INT8 copy of ``fp32`` (calibrated once on vtest frames 400.. every 7th)."""
    from ..detection.quantize import quantize_yolo

    out = fp32.with_name(fp32.stem + "_int8.onnx")
    if not out.is_file():
        print(f"quantising {fp32.name} -> {out.name} (calibration: 48 vtest frames)", flush=True)
        quantize_yolo(fp32, out, read_frames(VTEST, 400, 48, step=7))
    return out


def build(name: str, fp32: Path, imgsz: int, threads: int):
    if name.startswith("ul-"):
        return UltralyticsVariant(fp32, imgsz, track=name == "ul-track")
    model = int8_model(fp32, imgsz) if name.endswith("int8") else fp32
    runtime = "openvino" if name.startswith("ov") else "onnxruntime"
    return RuntimeVariant(model, runtime, threads, spin=name == "ort-spin")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--video", type=Path, default=VTEST)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads of ours (0: one per core)")
    ap.add_argument("--load", type=int, default=0, help="busy ReID-network processes during the timing")
    ap.add_argument("--load-spin", action="store_true", help="the load's ONNX Runtime threads spin (its default)")
    args = ap.parse_args(argv)

    from ..detection.default_weights import default_detector_model

    fp32 = default_detector_model(args.imgsz)
    frames = read_frames(args.video, 0, args.frames)
    if not frames:
        raise SystemExit(f"no frames read from {args.video}")
    variants = {name: build(name, fp32, args.imgsz, args.threads) for name in args.variants}
    if "ul-predict" not in variants:
        variants = {"ul-predict": build("ul-predict", fp32, args.imgsz, args.threads), **variants}
    for v in variants.values():  # warm-up: first calls allocate
        for img in frames[:3]:
            v(img)
    procs, stop = start_load(args.load, args.load_spin) if args.load else ([], None)
    time.sleep(3.0 if args.load else 0.0)  # the load's sessions are up
    times = {n: [] for n in variants}
    boxes = {n: [] for n in variants}
    try:
        for img in frames:
            for name, v in variants.items():
                t = time.perf_counter()
                b = v(img)
                times[name].append(time.perf_counter() - t)
                boxes[name].append(b)
    finally:
        if stop is not None:
            stop.set()
            for p in procs:
                p.join(10)
    import ultralytics

    assets = Path(ultralytics.__file__).parent / "assets"
    stills = [cv2.cvtColor(cv2.imread(str(assets / f)), cv2.COLOR_BGR2RGB) for f in ("bus.jpg", "zidane.jpg")]
    still_boxes = {n: [v(img) for img in stills] for n, v in variants.items()}
    ref = boxes["ul-predict"] + still_boxes["ul-predict"]
    base = float(np.median(times["ul-predict"])) * 1e3
    rows = {}
    print(f"{len(frames)} frames of {args.video.name}, imgsz {args.imgsz}, {os.cpu_count()} CPUs, "
          f"load {args.load}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':12s} {'p50 ms':>8s} {'fps':>7s} {'vs ul-predict':>13s} {'recall':>7s} {'rec>=.35':>8s} "
          f"{'precision':>9s} {'IoU':>6s}")
    for name in variants:
        ms = float(np.median(times[name])) * 1e3
        got = boxes[name] + still_boxes[name]
        # recall over all reference boxes, and over the confident ones (score >= conf + 0.1), where a
        # box that merely crossed the 0.25 threshold the other way cannot count as a miss
        n_got = sum(len(g[0]) for g in got)
        counts = {"all": [0, 0], "confident": [0, 0]}
        ious = []
        for (rb, rs), (gb, _) in zip(ref, got):
            m, i = match(np.asarray(rb), np.asarray(gb))
            counts["all"][0] += m
            counts["all"][1] += len(rb)
            ious += i
            strong = np.asarray(rb)[np.asarray(rs) >= CONFIDENT]
            counts["confident"][0] += match(strong, np.asarray(gb))[0]
            counts["confident"][1] += len(strong)
        matched = counts["all"][0]
        rows[name] = {"ms_p50": round(ms, 2), "fps": round(1e3 / ms, 1), "speedup": round(base / ms, 2),
                      "recall": round(matched / max(counts["all"][1], 1), 4),
                      "recall_confident": round(counts["confident"][0] / max(counts["confident"][1], 1), 4),
                      "precision": round(matched / max(n_got, 1), 4),
                      "mean_iou": round(float(np.mean(ious)) if ious else 0.0, 4), "boxes": n_got}
        r = rows[name]
        print(f"{name:12s} {r['ms_p50']:8.1f} {r['fps']:7.1f} {r['speedup']:12.2f}x {r['recall']:7.3f} "
              f"{r['recall_confident']:8.3f} "
              f"{r['precision']:9.3f} {r['mean_iou']:6.3f}")
    print(json.dumps({"video": str(args.video), "imgsz": args.imgsz, "frames": len(frames), "load": args.load,
                      "threads": args.threads, "cpus": os.cpu_count(), "python": platform.python_version(),
                      "reference": "ul-predict", "variants": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
