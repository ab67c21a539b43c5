"""Camera-motion compensation in the node graph: N lockstep runs in a row, each with a fresh graph.

``python -m reid_tracker_ros.tools.cmc_lockstep [--runs 20] [--cmc sparse_flow] [--seq FOLDER]``

Why: with CMC on, the tracker is a third subscriber of the image topic, and a frame lost at
start-up (the first frame's image reaching the tracker but not yet the embedder) or an image
missing for CMC would make lockstep results depend on timing. Lockstep must be exact: this
plays the same sequence ``--runs`` times through freshly started graphs with the tracker's
preset forced to ``--cmc`` and checks that no run loses a frame and that every run gives the
same HOTA. Then one run with CMC off on the same frames, for the on/off comparison.

Data: a generated sequence (``mot.synthetic``, seed 777, camera jitter ``--jitter`` px, 960x540,
30 fps) unless ``--seq`` names a MOTChallenge folder. Exit status 1 when a frame was lost or the
runs disagree. Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import yaml

from ..mot.synthetic import generate_sequence
from ..tracking import CMC_METHODS
from ..tracking.config import PRESET_DIR_ENV, load_preset


def preset_override(folder: Path, tracker: str, cmc: str) -> Path:
    """``folder/<tracker>.yaml``: the tracker's preset with ``cmc`` replaced; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    preset = dict(load_preset(tracker), strategy=tracker, cmc=cmc)
    (folder / f"{tracker}.yaml").write_text(yaml.safe_dump(preset, sort_keys=False), encoding="utf-8")
    return folder


def evaluate_once(seq: Path, out: Path, tracker: str, frames: int, presets: Path) -> dict:
    """One lockstep evaluation through a freshly started graph whose nodes read ``presets``."""
    from . import evaluate

    os.environ[PRESET_DIR_ENV] = str(presets)  # the node processes inherit it
    args = evaluate.parse_args(["--seq", str(seq), "--tracker", tracker, "--out", str(out),
                                "--max-frames", str(frames), "--frame-timeout", "10", "--no-progress"])
    return evaluate.run(args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cmc", choices=[m for m in CMC_METHODS if m != "none"], default="sparse_flow")
    ap.add_argument("--tracker", default="botsort")
    ap.add_argument("--seq", type=Path, help="MOTChallenge folder (default: a generated moving-camera sequence)")
    ap.add_argument("--frames", type=int, default=60, help="frames per run")
    ap.add_argument("--jitter", type=float, default=8.0, help="generated sequence: camera shake std, pixels")
    ap.add_argument("--out", type=Path, default=Path("runs/cmc_lockstep"))
    args = ap.parse_args(argv)
    if args.runs < 1 or args.frames < 2:
        ap.error("--runs must be >= 1 and --frames >= 2")
    args.out.mkdir(parents=True, exist_ok=True)
    seq = args.seq or generate_sequence(args.out / "sequences", name=f"SYNTH-CMC-j{args.jitter:g}-{args.frames}f",
                                        frames=args.frames, seed=777, camera_jitter=args.jitter)
    with tempfile.TemporaryDirectory(prefix="cmc_presets_") as tmp:
        on_dir = preset_override(Path(tmp) / "on", args.tracker, args.cmc)
        off_dir = preset_override(Path(tmp) / "off", args.tracker, "none")
        runs = []
        for k in range(args.runs):
            s = evaluate_once(seq, args.out / f"on_{k:02d}", args.tracker, args.frames, on_dir)
            runs.append(s)
            print(f"run {k + 1}/{args.runs} cmc={args.cmc}: lost {s['frames_dropped']} "
                  f"{s['dropped_frame_indices']} late {s['late']} HOTA {s['HOTA']:.3f} fps {s['fps']:.1f}", flush=True)
        off = evaluate_once(seq, args.out / "off", args.tracker, args.frames, off_dir)
    lost = sum(s["frames_dropped"] for s in runs)
    hotas = sorted({round(s["HOTA"], 6) for s in runs if s["HOTA"] is not None})
    summary = {"sequence": Path(seq).name, "tracker": args.tracker, "cmc": args.cmc, "runs": len(runs),
               "frames_per_run": runs[0]["frames"], "runs_with_lost_frames": sum(s["frames_dropped"] > 0 for s in runs),
               "frames_lost": lost, "distinct_HOTA": hotas,
               "cmc_on": {k: runs[0].get(k) for k in ("HOTA", "IDF1", "MOTA", "IDSW")},
               "cmc_off": {k: off.get(k) for k in ("HOTA", "IDF1", "MOTA", "IDSW")}}
    ok = lost == 0 and len(hotas) == 1
    print(("ok: " if ok else "FAILED: ") + f"{summary['runs_with_lost_frames']} of {len(runs)} runs lost frames, "
          f"{len(hotas)} distinct HOTA value(s)", flush=True)
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
