"""``make bench-live``: the camera graph against Ultralytics' own tracking loop, in one run.

1. Lockstep, for speed: the first ``--frames`` frames of the video through source -> detector ->
   embedder (ReID on) -> tracker (the visualizer is left out: Ultralytics' loop draws nothing);
   ``ours_fps`` = frames that went through detector, embedder and tracker (features and a
   DETECTED TrackArray came back; never a PREDICTED one), per second of the run.
2. Ultralytics in this process on the same frames, weights (the default yolo11n-pose ONNX for
   ``--imgsz``) and size: ``cap.read()`` then ``model.track(frame, imgsz, classes=[0],
   tracker="botsort.yaml", persist=True)`` (sparse-flow GMC, no ReID), as a user would write it.
3. Realtime: the same frames at the video's own rate through a freshly started live graph
   (best-effort images, the detector keeps only the newest; the tracker answers the frames it
   skips with PREDICTED tracks): how many frames get tracks (detected or predicted), how many
   were detected, and the latency from the camera stamp to each frame's first tracks (p50/p95).
4. A generated sequence with ground truth (``mot.synthetic``, seed 777, 10 people, 30 fps)
   through the evaluator with the YOLO detector, lockstep and live (realtime at 30 Hz through
   the live camera graph: ``evaluate --mode live``): HOTA, frames with tracks, end-to-end
   latency to each frame's first tracks.

Needs ``lap`` for Ultralytics' tracker (``lapx`` in requirements-bench.txt; the Makefile runs
this in .venv-bench). Last line: one JSON object (the issue's keys, plus the machine's load).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import cv2
import numpy as np

from ..graph import LOCKSTEP_CONFIG, camera_pipeline, environment, image_subscriber_count
from ..topics import EMBEDDED_DETECTIONS, TRACKS

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def graph_config(path: Path, imgsz: int) -> Path:
    """The run's own overlay (after default.yaml, and lockstep.yaml in lockstep): imgsz only,
    so the realtime run keeps the live defaults."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"/**/detector:\n  ros__parameters:\n    imgsz: {int(imgsz)}\n")
    return path


