"""Choose a tracker setting by its worst family: every combination of a grid of config values
through one of our trackers on the validation suite's dev split (or your folders), scored per
family, ranked by the lowest family mean HOTA.

``make tune-tracker TRACKER=botsort GRID="proximity_iou_distance=0.35,0.4,0.5"`` runs this. The
preset itself is always the first row ("preset"), so a change is judged against what ships; with
``--motion-only`` the preset without appearance features is a row too (for "appearance never
hurts"). The dev split is the default because defaults are chosen there and reported on the test
split (docs/validation.md): tune on dev, then run ``make bench-tracker`` once to report.

Keys and values are checked by the tracker's own configuration (an unknown key or a value out of
its range stops the run before anything is computed). Embeddings are those of
``make bench-tracker``, cached per sequence and model. The last line printed is one JSON object:
``{"tracker", "split", "rows": [{"name", "overrides", "worst": {"HOTA", "IDF1"}, "families":
{family: {"HOTA", "IDF1"}}, "sequences": {sequence: {"HOTA", "IDF1", "MOTA", "IDSW"}}}, ...]}``,
rows best worst-family HOTA first.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..mot.families import ensure_split
from ..mot.offline import score
from ..tracking import build_tracker, strategy_names
from .bench_tracker import family_summary, load_with_features, run_ours
from .cli import key_value, run_guarded


MOTION_ONLY_ROW = "preset, motion only"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tune_tracker", description=__doc__.split("\n\n")[0])
    p.add_argument("--tracker", required=True, choices=strategy_names())
    p.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2,...",
                   help="config values to try; several keys give every combination")
    p.add_argument("--seq", nargs="*", default=[], type=Path, help="MOT folders (default: the suite's split)")
    p.add_argument("--split", choices=("dev", "test"), default="dev", help="suite split without --seq")
    p.add_argument("--motion-only", action="store_true", help="add the preset without appearance features")
    p.add_argument("--embedder", default="default", help="embedder model ('default', a path, or 'none')")
    p.add_argument("--out", type=Path, default=Path("runs/tune_tracker"))
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (suite generation, embedding, runs)")
    return p.parse_args(argv)


def grid_rows(tracker: str, grid: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """``[(name, overrides)]``: the preset, then every combination of the grid's values, each
    validated by building the tracker (a bad key or value raises ValueError naming it)."""
    axes = []
    for text in grid:
        key, _ = key_value(text, "--grid")
        parts = text.partition("=")[2].split(",")
        axes.append([key_value(f"{key}={v}", "--grid") for v in parts])
    rows: list[tuple[str, dict[str, Any]]] = [("preset", {})]
    for combo in itertools.product(*axes) if axes else []:
        overrides = dict(combo)
        build_tracker({"strategy": tracker, **overrides})
        rows.append((",".join(f"{k}={v}" for k, v in combo), overrides))
    return rows


def run(args: argparse.Namespace) -> dict:
    rows = grid_rows(args.tracker, args.grid)
    progress = not args.no_progress
    folders = [p.resolve() for p in args.seq] or ensure_split(args.out / "validation", args.split,
                                                              progress=progress)
    missing = [str(p) for p in folders if not (p / "det" / "det.txt").is_file()]
    if missing:
        raise FileNotFoundError(f"no det/det.txt in {', '.join(missing)}")
    data = [load_with_features(p, args.embedder, args.out / "features", progress=progress) for p in folders]
    by_name = {d.name: p for d, p in zip(data, folders)}
    if args.motion_only:
        rows.insert(1, (MOTION_ONLY_ROW, {}))
    from tqdm import tqdm

    out_rows = []
    bar = tqdm(total=len(rows) * len(data), unit="run", disable=not progress, file=sys.stderr)
    for name, overrides in rows:
        slug = "".join(c if c.isalnum() or c in "=.-" else "_" for c in name)
        per_seq = {}
        for d in data:
            if name == MOTION_ONLY_ROW:
                d = dataclasses.replace(d, embeddings=None)
            result = run_ours(args.tracker, d, cmc=True, overrides=overrides)
            m = score(result, d, args.out / "results" / slug / f"{d.name}.txt")
            per_seq[d.name] = {k: round(float(m[k]), 2) for k in ("HOTA", "IDF1", "MOTA")} | {"IDSW": int(m["IDSW"])}
            bar.update()
        # bench_tracker's per-family means (one "tracker" per row, side "ours")
        fams = family_summary({seq: {name: {"ours": m}} for seq, m in per_seq.items()}, by_name)[name]["ours"]
        worst = fams.pop("worst")
        out_rows.append({"name": name, "overrides": overrides, "worst": worst, "families": dict(sorted(fams.items())),
                         "sequences": per_seq})
    bar.close()
    out_rows.sort(key=lambda r: (-r["worst"]["HOTA"], -np.mean([f["HOTA"] for f in r["families"].values()])))
    return {"tracker": args.tracker, "split": "seq" if args.seq else args.split, "rows": out_rows}


def format_rows(summary: dict) -> str:
    fams = list(summary["rows"][0]["families"]) if summary["rows"] else []
    name_w = max([len(r["name"]) for r in summary["rows"]] + [8])
    head = f"{'setting':{name_w}s}  {'worst':>11s}  {'mean':>5s}  " + "  ".join(f"{f[:12]:>12s}" for f in fams)
    lines = [f"{summary['tracker']} on {summary['split']}: mean HOTA / IDF1 per family, best worst family first",
             head, "-" * len(head)]
    for r in summary["rows"]:
        mean = np.mean([r["families"][f]["HOTA"] for f in fams])
        cells = "  ".join(f"{r['families'][f]['HOTA']:5.1f}/{r['families'][f]['IDF1']:5.1f}" for f in fams)
        lines.append(f"{r['name']:{name_w}s}  {r['worst']['HOTA']:5.1f}/{r['worst']['IDF1']:5.1f}  {mean:5.1f}  {cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code, summary = run_guarded("tune_tracker", run, args)
    if summary is None:
        return code
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tune.json").write_text(json.dumps(summary, indent=2))
    print(format_rows(summary))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
