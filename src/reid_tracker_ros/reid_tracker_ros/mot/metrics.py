"""MOTChallenge metrics (HOTA, CLEAR, Identity) through TrackEval's Python API.

We compute no metric ourselves: TrackEval (PyPI ``trackeval`` 1.3.0) is the reference
implementation used by the MOTChallenge server. This module only lays out the folder structure
its ``MotChallenge2DBox`` dataset expects in a temporary directory, runs the metrics in-process
(single process, no console output, no files written next to the inputs) and flattens the result
into ``{name: number}``.

numpy 2: trackeval 1.3.0 no longer uses the removed ``np.float``/``np.int``/``np.bool`` aliases
(checked against 1.3.0 with numpy 2.4), so no compatibility shim is installed; ``_import_trackeval``
raises a clear error if an older TrackEval trips over them.

Returned values follow TrackEval's printed tables: ratios are percentages (HOTA, DetA, AssA,
MOTA, MOTP, IDF1, IDP, IDR, Recall, Precision, MTR, ...; HOTA sub-metrics averaged over the 19
alpha thresholds), counts are ints (IDSW, FP, FN, TP, Frag, MT, PT, ML, IDTP, IDFP, IDFN, Dets,
GT_Dets, IDs, GT_IDs, Frames). ``FP_per_frame`` is a plain per-frame average.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from reid_tracker_ros.mot.io import SequenceInfo, read_ground_truth, read_results, read_seqinfo

_TRACKER = "tracker"
#: aliases added to the flat result for readability (alias -> TrackEval field)
_ALIASES = {"TP": "CLR_TP", "FP": "CLR_FP", "FN": "CLR_FN", "Recall": "CLR_Re", "Precision": "CLR_Pr"}
#: CLEAR float fields that are not ratios (kept as-is or dropped)
_NOT_PERCENT = {"FP_per_frame"}
_DROP = {"MOTP_sum"}


@dataclass
class _Entry:
    """One sequence to evaluate, already parsed by our own readers."""

    name: str
    gt_file: Path
    results_file: Path
    length: int
    has_classes: bool
    gt_rows: np.ndarray  # (N, 9) from read_ground_truth
    res_rows: np.ndarray  # (M, 7) from read_results


def _import_trackeval():
    """Import trackeval lazily (it pulls in scipy, ~1 s) with a readable failure."""
    try:
        import trackeval
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reid_tracker_ros.mot.metrics needs the 'trackeval' package "
                          "(pip install trackeval==1.3.0)") from exc
    return trackeval


def _resolve_gt(gt: str | Path) -> tuple[Path, Path | None]:
    """Accept a sequence folder, its ``gt/`` folder or a ``gt.txt`` file.

    Returns (gt.txt, sequence folder or None when no seqinfo.ini can be expected).
    """
    gt = Path(gt)
    if gt.is_file():
        seq_dir = gt.parent.parent if gt.parent.name == "gt" else gt.parent
        return gt, seq_dir
    if (gt / "gt" / "gt.txt").is_file():
        return gt / "gt" / "gt.txt", gt
    if (gt / "gt.txt").is_file():
        return gt / "gt.txt", gt.parent
    raise FileNotFoundError(f"{gt}: no ground truth found (expected a sequence folder with gt/gt.txt, "
                            f"a gt/ folder or a gt.txt file)")


def _prepare(gt: str | Path, results_file: str | Path, seqinfo: SequenceInfo | None,
             seq_name: str | None) -> _Entry:
    """Parse and validate one (gt, results) pair.

    The sequence length comes from ``seqinfo`` or the sequence's seqinfo.ini. An explicit
    ``seqinfo`` selects a prefix: ground truth past its ``seq_length`` is dropped (e.g. a run that
    stopped after N frames). With seqinfo.ini, ground truth past seqLength is an error. Results
    past the length are always an error (results and ground truth disagree). Without any seqinfo
    the length is the last frame seen in ground truth or results. Both files are parsed here (so format errors name the file)
    and TrackEval later reads normalised copies, never the originals.
    MOT16/17/20 ground truth carries a class column; MOT15 style (class -1 / absent) does not.
    """
    gt_file, seq_dir = _resolve_gt(gt)
    results_file = Path(results_file)
    if not results_file.is_file():
        raise FileNotFoundError(f"{results_file}: results file not found")
    prefix = seqinfo is not None
    if seqinfo is None and seq_dir is not None and (seq_dir / "seqinfo.ini").is_file():
        seqinfo = read_seqinfo(seq_dir)
    gt_rows = read_ground_truth(gt_file)
    if prefix:
        gt_rows = gt_rows[gt_rows[:, 0] <= seqinfo.seq_length]
    res_rows = read_results(results_file)
    last_gt = int(gt_rows[:, 0].max()) if len(gt_rows) else 0
    last_res = int(res_rows[:, 0].max()) if len(res_rows) else 0
    if seqinfo is None:
        length = max(last_gt, last_res)
        if length < 1:
            raise ValueError(f"{gt_file}: empty ground truth and empty results, and no seqinfo.ini "
                             f"to tell the sequence length")
    else:
        length = seqinfo.seq_length
        if last_gt > length:
            raise ValueError(f"{gt_file}: ground truth has frame {last_gt} > seqLength {length}")
        if last_res > length:
            raise ValueError(f"{results_file}: results have frame {last_res} > seqLength {length} "
                             f"of sequence {seqinfo.name!r}")
    name = seq_name or (seqinfo.name if seqinfo is not None else None)
    name = _safe_name(name or (seq_dir.name if seq_dir is not None else "seq"))
    has_classes = bool(len(gt_rows)) and bool((gt_rows[:, 7] != -1).any())
    return _Entry(name, gt_file, results_file, length, has_classes, gt_rows, res_rows)


def _flatten(seq_res: Mapping[str, Mapping[str, Any]], metrics: Iterable[Any]) -> dict[str, float | int]:
    """TrackEval's nested per-metric dicts -> one flat dict (percentages, ints)."""
    out: dict[str, float | int] = {}
    for metric in metrics:
        res = seq_res[metric.get_name()]
        for f in getattr(metric, "float_array_fields", []):
            out[f] = float(100.0 * np.mean(res[f]))
        for f in metric.float_fields:
            if f in _DROP:
                continue
            out[f] = float(res[f]) if f in _NOT_PERCENT else float(100.0 * res[f])
        for f in metric.integer_fields:
            out[f] = int(res[f])
    if "Frames" in seq_res.get("Count", {}):
        out["Frames"] = int(seq_res["Count"]["Frames"])
    for alias, field in _ALIASES.items():
        if field in out:
            out[alias] = out[field]
    return out


