"""MOT evaluation through the running node graph: ``make eval SEQ=<folder>``.

    MOTChallenge folder --(mot_to_bag)--> rosbag2 --(replay node)--> detector -> embedder -> tracker
         --> tracks --> MOTChallenge results --> TrackEval (HOTA, CLEAR, Identity)

Prints a table and, as its last line, one JSON object with at least HOTA, MOTA, IDF1, IDSW
(TrackEval's numbers, percentages as TrackEval prints them), frames, frames_dropped and fps;
writes the same JSON, the results file and node logs under ``--out``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
from pathlib import Path

import numpy as np

from ..graph import DETECTOR_ALIASES, environment, evaluation_pipeline, image_subscriber_count, pipeline
from ..topics import DEFAULT_IMAGE_TOPIC
from ..mot.io import infer_seqinfo, read_seqinfo, write_results
from .cli import run_guarded

METRIC_KEYS = ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "IDP", "IDR", "IDSW", "FP", "FN", "Frag", "MT",
               "ML")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seq", required=True, help="MOTChallenge sequence folder (seqinfo.ini, img1/, det/, gt/)")
    p.add_argument("--tracker", default=None, help="tracker strategy (default: config value)")
    p.add_argument("--detector", default="public", choices=sorted(DETECTOR_ALIASES),
                   help="public: the sequence's det/det.txt (MOT public-detection protocol); yolo: run YOLO")
    p.add_argument("--embedder-model", default=None, help="ReID model override ('none' = motion only)")
    p.add_argument("--config", action="append", default=[], help="extra parameter YAML (after mot_eval.yaml)")
    p.add_argument("--mode", choices=("lockstep", "realtime", "live"), default="lockstep",
                   help="lockstep: the next frame once the previous one's tracks came (exact); realtime: at the "
                        "frame rate through the evaluation graph (reliable, deep queues: frames wait); live: at "
                        "the frame rate through the live camera graph (config/default.yaml only: the detector "
                        "takes the newest frame, the tracker answers the others with PREDICTED tracks)")
    p.add_argument("--rate", type=float, default=1.0, help="realtime mode: playback speed x frame rate")
    p.add_argument("--frame-timeout", type=float, default=10.0, help="lockstep: seconds to wait for a frame")
    p.add_argument("--startup-timeout", type=float, default=240.0,
                   help="seconds for the graph to come up (the first YOLO ONNX export takes a while)")
    p.add_argument("--max-frames", type=int, default=None, help="evaluate only the first N frames")
    p.add_argument("--frame-rate", type=float, default=30.0,
                   help="frame rate for folders without seqinfo.ini (2DMOT2015 style), whose size and "
                        "length are then read from img1/")
    p.add_argument("--out", default=None, help="output folder (default runs/eval/<sequence>)")
    p.add_argument("--raw-bag", action="store_true",
                   help="store raw rgb8 images in the bag (default: the JPEGs as CompressedImage, "
                        "decoded by the replay node; raw bags are ~6 MB per 1080p frame)")
    p.add_argument("--external-graph", action="store_true",
                   help="do not start the nodes (a launch file already did)")
    p.add_argument("--image-subscribers", type=int, default=None,
                   help="with --external-graph: how many nodes of the launched graph subscribe to the images "
                        "(graph.image_subscriber_count; the first frame waits for all of them); default 1")
    p.add_argument("--no-progress", action="store_true")
    from rclpy.utilities import remove_ros_args  # a launch file appends --ros-args ...

    return p.parse_args(remove_ros_args(list(sys.argv[1:] if argv is None else argv)))


def _ensure_domain() -> None:
    """Keep evaluation traffic to itself: a random domain id unless the user set one."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(110, 199)))


def replay_frames(bag_path: Path, max_frames: int | None):
    """Yield ReplayFrame objects from the bag, re-serialised by rclpy.

    CompressedImage frames are decoded once here into a raw sensor_msgs/Image, as a camera
    driver would publish them. Messages are published as rclpy message objects, not as the
    bag's raw CDR bytes: raw publishing of images (``publish_raw``) was seen here to deliver
    a few corrupt samples ("sequence size exceeds remaining buffer" at the receivers).
    """
    from rclpy.serialization import deserialize_message
    from reid_msgs.msg import DetectionArray
    from sensor_msgs.msg import Image

    from ..mot.bag_reader import BagFrames, image_to_numpy
    from .replay import ReplayFrame
    from ..ros.conversions import fill_image_msg

    for k, rec in enumerate(BagFrames(bag_path)):
        if max_frames is not None and k >= max_frames:
            return
        if rec.image_msgtype.endswith("CompressedImage"):
            msg = Image()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(rec.stamp_ns, 1_000_000_000)
            msg.header.frame_id = rec.image_msg.header.frame_id
            fill_image_msg(msg, image_to_numpy(rec.image_msg))
        else:
            msg = deserialize_message(rec.image_raw, Image)
        dets = None
        if rec.detections_raw is not None:
            dets = deserialize_message(rec.detections_raw, DetectionArray)
        yield ReplayFrame(rec.index, rec.stamp_ns, msg, dets)


