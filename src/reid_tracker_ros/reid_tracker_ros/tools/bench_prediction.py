"""What PREDICTED tracks are worth when the detector answers one camera frame in K (no ROS).

A MOT folder's public detections through a tracker core, offline, in four ways: every frame
detected (the lockstep reference); one frame in K detected and the frames between answered by
:func:`~reid_tracker_ros.tracking.predicted_snapshot` extrapolated by (j / K) tracker steps
(what the live tracker node publishes), by the boxes held at the last update (0 steps), or not
answered at all. Scored with TrackEval by the offline loop's reporting rule. Separates what a
slow detector costs (coverage) from what the prediction gives back, without the live graph's
timing. Last line: one JSON object.

    python -m reid_tracker_ros.tools.bench_prediction --seq <MOT folder> [--every 2 3 4] [--tracker botsort]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..mot.offline import RunResult, load_sequence, reported_rows, score
from ..tracking import build_tracker, predicted_snapshot

MODES = ("all", "extrapolate", "hold", "none")


def run(seq, tracker: str, every: int, mode: str, out: Path) -> dict:
    """HOTA/DetA/AssA/IDSW of one way of answering the frames the detector skipped."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    tr = build_tracker({"strategy": tracker, "cmc": "none"})  # no images: detections only
    rows = []
    for f in range(len(seq)):
        if mode == "all" or f % every == 0:
            snap = tr.update(seq.detections(f))
        elif mode == "none":
            continue
        else:
            snap = predicted_snapshot(tr, (f % every) / every if mode == "extrapolate" else 0.0)
        rows.append(reported_rows(f + 1, snap))
    m = score(RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), np.zeros(1)), seq,
              out / f"{tracker}_{mode}_every{every}.txt")
    return {k: round(float(m[k]), 2) for k in ("HOTA", "DetA", "AssA", "IDSW")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq", required=True, type=Path, help="MOTChallenge folder with det/det.txt and gt/gt.txt")
    ap.add_argument("--every", type=int, nargs="+", default=[2, 3, 4], help="the detector answers one frame in K")
    ap.add_argument("--tracker", default="botsort")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_prediction"))
    args = ap.parse_args(argv)
    if any(k < 1 for k in args.every):
        raise SystemExit(f"bench_prediction: --every must be >= 1, got {args.every}")
    seq = load_sequence(args.seq)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"sequence": seq.name, "tracker": args.tracker,
               "all": run(seq, args.tracker, 1, "all", args.out)}
    print(f"every frame detected: {summary['all']}", flush=True)
    for k in args.every:
        summary[f"every_{k}"] = {mode: run(seq, args.tracker, k, mode, args.out) for mode in MODES[1:]}
        print(f"one frame in {k} detected: {summary[f'every_{k}']}", flush=True)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