def run_graph(video: Path, frames: int, imgsz: int, lockstep: bool, out: Path, startup_s: float = 300.0) -> dict:
    """Play ``frames`` frames of ``video`` through the camera graph; per-frame arrival times."""
    import rclpy
    from rclpy.node import Node
    from reid_msgs.msg import EmbeddedDetectionArray, TrackArray

    from ..ros.conversions import stamp_to_ns
    from ..ros.qos import data_qos
    from .graph_start import start_source_last

    mode = "lockstep" if lockstep else "realtime"
    cfg = graph_config(out / f"{mode}.yaml", imgsz)
    files = ["default.yaml", *([LOCKSTEP_CONFIG] if lockstep else []), str(cfg)]
    specs = [s for s in camera_pipeline(files, source=str(video), detector_backend="ultralytics",
                                        source_overrides={"playback": mode, "max_frames": frames,
                                                          "lockstep_timeout_s": 20.0})
             if s.name != "visualizer"]
    source = next(s for s in specs if s.name == "source")
    source.overrides["wait_for_subscribers"] = image_subscriber_count(specs)

    class Collector(Node):
        def __init__(self) -> None:
            super().__init__(f"bench_live_{mode}")
            self.tracks: dict[int, float] = {}  # stamp -> first answer (either kind)
            self.latency_ms: dict[int, float] = {}
            self.detected: dict[int, float] = {}  # stamp -> DETECTED answer
            self.detected_latency_ms: dict[int, float] = {}
            self.featured: set[int] = set()
            q = data_qos(100)
            self.inputs = [self.create_subscription(TrackArray, "/" + TRACKS, self.on_tracks, q),
                           self.create_subscription(EmbeddedDetectionArray, "/" + EMBEDDED_DETECTIONS,
                                                    self.on_embedded, q)]

        def on_embedded(self, msg) -> None:
            self.featured.add(stamp_to_ns(msg.header.stamp))

        def on_tracks(self, msg) -> None:
            stamp = stamp_to_ns(msg.header.stamp)
            # source stamps are the system clock at publication: latency from camera to tracks
            if stamp not in self.tracks:
                self.tracks[stamp] = time.monotonic()
                self.latency_ms[stamp] = (time.time() - stamp * 1e-9) * 1e3
            if msg.kind == TrackArray.DETECTED and stamp not in self.detected:
                self.detected[stamp] = time.monotonic()
                self.detected_latency_ms[stamp] = (time.time() - stamp * 1e-9) * 1e3

    rclpy.init(args=[])
    node = Collector()
    runners = []
    try:
        # the source starts last, once the collector hears the tracker and the embedder
        runners = start_source_last(specs, out / f"logs_{mode}", node, node.inputs, startup_s)
        # the source keeps running after its last frame: stop when nothing new comes (lockstep: a
        # frame may take up to its 20 s timeout; realtime: frames it never tracked do not come)
        idle = 30.0 if lockstep else 4.0
        last, seen, limit = time.monotonic(), 0, startup_s
        while len(node.tracks) < frames:
            for r in runners:
                r.check_alive()
            rclpy.spin_once(node, timeout_sec=0.05)
            if len(node.tracks) != seen:
                seen, last, limit = len(node.tracks), time.monotonic(), idle
            elif time.monotonic() - last > limit:
                if lockstep or not seen:
                    print(f"bench-live: nothing new for {limit:.0f} s ({seen} of {frames} frames tracked)", flush=True)
                break
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # stragglers
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        for r in reversed(runners):
            r.stop()
        rclpy.shutdown()
    times = sorted(node.tracks.values())
    # frames through detector, embedder and tracker: features and a DETECTED TrackArray came back
    full = sorted(t for s, t in node.detected.items() if s in node.featured)
    fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None
    fps_full = (len(full) - 1) / (full[-1] - full[0]) if len(full) > 1 else None

    def pct(values: dict, q: float) -> float | None:
        return float(np.percentile(list(values.values()), q)) if values else None

    return {"frames": frames, "frames_with_tracks": len(node.tracks), "frames_detected": len(node.detected),
            "frames_with_features": len(full), "fps": fps, "fps_featured": fps_full,
            "latency_ms_p50": pct(node.latency_ms, 50), "latency_ms_p95": pct(node.latency_ms, 95),
            "latency_detected_ms_p50": pct(node.detected_latency_ms, 50)}


def run_ultralytics(video: Path, frames: int, imgsz: int) -> dict:
    """Ultralytics' loop on the same frames: read, track; frames/s over the whole loop. It gets the
    ONNX file our detector runs (free input size), so both letterbox to the image's aspect."""
    from ..detection.default_weights import default_detector_model
    from ..detection.ultralytics_backend import configure_ultralytics_env

    configure_ultralytics_env()
    from ultralytics import YOLO

    onnx = str(default_detector_model(imgsz, dynamic=True))
    model = YOLO(onnx, task="pose")
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    model.track(frame, imgsz=imgsz, classes=[0], tracker="botsort.yaml", persist=True, verbose=False)  # warm-up
    model = YOLO(onnx, task="pose")  # fresh tracker state
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    n, t0, ids = 0, time.perf_counter(), set()
    while n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        r = model.track(frame, imgsz=imgsz, classes=[0], tracker="botsort.yaml", persist=True, verbose=False)[0]
        if r.boxes is not None and r.boxes.id is not None:
            ids.update(int(i) for i in r.boxes.id.tolist())
        n += 1
    dt = time.perf_counter() - t0
    cap.release()
    return {"frames": n, "fps": n / dt if dt > 0 else None, "tracks": len(ids)}