def tracks_to_rows(tracks: dict) -> np.ndarray:
    """MOTChallenge result rows of every frame's TrackArray (frame index -> message), by the
    offline loop's reporting rule (:func:`~reid_tracker_ros.mot.offline.reported_mask`: confirmed
    tracks matched in their frame; a PREDICTED message carries the counters of the tracker's last
    update, so it reports the tracks that update matched, at their extrapolated boxes)."""
    from ..mot.offline import reported_mask

    rows = []
    for frame, msg in tracks.items():
        if not msg.tracks:
            continue
        arr = np.array([(t.state, t.frames_since_update, frame, t.track_id, t.x, t.y, t.width, t.height, t.score)
                        for t in msg.tracks], dtype=np.float64)
        rows.append(arr[reported_mask(arr[:, 0], arr[:, 1]), 2:])
    return np.concatenate(rows) if rows else np.zeros((0, 7))


def format_table(summary: dict) -> str:
    lines = [f"sequence {summary['sequence']}  tracker {summary['tracker']}  detector {summary['detector']}  "
             f"mode {summary['mode']}"]
    keys = [k for k in METRIC_KEYS if summary.get(k) is not None]
    if keys:
        lines.append("  ".join(f"{k:>7}" for k in keys))
        lines.append("  ".join(f"{summary[k]:>7.2f}" if isinstance(summary[k], float) else f"{summary[k]:>7}"
                               for k in keys))
    else:
        lines.append(f"no metrics: {summary.get('metrics_note', 'no ground truth')}")
    fps = summary.get("fps")
    lines.append(f"frames {summary['frames']}  dropped {summary['frames_dropped']}  late {summary['late']}  "
                 f"fps {fps:.1f}" if fps else f"frames {summary['frames']}  dropped {summary['frames_dropped']}")
    for stage, lat in summary["latency_ms"].items():
        if lat.get("p50") is not None:
            proc = lat.get("processing_p50")
            lines.append(f"  {stage:<11} latency p50 {lat['p50']:7.2f} ms  p95 {lat['p95']:7.2f} ms"
                         + (f"  (node work p50 {proc:.2f} ms)" if proc is not None else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    seq_dir = Path(args.seq).resolve()
    if not (seq_dir / "seqinfo.ini").exists() and (seq_dir / "img1").is_dir():
        info = infer_seqinfo(seq_dir, frame_rate=args.frame_rate)  # 2DMOT2015 folders have none
        print(f"note: {seq_dir} has no seqinfo.ini; using {info.im_width}x{info.im_height}, "
              f"{info.seq_length} frames from img1/ at {info.frame_rate:g} frames/s (--frame-rate)", flush=True)
    else:
        info = read_seqinfo(seq_dir)  # a broken or missing seqinfo.ini stops here with a clear message
    out = Path(args.out or Path("runs") / "eval" / info.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    detector = DETECTOR_ALIASES[args.detector]
    profile = "local"
    if not args.external_graph:  # with a launched graph, keep the domain and profile launch gave us
        os.environ.update(environment(profile))
        _ensure_domain()

    from ..mot.bag_writer import convert_sequence

    bag_path = out / "bag"
    if bag_path.exists():
        shutil.rmtree(bag_path)
    print(f"converting {seq_dir} -> {bag_path}", flush=True)
    summary_conv = convert_sequence(seq_dir, bag_path, compressed=not args.raw_bag,
                                    with_public_detections=detector == "public", progress=not args.no_progress,
                                    max_frames=args.max_frames, seqinfo=info)
    for w in summary_conv.warnings:
        print(f"warning: {w}", flush=True)

    import rclpy
    from sensor_msgs.msg import Image

    from .replay import ReplayNode
    from ..ros.conversions import fill_image_msg
    from ..runner import GraphRunner

    if args.mode == "live":  # the camera graph's own settings, no evaluation overrides
        specs = pipeline(args.config, image_topic=DEFAULT_IMAGE_TOPIC, detector_backend=detector,
                         tracker=args.tracker, embedder_model=args.embedder_model)
    else:
        specs = evaluation_pipeline(detector_backend=detector, tracker=args.tracker, extra_config=args.config,
                                    image_topic=DEFAULT_IMAGE_TOPIC, embedder_model=args.embedder_model)
    tracker_name = args.tracker or _config_value(specs, "tracker", "tracker")
    runner = None if args.external_graph else GraphRunner(specs, out / "logs", profile=profile).start()
    alive = runner.check_alive if runner else (lambda: None)
    rclpy.init(args=[])
    node = ReplayNode(DEFAULT_IMAGE_TOPIC, public_detections=detector == "public")
    try:
        blank = Image()
        fill_image_msg(blank, np.zeros((info.im_height, info.im_width, 3), np.uint8))
        print(f"waiting for the graph (logs: {out / 'logs'})", flush=True)
        # a launched graph says how many image subscribers it has (mot_eval.launch.py does); fewer
        # than all of them and the first frame can reach the tracker but not the embedder
        if args.external_graph:
            expected = args.image_subscribers or 1
        else:
            expected = image_subscriber_count(specs)
        node.wait_for_graph(args.startup_timeout, alive, blank_image=blank, image_subscribers=expected)
        frames = replay_frames(bag_path, args.max_frames)
        total = summary_conv.frames
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=f"{args.mode} {info.name}", unit="frame")
        tick = (lambda _i: bar.update(1)) if bar else None
        if args.mode == "lockstep":
            result = node.run_lockstep(frames, args.frame_timeout, alive, tick)
        else:
            result = node.run_realtime(frames, info.frame_rate * args.rate, max(10.0, args.frame_timeout), alive,
                                       tick)
        if bar:
            bar.close()
    finally:
        node.destroy_node()
        rclpy.shutdown()
        if runner:
            runner.stop()

    results_file = out / f"{info.name}.txt"
    write_results(results_file, tracks_to_rows(result.tracks))
    from reid_msgs.msg import TrackArray

    predicted = sum(m.kind == TrackArray.PREDICTED for m in result.tracks.values())
    first_predicted = sum(m.kind == TrackArray.PREDICTED for m in result.first.values())
    from ..mot.timing import throughput_fps

    fps = throughput_fps(result.clock.times["published"], result.clock.times["tracks"])
    summary: dict = {"sequence": info.name, "tracker": tracker_name, "detector": args.detector,
                     "mode": args.mode, "frames": summary_conv.frames, "frames_dropped": len(result.dropped),
                     "dropped_frame_indices": sorted(result.dropped),
                     "late": result.late, "blank_frames": len(summary_conv.blank_frames),
                     # live graphs: frames scored on predicted tracks (the detector skipped them), and
                     # frames whose first answer was a prediction (their detections came later)
                     "frames_predicted": predicted, "frames_first_predicted": first_predicted,
                     "fps": fps, "wall_s": result.wall_s, "latency_ms": result.clock.latency_ms(),
                     "results": str(results_file)}
    gt_file = seq_dir / "gt" / "gt.txt"
    if gt_file.is_file():
        from ..mot.metrics import evaluate_mot

        metrics = evaluate_mot(seq_dir, results_file, seqinfo=dataclasses.replace(info, seq_length=summary_conv.frames))
        summary.update({k: metrics.get(k) for k in METRIC_KEYS})
        if first_predicted > predicted:  # also score what a consumer had first for each frame
            first_file = out / f"{info.name}.first_answers.txt"
            write_results(first_file, tracks_to_rows(result.first))
            first = evaluate_mot(seq_dir, first_file,
                                 seqinfo=dataclasses.replace(info, seq_length=summary_conv.frames))
            summary["HOTA_first_answer"] = first.get("HOTA")
    else:
        summary.update({k: None for k in METRIC_KEYS})
        summary["metrics_note"] = f"no ground truth ({gt_file} missing): tracking ran, metrics skipped"
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def _config_value(specs, node: str, key: str):
    from ..config import load_node_parameters

    spec = next(s for s in specs if s.name == node)
    return load_node_parameters(node, list(spec.param_files), spec.overrides).get(key)


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C / SIGTERM (launch shutting down): stop the graph and say so, without a traceback
    code, summary = run_guarded("evaluate", run, parse_args(argv))
    if code:
        return code
    print(format_table(summary))
    print(json.dumps({k: v for k, v in summary.items() if k != "latency_ms"}
                     | {"latency_ms": {s: v.get("p50") for s, v in summary["latency_ms"].items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
