"""Head-to-head tracker benchmark: our SORT-family trackers against BoxMOT's same-named ones.

``make bench-tracker [SEQ="<MOT folder> ..."]`` runs this in ``.venv-bench`` (the project's
``.venv`` plus ``boxmot``; see scripts/setup_bench_env.sh). Every tracker gets the same
detections (the sequence's ``det/det.txt``) and the same appearance embeddings, computed once by
our default embedder (``resolve_embedder("default")``) and cached per sequence and model name,
so the comparison measures association and nothing else. BoxMOT gets the embeddings through
``boxmot.structures.Detections`` and therefore loads no ReID model.

Accuracy is TrackEval's (HOTA, MOTA, IDF1, IDSW through :mod:`reid_tracker_ros.mot.metrics`);
speed is the wall time of each tracker's per-frame update call (median and 95th percentile),
measured in the same process, one tracker after the other. Camera-motion compensation is off
for both sides by default (``--cmc on`` turns it on for both, with each side's own method).

The last line printed is one JSON object:
``{"<sequence>": {"<tracker>": {"ours": {"HOTA", "IDF1", "MOTA", "IDSW", "ms_p50"},
"boxmot": {...} | null}}}``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reid_tracker_ros.mot.io import snapshot_rows
from reid_tracker_ros.mot.offline import (OfflineSequence, RunResult, embed_sequence, frames_of, load_sequence,
                                          run_tracker, score)
from reid_tracker_ros.tracking import TRACKERS, build_tracker, preset_config, strategy_names

# BoxMOT 25.0.0 class of each tracker we have; SORT and DeepSORT are not in BoxMOT.
BOXMOT_CLASSES = {"strongsort": "StrongSort", "bytetrack": "ByteTrack", "ocsort": "OcSort",
                  "botsort": "BotSort", "deepocsort": "DeepOcSort"}
# Trackers that ignore embeddings: BoxMOT gets plain numpy rows (its fastest input path).
MOTION_ONLY = ("bytetrack", "ocsort")
SYNTHETIC = (("SYNTH-BENCH-s1", 1), ("SYNTH-BENCH-s2", 2))


# ------------------------------------------------------------------------------------ inputs
def synthetic_sequences(root: Path, frames: int) -> list[Path]:
    """The default benchmark sequences (generated once, then reused)."""
    from reid_tracker_ros.mot.synthetic import generate_sequence, is_current

    out = []
    for name, seed in SYNTHETIC:
        seq = root / f"{name}-{frames}f"
        if not is_current(seq, frames):
            print(f"generating synthetic sequence {seq} ...", flush=True)
            generate_sequence(root, name=seq.name, frames=frames, seed=seed)
        out.append(seq)
    return out


def _file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def load_with_features(seq_dir: Path, embedder_model: str, cache_dir: Path,
                       max_frames: int | None = None) -> OfflineSequence:
    """The folder by the offline loop's input rule, plus every detection's embedding, computed
    once per (sequence, detections, model) and cached in ``cache_dir``."""
    seq = load_sequence(seq_dir, max_frames)
    if embedder_model == "none":
        return seq
    from reid_tracker_ros.embedding.default_model import resolve_embedder

    embedder = resolve_embedder(embedder_model, device="cpu")
    assert embedder is not None
    seq.model = embedder.name
    key = f"{seq.name}__{seq.info.seq_length}f__{_file_digest(seq.det_file)}__{seq.model}".replace("/", "_")
    path = cache_dir / f"{key}.npz"
    n_dets = [len(b) for b in seq.boxes]
    if path.is_file():
        cached = np.load(path)
        if cached["counts"].tolist() == n_dets:
            seq.embeddings = list(np.split(cached["features"], np.cumsum(n_dets)[:-1]))
            return seq
    seq.embeddings = embed_sequence(seq, embedder)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=np.concatenate(seq.embeddings) if seq.embeddings else np.zeros((0, 1), np.float32),
             counts=np.array(n_dets))
    os.replace(tmp, path)
    return seq


# ------------------------------------------------------------------------------------ runners
def run_ours(name: str, data: OfflineSequence, cmc: bool, overrides: dict | None = None) -> RunResult:
    cfg = dict(overrides or {})
    if not cmc:
        cfg["cmc"] = "none"
    return run_tracker(build_tracker({"strategy": name, **cfg}), data)


def make_boxmot(name: str, cmc: bool):
    """BoxMOT tracker at its constructor defaults, CMC on or off as asked."""
    import boxmot

    cls = getattr(boxmot, BOXMOT_CLASSES[name])
    kwargs: dict[str, Any] = {}
    if name == "botsort":
        kwargs["use_cmc"] = cmc
    elif name == "deepocsort":
        kwargs["cmc_off"] = not cmc
    tracker = cls(**kwargs)
    if name == "strongsort" and not cmc:
        tracker.cmc = None  # StrongSort always builds ECC; None is BoxMOT's own "no CMC"
    return tracker


def run_boxmot(name: str, data: OfflineSequence, cmc: bool) -> RunResult:
    import torch
    from boxmot.structures import Boxes
    from boxmot.structures import Detections as BmDetections

    torch.set_num_threads(1)  # tiny tensors: threads only add overhead (ours is single-threaded too)
    tracker = make_boxmot(name, cmc)
    blank = np.zeros((data.info.im_height, data.info.im_width, 3), np.uint8)
    rows, times = [], []
    if name in MOTION_ONLY:  # BoxMOT's leaner numpy path: (x1, y1, x2, y2, conf, cls) in,
        for f, img in frames_of(data, cmc):  # (x1, y1, x2, y2, id, conf, cls, det) out
            arr = np.concatenate([data.boxes[f], data.scores[f][:, None],
                                  np.zeros((len(data.boxes[f]), 1))], axis=1).astype(np.float32)
            t0 = time.perf_counter()
            out = tracker.update(arr, blank if img is None else img)
            times.append(time.perf_counter() - t0)
            if len(out):
                rows.append(snapshot_rows(f + 1, out[:, 4].astype(np.int64) + 1,
                                          out[:, :4].astype(np.float64), out[:, 5]))
        return RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), 1e3 * np.array(times))
    for f, img in frames_of(data, cmc):
        boxes = torch.from_numpy(data.boxes[f].astype(np.float32))
        emb = None if data.embeddings is None else torch.from_numpy(data.embeddings[f])
        dets = BmDetections(geometry=Boxes(boxes),
                            scores=torch.from_numpy(data.scores[f].astype(np.float32)),
                            class_ids=torch.zeros(len(boxes), dtype=torch.int64),
                            sample_id=str(f + 1), embeddings=emb)
        t0 = time.perf_counter()
        out = tracker.update(dets, blank if img is None else img)
        times.append(time.perf_counter() - t0)
        if len(out.track_ids):
            ids = out.track_ids.numpy().astype(np.int64) + 1  # BoxMOT ids start at 0
            rows.append(snapshot_rows(f + 1, ids, out.geometry.values.numpy().astype(np.float64),
                                      out.scores.numpy()))
    return RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), 1e3 * np.array(times))


# ------------------------------------------------------------------------------------ report
def format_table(results: dict[str, dict[str, dict[str, dict | None]]], extra: dict | None = None) -> str:
    head = (f"{'sequence':<22} {'tracker':<18} | {'HOTA':>6} {'MOTA':>6} {'IDF1':>6} {'IDSW':>5} "
            f"{'p50 ms':>7} {'p95 ms':>7} | {'HOTA':>6} {'MOTA':>6} {'IDF1':>6} {'IDSW':>5} "
            f"{'p50 ms':>7} {'p95 ms':>7} | {'x faster':>8}")
    title = f"{'':<41}| {'ours':^42} | {'BoxMOT 25.0.0':^42} |"
    lines = [title, head, "-" * len(head)]

    def cells(s: dict | None) -> str:
        if s is None:
            return f"{'-':>6} {'-':>6} {'-':>6} {'-':>5} {'-':>7} {'-':>7}"
        return (f"{s['HOTA']:6.2f} {s['MOTA']:6.2f} {s['IDF1']:6.2f} {s['IDSW']:5d} "
                f"{s['ms_p50']:7.3f} {s['ms_p95']:7.3f}")

    for seq, per_tracker in results.items():
        for name, both in per_tracker.items():
            ours, bm = both["ours"], both["boxmot"]
            ratio = f"{bm['ms_p50'] / max(ours['ms_p50'], 1e-9):8.1f}" if bm and ours else f"{'-':>8}"
            lines.append(f"{seq:<22} {name:<18} | {cells(ours)} | {cells(bm)} | {ratio}")
    for seq, per_tracker in (extra or {}).items():
        for name, s in per_tracker.items():
            lines.append(f"{seq:<22} {name:<18} | {cells(s)} | (re-entry gallery switched)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", nargs="*", default=[], type=Path,
                    help="MOTChallenge sequence folders (with det/det.txt and gt/gt.txt); "
                         "default: two synthetic sequences")
    ap.add_argument("--frames", type=int, default=300, help="length of the synthetic sequences")
    ap.add_argument("--max-frames", type=int, default=None, help="only the first N frames of --seq")
    ap.add_argument("--trackers", nargs="*", default=list(strategy_names()), choices=strategy_names())
    ap.add_argument("--cmc", choices=("off", "on"), default="off",
                    help="camera-motion compensation for both sides (default off)")
    ap.add_argument("--embedder", default="default", help="our embedder model ('default' or a path)")
    ap.add_argument("--reentry-compare", action="store_true",
                    help="also run our appearance trackers with the re-entry gallery switched the "
                         "other way than in their preset (extra rows '+reentry' / '-reentry')")
    ap.add_argument("--no-boxmot", action="store_true", help="ours only (no boxmot needed)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_tracker"))
    args = ap.parse_args(argv)

    have_boxmot = False
    if not args.no_boxmot:
        try:
            import boxmot  # noqa: F401
            have_boxmot = True
        except ImportError:
            print("boxmot is not importable: run `bash scripts/setup_bench_env.sh` and use "
                  ".venv-bench/bin/python (make bench-tracker does both); BoxMOT columns stay empty",
                  file=sys.stderr)
    seqs = args.seq or synthetic_sequences(args.out / "sequences", args.frames)
    cmc = args.cmc == "on"
    results: dict[str, dict[str, dict[str, dict | None]]] = {}
    extra: dict[str, dict[str, dict]] = {}
    from tqdm import tqdm

    for seq_dir in seqs:
        data = load_with_features(Path(seq_dir), args.embedder, args.out / "features", args.max_frames)
        res_dir = args.out / "results" / data.name
        per = results.setdefault(data.name, {})
        jobs: list[tuple[str, str, Callable[[], RunResult]]] = []
        for name in args.trackers:
            jobs.append((name, "ours", lambda n=name: run_ours(n, data, cmc)))
            if have_boxmot and name in BOXMOT_CLASSES:
                jobs.append((name, "boxmot", lambda n=name: run_boxmot(n, data, cmc)))
            if args.reentry_compare and TRACKERS[name].uses_appearance is True:
                flipped = not preset_config(name).reentry
                jobs.append((f"{name}{'+' if flipped else '-'}reentry", "reentry",
                             lambda n=name, f=flipped: run_ours(n, data, cmc, {"reentry": f})))
        for name, side, job in tqdm(jobs, desc=f"tracking {data.name}", unit="run"):
            result = job()
            score(result, data, res_dir / f"{side}-{name}.txt")
            if side == "reentry":
                extra.setdefault(data.name, {})[name] = result.summary()
                continue
            slot = per.setdefault(name, {"ours": None, "boxmot": None})
            slot[side] = result.summary()

    stamp = time.strftime("%Y-%m-%d %H:%M")
    print(f"\nTracker benchmark, {stamp}, {platform.node()} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs), Python {platform.python_version()}; CMC {args.cmc} for both; "
          f"embeddings: {data.model}; BoxMOT at its constructor defaults")
    print(format_table(results, extra))
    compact = {seq: {name: {side: (None if s is None else {k: s[k] for k in
                                                             ("HOTA", "IDF1", "MOTA", "IDSW", "ms_p50")})
                            for side, s in both.items()}
                     for name, both in per.items()}
               for seq, per in results.items()}
    (args.out / "results.json").write_text(json.dumps({"results": results, "reentry": extra,
                                                       "cmc": args.cmc, "date": stamp}, indent=1))
    print(json.dumps(compact))
    return 0


if __name__ == "__main__":
    sys.exit(main())