def _save_csv(path: Path, rows: np.ndarray, tail: str = "") -> None:
    """Plain comma-separated copy (TrackEval sniffs the delimiter from the first line)."""
    lines = [",".join(f"{v:.10g}" for v in row) + tail + "\n" for row in rows.tolist()]
    path.write_text("".join(lines), encoding="utf-8")


def _run(entries: list[_Entry], mot15: bool, iou_threshold: float
         ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Any]]:
    """Evaluate entries with TrackEval; returns per-sequence and combined raw results."""
    trackeval = _import_trackeval()
    with tempfile.TemporaryDirectory(prefix="trackeval_") as tmp:
        # layout with SKIP_SPLIT_FOL: gt/<seq>/gt/gt.txt and trackers/<tracker>/data/<seq>.txt
        root = Path(tmp)
        gt_root, trk_root = root / "gt", root / "trackers"
        data = trk_root / _TRACKER / "data"
        data.mkdir(parents=True)
        for e in entries:
            (gt_root / e.name / "gt").mkdir(parents=True)
            _save_csv(gt_root / e.name / "gt" / "gt.txt", e.gt_rows)
            _save_csv(data / f"{e.name}.txt", e.res_rows, tail=",-1,-1,-1")
        dataset_cfg = {
            "GT_FOLDER": str(gt_root),
            "TRACKERS_FOLDER": str(trk_root),
            "OUTPUT_FOLDER": str(root / "out"),
            "TRACKERS_TO_EVAL": [_TRACKER],
            "CLASSES_TO_EVAL": ["pedestrian"],
            "BENCHMARK": "MOT15" if mot15 else "MOT17",  # MOT15: no class-based preprocessing
            "SPLIT_TO_EVAL": "train",
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": {e.name: e.length for e in entries},  # no seqmap / seqinfo.ini needed
            "DO_PREPROC": True,
            "PRINT_CONFIG": False,
        }
        metric_cfg = {"THRESHOLD": float(iou_threshold), "PRINT_CONFIG": False}
        timing, trackeval._timing.DO_TIMING = trackeval._timing.DO_TIMING, False  # no timing printout
        try:
            dataset = trackeval.datasets.MotChallenge2DBox(dataset_cfg)
            metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(dict(metric_cfg)),
                       trackeval.metrics.Identity(dict(metric_cfg)), trackeval.metrics.Count()]
            names = [m.get_name() for m in metrics]
            per_seq = {}
            for e in entries:
                # trackeval.eval.eval_sequence is what Evaluator.evaluate calls per sequence; calling it
                # directly avoids the Evaluator's unconditional console output.
                res = trackeval.eval.eval_sequence(e.name, dataset, _TRACKER, ["pedestrian"], metrics, names)
                per_seq[e.name] = res["pedestrian"]
        except trackeval.utils.TrackEvalException as exc:
            files = ", ".join(f"{e.gt_file} / {e.results_file}" for e in entries)
            raise ValueError(f"TrackEval rejected the input ({files}): {exc}") from None
        finally:
            trackeval._timing.DO_TIMING = timing
        combined = {m.get_name(): m.combine_sequences({s: r[m.get_name()] for s, r in per_seq.items()})
                    for m in metrics}
        combined["Count"]["Frames"] = sum(int(r["Count"]["Frames"]) for r in per_seq.values())
    return per_seq, combined, metrics


