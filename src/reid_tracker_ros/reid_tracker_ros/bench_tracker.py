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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reid_tracker_ros.mot.io import (SequenceInfo, frame_paths, read_detections, read_seqinfo,
                                     snapshot_rows, write_results)
from reid_tracker_ros.tracking import TRACKERS, build_tracker
from reid_tracker_ros.tracking.strategies import preset_config
from reid_tracker_ros.types import Detections, tlwh_to_xyxy, valid_box_mask

TRACKER_NAMES = ("sort", "deepsort", "strongsort", "bytetrack", "ocsort", "botsort", "deepocsort")
# BoxMOT 25.0.0 class of each tracker we have; SORT and DeepSORT are not in BoxMOT.
BOXMOT_CLASSES = {"strongsort": "StrongSort", "bytetrack": "ByteTrack", "ocsort": "OcSort",
                  "botsort": "BotSort", "deepocsort": "DeepOcSort"}
# Trackers that ignore embeddings: BoxMOT gets plain numpy rows (its fastest input path).
MOTION_ONLY = ("bytetrack", "ocsort")
SYNTHETIC = (("SYNTH-BENCH-s1", 1), ("SYNTH-BENCH-s2", 2))


@dataclass
class SequenceData:
    """Everything a tracker run needs, loaded once: per-frame xyxy boxes, scores, embeddings."""

    name: str
    info: SequenceInfo
    boxes: list[np.ndarray]
    scores: list[np.ndarray]
    embeddings: list[np.ndarray] | None
    model: str
    images: list[Path] = field(default_factory=list)


@dataclass
class RunResult:
    rows: np.ndarray  # MOT result rows
    times_ms: np.ndarray  # per-frame update time
    metrics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        m = self.metrics
        return {"HOTA": round(float(m["HOTA"]), 3), "IDF1": round(float(m["IDF1"]), 3),
                "MOTA": round(float(m["MOTA"]), 3), "IDSW": int(m["IDSW"]),
                "ms_p50": round(float(np.percentile(self.times_ms, 50)), 4),
                "ms_p95": round(float(np.percentile(self.times_ms, 95)), 4)}


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


def load_sequence(seq_dir: Path, embedder_model: str, cache_dir: Path,
                  max_frames: int | None = None) -> SequenceData:
    """Public detections of a MOT folder plus their cached embeddings.

    Scores outside [0, 1] (e.g. MOT17's DPM detections) are min-max scaled to [0, 1] for
    every tracker alike, because BoxMOT rejects them; invalid boxes are dropped for all.
    """
    info = read_seqinfo(seq_dir, infer_if_missing=True)
    if max_frames:
        info = SequenceInfo(info.name, info.frame_rate, min(info.seq_length, max_frames),
                            info.im_width, info.im_height, info.im_ext, info.im_dir, info.path)
    det_file = Path(seq_dir) / "det" / "det.txt"
    if not det_file.is_file():
        raise FileNotFoundError(f"benchmark needs public detections: {det_file} not found")
    per_frame = read_detections(det_file)
    boxes, scores = [], []
    for f in range(1, info.seq_length + 1):
        tlwh, s = per_frame.frame(f)
        xyxy = tlwh_to_xyxy(tlwh)
        keep = valid_box_mask(xyxy, s)
        boxes.append(xyxy[keep])
        scores.append(np.asarray(s, np.float64)[keep])
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    if len(all_scores) and (all_scores.min() < 0 or all_scores.max() > 1):
        lo, hi = float(all_scores.min()), float(all_scores.max())
        scores = [(s - lo) / max(hi - lo, 1e-9) for s in scores]
    images = frame_paths(info)[:info.seq_length]
    data = SequenceData(info.name, info, boxes, scores, None, "none", images)
    if embedder_model != "none":
        data.embeddings, data.model = _embeddings(data, det_file, embedder_model, cache_dir)
    return data


