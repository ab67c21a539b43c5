"""What PREDICTED tracks are worth when the detector answers one camera frame in K (no ROS).

A MOT folder's public detections through a tracker core, offline, in four ways: every frame
detected (the lockstep reference); one frame in K detected, each update K Kalman steps after
the last (one per camera frame, as the live tracker node does), and the frames between answered
by :func:`~reid_tracker_ros.tracking.predicted_snapshot` extrapolated by the camera frames since
the last update (what the node publishes), by the boxes held at the last update, or not answered
at all. ``--latency L``: a frame's detections reach the tracker L camera frames after the frame
(the live graph's detector + embedder time), so the frames up to then are answered from the
state before them; as in the live evaluator, a detected frame is scored with its DETECTED
answer (which came late) and the others with their PREDICTED one. Scored with TrackEval by the offline loop's reporting rule. Separates what a
slow detector costs from what the prediction gives back, without the live graph's timing. Last
line: one JSON object.

    python -m reid_tracker_ros.tools.bench_prediction --seq <MOT folder> [--every 2 3 4] [--latency 0 5] [--tracker botsort]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..mot.offline import RunResult, load_sequence, reported_rows, score
from ..tracking import build_tracker, predicted_snapshot

MODES = ("all", "extrapolate", "hold", "none")


def run(seq, tracker: str, every: int, mode: str, out: Path, latency: int = 0) -> dict:
    """HOTA/DetA/AssA/IDSW of one way of answering the frames without (arrived) detections."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if every < 1 or latency < 0:
        raise ValueError(f"every must be >= 1 and latency >= 0, got {every}, {latency}")
    tr = build_tracker({"strategy": tracker, "cmc": "none"})  # no images: detections only
    detected = list(range(0, len(seq), 1 if mode == "all" else every))
    lag = 0 if mode == "all" else latency
    rows: dict[int, np.ndarray] = {}  # frame -> its answer: DETECTED where it came, else PREDICTED
    applied, last = 0, None
    for f in range(len(seq)):
        while applied < len(detected) and detected[applied] + lag <= f:  # detections that arrived by f
            d = detected[applied]
            rows[d] = reported_rows(d + 1, tr.update(seq.detections(d), steps=1 if last is None else d - last))
            applied, last = applied + 1, d
        if last is None or f in rows or mode == "none":
            continue
        snap = predicted_snapshot(tr, float(f - last) if mode == "extrapolate" else 0.0)
        rows[f] = reported_rows(f + 1, snap)
    rows_list = [rows[f] for f in sorted(rows)]
    m = score(RunResult(np.concatenate(rows_list) if rows_list else np.zeros((0, 7)), np.zeros(1)), seq,
              out / f"{tracker}_{mode}_every{every}_lag{lag}.txt")
    return {k: round(float(m[k]), 2) for k in ("HOTA", "DetA", "AssA", "IDSW")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq", required=True, type=Path, help="MOTChallenge folder with det/det.txt and gt/gt.txt")
    ap.add_argument("--every", type=int, nargs="+", default=[2, 3, 4], help="the detector answers one frame in K")
    ap.add_argument("--latency", type=int, nargs="+", default=[0],
                    help="camera frames from a detected frame to its update (detector + embedder time)")
    ap.add_argument("--tracker", default="botsort")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_prediction"))
    args = ap.parse_args(argv)
    if any(k < 1 for k in args.every) or any(lag < 0 for lag in args.latency):
        raise SystemExit(f"bench_prediction: --every must be >= 1 and --latency >= 0, got {args.every}, {args.latency}")
    seq = load_sequence(args.seq)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"sequence": seq.name, "tracker": args.tracker,
               "all": run(seq, args.tracker, 1, "all", args.out)}
    print(f"every frame detected: {summary['all']}", flush=True)
    for k in args.every:
        for lag in args.latency:
            key = f"every_{k}" + (f"_latency_{lag}" if lag else "")
            summary[key] = {mode: run(seq, args.tracker, k, mode, args.out, lag) for mode in MODES[1:]}
            print(f"one frame in {k} detected, {lag} frames late: {summary[key]}", flush=True)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
