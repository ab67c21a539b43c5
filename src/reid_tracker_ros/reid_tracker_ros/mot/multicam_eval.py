"""Scoring several cameras with global ids, and the offline multi-camera loop (no ROS).

Per camera: the usual HOTA / IDF1 / MOTA / IDSW of its tracks (the tracker's own ids).
Globally: all cameras concatenated in time into one sequence ("union": camera k's frames come
after camera k-1's), ground-truth ids being global across the folders, scored once with the
tracks' global ids (``IDF1_global``, the usual multi-camera IDF1: a person who keeps one id in
every camera scores as one identity) and once with each camera's own ids made unique
(``IDF1_global_no_sharing``: what the cameras achieve without the identity node).

:func:`run_offline` runs the same loop the node graph runs (per camera a tracker and a
summary collector, one identity assigner, lockstep over frames) on precomputed features, so
identity settings can be chosen on dev sequences in seconds; ``make eval-multicam`` replays
the folders through the real nodes and is scored by :func:`score_cameras` too.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..identity import IdentityAssigner, IdentityConfig
from ..identity.summaries import SummaryCollector, new_session
from ..tracking.costs import iou_matrix
from ..types import tlwh_to_xyxy
from .crowd import write_gt
from .io import SequenceInfo, read_ground_truth, read_seqinfo, write_results, write_seqinfo
from .offline import OfflineSequence, frames_of, reported_rows

CAMERA_ID_STRIDE = 10 ** 6  # unassigned / unshared ids become camera * stride + track id
METRICS = ("HOTA", "IDF1", "MOTA", "IDSW")


def _infos(seq_dirs: Sequence[str | Path], lengths: Sequence[int] | None) -> list[SequenceInfo]:
    infos = [read_seqinfo(d) for d in seq_dirs]
    if lengths is not None:  # a run over the first frames only is scored on those
        infos = [dataclasses.replace(i, seq_length=min(i.seq_length, int(n))) for i, n in zip(infos, lengths)]
    return infos


def union_sequence(seq_dirs: Sequence[str | Path], out: str | Path, lengths: Sequence[int] | None = None
                   ) -> tuple[Path, list[int]]:
    """Write ``<out>/union`` (gt of all cameras concatenated in time; seqinfo of camera 1's
    size) and return it with each camera's frame offset; ``lengths``: frames per camera used."""
    infos = _infos(seq_dirs, lengths)
    offsets = list(np.cumsum([0] + [i.seq_length for i in infos[:-1]]).astype(int))
    rows = []
    for info, off in zip(infos, offsets):
        gt = read_ground_truth(Path(info.path) / "gt" / "gt.txt").copy()
        gt = gt[gt[:, 0] <= info.seq_length]
        gt[:, 0] += off
        rows.append(gt)
    union = Path(out) / "union"
    write_gt(union / "gt" / "gt.txt", np.concatenate(rows))  # sorted by frame, id
    write_seqinfo(SequenceInfo(name="union", frame_rate=infos[0].frame_rate,
                               seq_length=int(sum(i.seq_length for i in infos)), im_width=infos[0].im_width,
                               im_height=infos[0].im_height), union)
    return union, offsets


def unique_ids(rows: np.ndarray, camera: int, global_ids: np.ndarray | None = None) -> np.ndarray:
    """Result rows with ids made comparable across cameras: the global id where there is one
    (> 0), else ``(camera + 1) * CAMERA_ID_STRIDE + track id``."""
    out = np.array(rows, np.float64, copy=True).reshape(-1, 7)
    local = (camera + 1) * CAMERA_ID_STRIDE + out[:, 1]
    if global_ids is None:
        out[:, 1] = local
        return out
    g = np.asarray(global_ids, np.float64).reshape(-1)
    ids = np.where(g > 0, g, local)
    # one id twice in a frame (never from the identity node's answers, which keep a global id
    # to one track per camera; possible in hand-made inputs): the later row keeps its own id
    order = np.lexsort((np.arange(len(ids)), ids, out[:, 0]))
    dup = np.zeros(len(ids), bool)
    dup[order[1:]] = (ids[order[1:]] == ids[order[:-1]]) & (out[order[1:], 0] == out[order[:-1], 0])
    ids[dup] = local[dup]
    out[:, 1] = ids
    return out