def _embeddings(data: SequenceData, det_file: Path, model: str, cache_dir: Path
                ) -> tuple[list[np.ndarray], str]:
    """Embeddings of every detection, computed once per (sequence, detections, model)."""
    import cv2

    from reid_tracker_ros.embedding.default_model import resolve_embedder

    embedder = resolve_embedder(model, device="cpu")
    assert embedder is not None
    name = embedder.name
    key = f"{data.name}__{data.info.seq_length}f__{_file_digest(det_file)}__{name}".replace("/", "_")
    path = cache_dir / f"{key}.npz"
    n_dets = [len(b) for b in data.boxes]
    if path.is_file():
        cached = np.load(path)
        if cached["counts"].tolist() == n_dets:
            feats = cached["features"]
            return list(np.split(feats, np.cumsum(n_dets)[:-1])), name
    from tqdm import tqdm

    out = []
    for f, boxes in enumerate(tqdm(data.boxes, desc=f"embedding {data.name} ({name})", unit="frame")):
        if len(boxes) == 0:
            out.append(np.zeros((0, embedder.feature_dim), np.float32))
            continue
        bgr = cv2.imread(str(data.images[f]))
        if bgr is None:
            raise FileNotFoundError(f"cannot read frame {data.images[f]}")
        out.append(embedder.embed(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), boxes).astype(np.float32))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=np.concatenate(out) if out else np.zeros((0, 1), np.float32),
             counts=np.array(n_dets))
    os.replace(tmp, path)
    return out, name


# ------------------------------------------------------------------------------------ runners
def _frames(data: SequenceData, need_images: bool):
    """(index, image or None) per frame; images are read outside the timed update."""
    import cv2

    for f in range(data.info.seq_length):
        img = None
        if need_images:
            img = cv2.imread(str(data.images[f]))
            if img is None:
                raise FileNotFoundError(f"cannot read frame {data.images[f]}")
        yield f, img


def run_ours(name: str, data: SequenceData, cmc: bool, overrides: dict | None = None) -> RunResult:
    cfg = dict(overrides or {})
    if not cmc:
        cfg["cmc"] = "none"
    tracker = build_tracker({"strategy": name, **cfg})
    use_cmc = tracker.config.cmc != "none"
    rows, times = [], []
    for f, img in _frames(data, use_cmc):
        emb = None if data.embeddings is None else data.embeddings[f]
        dets = Detections(data.boxes[f], data.scores[f], np.zeros(len(data.boxes[f]), np.int64), emb)
        t0 = time.perf_counter()
        snap = tracker.update(dets, frame=img)
        times.append(time.perf_counter() - t0)
        live = snap.frames_since_update == 0
        if live.any():
            rows.append(snapshot_rows(f + 1, snap.track_ids[live], snap.boxes[live], snap.scores[live]))
    return RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), 1e3 * np.array(times))


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


def run_boxmot(name: str, data: SequenceData, cmc: bool) -> RunResult:
    import torch
    from boxmot.structures import Boxes
    from boxmot.structures import Detections as BmDetections

    torch.set_num_threads(1)  # tiny tensors: threads only add overhead (ours is single-threaded too)
    tracker = make_boxmot(name, cmc)
    blank = np.zeros((data.info.im_height, data.info.im_width, 3), np.uint8)
    rows, times = [], []
    if name in MOTION_ONLY:  # BoxMOT's leaner numpy path: (x1, y1, x2, y2, conf, cls) in,
        for f, img in _frames(data, cmc):  # (x1, y1, x2, y2, id, conf, cls, det) out
            arr = np.concatenate([data.boxes[f], data.scores[f][:, None],
                                  np.zeros((len(data.boxes[f]), 1))], axis=1).astype(np.float32)
            t0 = time.perf_counter()
            out = tracker.update(arr, blank if img is None else img)
            times.append(time.perf_counter() - t0)
            if len(out):
                rows.append(snapshot_rows(f + 1, out[:, 4].astype(np.int64) + 1,
                                          out[:, :4].astype(np.float64), out[:, 5]))
        return RunResult(np.concatenate(rows) if rows else np.zeros((0, 7)), 1e3 * np.array(times))
    for f, img in _frames(data, cmc):
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


def evaluate(result: RunResult, data: SequenceData, path: Path) -> None:
    from reid_tracker_ros.mot.metrics import evaluate_mot

    path.parent.mkdir(parents=True, exist_ok=True)
    write_results(path, result.rows)
    result.metrics = evaluate_mot(data.info.path, path, seqinfo=data.info)


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
    ap.add_argument("--trackers", nargs="*", default=list(TRACKER_NAMES), choices=sorted(TRACKERS))
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
        data = load_sequence(Path(seq_dir), args.embedder, args.out / "features", args.max_frames)
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
            evaluate(result, data, res_dir / f"{side}-{name}.txt")
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