def run_synthetic(out: Path, frames: int, imgsz: int) -> dict:
    """Lockstep and live (30 Hz, the camera graph's settings) evaluation of a generated sequence
    with the YOLO detector."""
    from ..mot.synthetic import generate_sequence
    seq = out / "sequences" / f"SYNTH-LIVE-s777-{frames}f"
    if not (seq / "seqinfo.ini").is_file():
        generate_sequence(out / "sequences", name=seq.name, frames=frames, n_people=10, seed=777)
    cfg = out / "synthetic.yaml"
    cfg.write_text(f"/**/detector:\n  ros__parameters:\n    imgsz: {int(imgsz)}\n")
    result = {}
    for mode in ("lockstep", "live"):
        ev = _evaluate()
        args = ev.parse_args(["--seq", str(seq), "--detector", "yolo", "--mode", mode, "--config", str(cfg),
                              "--out", str(out / f"eval_{mode}"), "--no-progress"])
        result[mode] = ev.run(args)
    lock, real = result["lockstep"], result["live"]
    return {"HOTA_lockstep": lock["HOTA"], "HOTA_realtime": real["HOTA"], "frames": real["frames"],
            "frames_with_tracks": real["frames"] - real["frames_dropped"],
            "latency_ms_p50": (real["latency_ms"]["end_to_end"] or {}).get("p50"),
            # realtime details: frames scored on predictions (the detector skipped them), HOTA of
            # each frame's first answer, latency of the DETECTED answers
            "frames_predicted": real.get("frames_predicted"), "HOTA_realtime_first_answer": real.get(
                "HOTA_first_answer", real["HOTA"]),
            "latency_detected_ms_p50": (real["latency_ms"].get("end_to_end_detected") or {}).get("p50"),
            "lockstep_fps": lock["fps"], "lockstep_latency_ms_p50": (lock["latency_ms"]["end_to_end"] or {}).get("p50")}


def _evaluate():
    """The evaluator module (imported on use: it pulls in rclpy)."""
    from . import evaluate

    return evaluate


def _round(d):
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    return round(d, 2) if isinstance(d, float) else d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=VTEST)
    ap.add_argument("--imgsz", type=int, default=960)
    ap.add_argument("--frames", type=int, default=100, help="video frames (from the first)")
    ap.add_argument("--synthetic-frames", type=int, default=300, help="0: skip the generated sequence")
    ap.add_argument("--repeat", type=int, default=1, help="lockstep pairs, alternating order; medians")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_live"))
    args = ap.parse_args(argv)
    if not args.video.is_file():
        raise SystemExit(f"bench-live: no video at {args.video} (vtest.avi: apt-get install opencv-doc; or VIDEO=...)")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(environment("local"))
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(110, 199)))
    load0 = os.getloadavg()[0]
    print(f"bench-live: {args.video.name}, {args.frames} frames, imgsz {args.imgsz}; load average {load0:.1f}",
          flush=True)
    # ours and Ultralytics alternate (A B B A ...): load from other processes drifts over minutes
    # and would otherwise favour whichever ran in the quieter window; medians over the repeats
    ours_runs, ul_runs = [], []
    for k in range(args.repeat):
        for side in (("ours", "ul") if k % 2 == 0 else ("ul", "ours")):
            if side == "ours":
                ours_runs.append(run_graph(args.video, args.frames, args.imgsz, True, out))
                print(f"ours lockstep: {ours_runs[-1]}", flush=True)
            else:
                ul_runs.append(run_ultralytics(args.video, args.frames, args.imgsz))
                print(f"ultralytics track: {ul_runs[-1]}", flush=True)
    ours = dict(ours_runs[0], fps_featured=float(np.median([r["fps_featured"] or 0 for r in ours_runs])),
                frames_with_features=min(r["frames_with_features"] for r in ours_runs))
    ul = dict(ul_runs[0], fps=float(np.median([r["fps"] or 0 for r in ul_runs])))
    real = run_graph(args.video, args.frames, args.imgsz, False, out)
    print(f"ours realtime: {real}", flush=True)
    synth = run_synthetic(out, args.synthetic_frames, args.imgsz) if args.synthetic_frames else None
    if synth:
        print(f"synthetic: {synth}", flush=True)
    ours_fps = ours["fps_featured"]
    summary = {"video": str(args.video), "imgsz": args.imgsz, "frames": ours["frames_with_features"],
               "ours_fps": ours_fps, "ultralytics_fps": ul["fps"],
               "ratio": ours_fps / ul["fps"] if ours_fps and ul["fps"] else None,
               "realtime": {k: real[k] for k in ("frames", "frames_with_tracks", "latency_ms_p50", "latency_ms_p95",
                                                 "frames_detected", "latency_detected_ms_p50")},
               "synthetic": synth, "repeats": args.repeat, "load_average": [round(load0, 1), round(os.getloadavg()[0], 1)],
               "cpus": os.cpu_count()}
    print(json.dumps(_round(summary)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