def score_cameras(seq_dirs: Sequence[str | Path], local_rows: Sequence[np.ndarray],
                  global_ids: Sequence[np.ndarray], out: str | Path, lengths: Sequence[int] | None = None
                  ) -> dict[str, Any]:
    """Per-camera and union scores; ``local_rows[k]``: camera k's (N, 7) result rows with its
    tracker's ids, ``global_ids[k]``: the global id of each row (0: none); ``lengths``: frames
    per camera that were run (default: all)."""
    from .metrics import evaluate_mot

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_camera = {}
    names = []
    infos = _infos(seq_dirs, lengths)
    for k, (seq, rows, info) in enumerate(zip(seq_dirs, local_rows, infos)):
        names.append(info.name)
        path = out / f"{info.name}.txt"
        write_results(path, rows)
        m = evaluate_mot(seq, path, seqinfo=info)
        per_camera[info.name] = {key: round(float(m[key]), 3) if key != "IDSW" else int(m[key]) for key in METRICS}
    union, offsets = union_sequence(seq_dirs, out, lengths)

    def shifted(rows: np.ndarray, off: int) -> np.ndarray:
        rows = rows.copy()
        rows[:, 0] += off
        return rows

    shared = np.concatenate([shifted(unique_ids(r, k, g), offsets[k])
                             for k, (r, g) in enumerate(zip(local_rows, global_ids))])
    alone = np.concatenate([shifted(unique_ids(r, k), offsets[k]) for k, r in enumerate(local_rows)])
    write_results(out / "union_global.txt", shared)
    write_results(out / "union_no_sharing.txt", alone)
    g = evaluate_mot(union, out / "union_global.txt")
    n = evaluate_mot(union, out / "union_no_sharing.txt")
    mean_idf1 = float(np.mean([m["IDF1"] for m in per_camera.values()]))
    return {"cameras": names, "per_camera": per_camera,
            "HOTA_global": round(float(g["HOTA"]), 3), "IDF1_global": round(float(g["IDF1"]), 3),
            "IDF1_global_no_sharing": round(float(n["IDF1"]), 3),
            "IDF1_per_camera_mean": round(mean_idf1, 3),
            "IDF1_global_over_mean": round(float(g["IDF1"]) / mean_idf1, 4) if mean_idf1 else None}


def global_ids_of_people(seq_dir: str | Path, rows: np.ndarray, global_ids: np.ndarray, first: int, last: int
                         ) -> dict[int, int]:
    """``{gt person id: the global id most of their result rows carry}`` over frames
    ``first..last`` (rows matched to ground truth at IoU >= 0.5; rows without a global id are
    left out). Used to check that people keep their global id across a restart."""
    gt = read_ground_truth(Path(seq_dir) / "gt" / "gt.txt")
    votes: dict[int, dict[int, int]] = {}
    for f in range(first, last + 1):
        r = (rows[:, 0] == f) & (np.asarray(global_ids) > 0)
        g = gt[(gt[:, 0] == f) & (gt[:, 6] > 0)]
        if not r.any() or not len(g):
            continue
        iou = iou_matrix(tlwh_to_xyxy(rows[r, 2:6]), tlwh_to_xyxy(g[:, 2:6]))
        for i, gid in enumerate(np.asarray(global_ids)[r].tolist()):
            j = int(iou[i].argmax())
            if iou[i, j] >= 0.5:
                person = votes.setdefault(int(g[j, 1]), {})
                person[gid] = person.get(gid, 0) + 1
    return {p: max(v, key=v.get) for p, v in votes.items()}


def run_offline(sequences: Sequence[OfflineSequence], trackers: Sequence[Any], config: IdentityConfig,
                period: int = 1, per_track: int = 1) -> tuple[list[np.ndarray], list[np.ndarray], IdentityAssigner]:
    """Cameras in lockstep through their trackers and one identity assigner, as the graph
    does: a frame's tracks carry the global ids known before it (the tracker fills them from
    the identity node's last answer), then its summary (every ``period`` frames) is assigned.
    Returns per camera the reported rows, the global id of each row, and the assigner."""
    dims = {s.embeddings[0].shape[1] for s in sequences if s.embeddings is not None and len(s.embeddings)}
    if len(dims) != 1:
        raise ValueError(f"every camera needs features of one model; feature sizes found: {sorted(dims)}")
    assigner = IdentityAssigner(config, dims.pop())
    collectors = [SummaryCollector(period, per_track) for _ in sequences]
    sessions = [new_session() for _ in sequences]
    mappings: list[dict[int, int]] = [{} for _ in sequences]
    rows: list[list[np.ndarray]] = [[] for _ in sequences]
    gids: list[list[np.ndarray]] = [[] for _ in sequences]
    streams = [frames_of(s, getattr(t.config, "cmc", "none") != "none") for s, t in zip(sequences, trackers)]
    for f in range(max(len(s) for s in sequences)):
        for k, (seq, tracker) in enumerate(zip(sequences, trackers)):
            if f >= len(seq):
                continue
            _, img = next(streams[k])
            snap = tracker.update(seq.detections(f), frame=img)
            r = reported_rows(f + 1, snap)
            rows[k].append(r)
            gids[k].append(np.array([mappings[k].get(int(t), 0) for t in r[:, 1]], np.int64))
            summaries = collectors[k].observe(tracker.tracks, (seq.info.im_width, seq.info.im_height))
            if summaries is not None:
                stamp = f / seq.info.frame_rate
                out = assigner.assign(seq.name, sessions[k], stamp, summaries)
                mappings[k] = {t: g for t, g in out.items() if g}
    cat = [np.concatenate(r) if r else np.zeros((0, 7)) for r in rows]
    cat_g = [np.concatenate(g) if g else np.zeros(0, np.int64) for g in gids]
    return cat, cat_g, assigner


def offline_config(params: dict[str, Any]) -> IdentityConfig:
    """An IdentityConfig from node-style parameters (the tools' --identity-param overrides)."""
    return dataclasses.replace(IdentityConfig(), **params)