def evaluate_mot(gt: str | Path, results_file: str | Path, seq_name: str | None = None,
                 seqinfo: SequenceInfo | None = None, iou_threshold: float = 0.5) -> dict[str, float | int]:
    """HOTA + CLEAR + Identity metrics of one tracker result file against one sequence.

    ``gt``: sequence folder (with gt/gt.txt and usually seqinfo.ini), its gt/ folder or a gt.txt.
    ``seqinfo`` overrides the sequence's seqinfo.ini; only frames 1..``seqinfo.seq_length`` are
    evaluated, so a shortened copy scores a run that covered only the first frames.
    ``iou_threshold`` is the CLEAR/Identity match threshold (HOTA always sweeps 0.05..0.95).
    Raises FileNotFoundError for missing inputs and ValueError for inconsistent ones.
    """
    entry = _prepare(gt, results_file, seqinfo, seq_name)
    per_seq, _, metrics = _run([entry], not entry.has_classes, iou_threshold)
    return _flatten(per_seq[entry.name], metrics)


def evaluate_many(pairs: Iterable[tuple[str | Path, str | Path]] | Mapping[str, tuple[str | Path, str | Path]],
                  iou_threshold: float = 0.5) -> dict[str, dict[str, float | int]]:
    """Evaluate several sequences; returns ``{seq_name: metrics, ..., "COMBINED": metrics}``.

    ``pairs``: (gt, results_file) tuples (names from seqinfo.ini / folder names) or a mapping
    ``{seq_name: (gt, results_file)}``. COMBINED uses TrackEval's sequence combination (sums of
    counts, detection-weighted HOTA) like the MOTChallenge leaderboard. All sequences must share
    one ground-truth style (all with a class column, or all MOT15-style).
    """
    items = list(pairs.items()) if isinstance(pairs, Mapping) else [(None, p) for p in pairs]
    entries: list[_Entry] = []
    for forced_name, (gt, res) in items:
        entry = _prepare(gt, res, None, forced_name)
        if entry.name in {e.name for e in entries} or entry.name == "COMBINED":
            raise ValueError(f"evaluate_many: duplicate or reserved sequence name {entry.name!r} (from {gt})")
        entries.append(entry)
    styles = {e.has_classes for e in entries}
    if not entries:
        raise ValueError("evaluate_many: no sequences given")
    if len(styles) > 1:
        raise ValueError("evaluate_many: mixes MOT15-style ground truth (no class column) with MOT16+ style")
    per_seq, combined, metrics = _run(entries, not styles.pop(), iou_threshold)
    out = {name: _flatten(res, metrics) for name, res in per_seq.items()}
    out["COMBINED"] = _flatten(combined, metrics)
    return out


def _safe_name(name: str) -> str:
    """Sequence names become folder/file names in the temporary layout."""
    name = str(name).strip()
    if not name or any(c in name for c in "/\\\0") or name in {".", ".."}:
        raise ValueError(f"invalid sequence name {name!r}")
    return name


def format_summary(res: Mapping[str, float | int]) -> str:
    """One line with the headline numbers, e.g. for logs and CLI output."""
    keys = [("HOTA", ".2f"), ("MOTA", ".2f"), ("IDF1", ".2f"), ("DetA", ".2f"), ("AssA", ".2f"),
            ("IDSW", "d"), ("FP", "d"), ("FN", "d"), ("Frag", "d"), ("MT", "d"), ("ML", "d")]
    return "  ".join(f"{k} {format(res[k], fmt)}" for k, fmt in keys if k in res)
