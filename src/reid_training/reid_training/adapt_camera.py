"""Adapt a ReID model to the robot's own camera from unlabelled footage.

1. run the detector and the tracker (``reid_tracker_ros`` cores, the same ones the nodes use)
   over a video or an image folder and keep *confident tracklets*: confirmed tracks, matched
   in that frame, with a detection score >= ``min_score``, at least ``min_len`` crops;
2. every tracklet is a pseudo-identity candidate; two tracklets that appear in the same frame
   are different people (a cannot-link constraint);
3. tracklet features (temporal mean of the current model's crop features) are compared by the
   k-reciprocal Jaccard distance and merged nearest first below ``eps`` without ever joining
   a cannot-link pair (:func:`reid_training.continual.constrained_merge`): one person who left
   and came back becomes one identity;
4. fine-tune on the pseudo-identities (the usual PK + CE/triplet losses) and export ONNX.

Also here: :func:`track_sequence`, the offline loop (:mod:`reid_tracker_ros.mot.offline`) on a
MOTChallenge folder, used to report what adaptation changes on tracking.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")


def iter_frames(source: str | os.PathLike, max_frames: int | None = None, stride: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame index from 0, RGB image)`` of every ``stride``-th frame of a video file or an
    image folder (read by the source node's readers)."""
    from reid_tracker_ros.sources import iterate, open_source

    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"video or image folder not found: {path}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: expected a video ({', '.join(VIDEO_SUFFIXES)}) or an image folder")
    count = 0
    with open_source(str(path)) as reader:
        for frame in iterate(reader):
            if frame.index % stride:
                continue
            if max_frames is not None and count >= max_frames:
                return
            count += 1
            yield frame.index, cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)


@dataclass
class Tracklet:
    track_id: int
    frames: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


def tracker_params(extra_files: list[str] | None = None):
    """The tracker core settings the tracker node would run with (config/default.yaml [+ files])."""
    from reid_tracker_ros.config import DEFAULT_CONFIG, load_node_parameters, validated_parameters
    from reid_tracker_ros.tracking import config_from_parameters

    return config_from_parameters(validated_parameters(
        "tracker", load_node_parameters("tracker", [DEFAULT_CONFIG, *(extra_files or [])])))


def _match_scores(track_boxes: np.ndarray, det_boxes: np.ndarray, det_scores: np.ndarray) -> np.ndarray:
    """Score of the best-overlapping detection for every track box (0 when none overlaps)."""
    from reid_tracker_ros.tracking import iou_matrix

    if len(track_boxes) == 0 or len(det_boxes) == 0:
        return np.zeros(len(track_boxes))
    iou = iou_matrix(track_boxes, det_boxes)
    best = iou.argmax(axis=1)
    return np.where(iou.max(axis=1) >= 0.5, det_scores[best], 0.0)


def collect_tracklets(source: str | os.PathLike, out_dir: str | os.PathLike, embedder=None, detector=None,
                      tracker=None, min_score: float = 0.5, min_len: int = 8, max_frames: int | None = None,
                      stride: int = 1, min_height: int = 48, crop_hw: tuple[int, int] = (256, 128),
                      progress: bool = True) -> tuple[list[Tracklet], np.ndarray]:
    """Detect + track ``source`` and write confident crops to ``out_dir``.

    Returns ``(tracklets with >= min_len crops, cannot_link (T, T) bool)`` where
    ``cannot_link[i, j]`` is True when tracklets i and j were reported in the same frame.
    ``embedder`` (optional) gives the tracker appearance features, as in the running graph.
    """
    from reid_tracker_ros.detection import build_detector
    from reid_tracker_ros.mot.offline import reported_mask
    from reid_tracker_ros.tracking import build_tracker

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    detector = detector or build_detector("ultralytics", model="default", device="cpu")
    tracker = tracker or build_tracker(tracker_params())
    tracklets: dict[int, Tracklet] = {}
    frame_members: list[list[int]] = []
    frames = iter_frames(source, max_frames, stride)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, desc="detect+track", unit="frame")
    for index, image in frames:
        dets = detector.detect(image)
        if embedder is not None and len(dets):
            dets.embeddings = embedder.embed(image, dets.boxes)
        snap = tracker.update(dets, frame=image)
        live = reported_mask(snap.states, snap.frames_since_update)
        boxes, ids = snap.boxes[live], snap.track_ids[live]
        scores = _match_scores(boxes, dets.boxes, dets.scores)
        frame_members.append([int(t) for t in ids])
        h_img, w_img = image.shape[:2]
        for tid, box, score in zip(ids, boxes, scores):
            x1, y1, x2, y2 = np.round(box).astype(int)
            x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w_img), min(y2, h_img)
            if score < min_score or y2 - y1 < min_height or x2 - x1 < 8:
                continue
            crop = cv2.resize(image[y1:y2, x1:x2], (crop_hw[1], crop_hw[0]), interpolation=cv2.INTER_LINEAR)
            path = out_dir / f"t{int(tid):05d}_f{index:06d}.jpg"
            cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            t = tracklets.setdefault(int(tid), Tracklet(int(tid)))
            t.frames.append(index)
            t.paths.append(str(path))
            t.scores.append(float(score))
    kept = [t for t in tracklets.values() if len(t.paths) >= min_len]
    pos = {t.track_id: k for k, t in enumerate(kept)}
    cannot = np.zeros((len(kept), len(kept)), bool)
    for members in frame_members:
        idx = [pos[m] for m in members if m in pos]
        if len(idx) > 1:
            ix = np.asarray(idx)
            cannot[np.ix_(ix, ix)] = True
    np.fill_diagonal(cannot, False)
    return kept, cannot


def merge_tracklets(features: np.ndarray, cannot_link: np.ndarray, eps: float = 0.5, k1: int = 20,
                    k2: int = 6) -> np.ndarray:
    """Pseudo-identity per tracklet: Jaccard distance + constrained nearest-first merging."""
    from .continual import constrained_merge, jaccard_from_features

    n = len(features)
    if n < 2:
        return np.zeros(n, np.int64)
    # a person owns a handful of tracklets, not a fifth of them: with k1 near n every
    # neighbourhood covers everybody and all Jaccard distances shrink (measured on vtest.avi:
    # 17 tracklets collapse to 4 identities at k1 16, 6 at k1 4)
    k1 = max(2, min(k1, n // 4))
    dist = jaccard_from_features(features, k1, max(1, min(k2, k1 // 2)))
    return constrained_merge(dist, eps, cannot_link)


def track_sequence(seq_dir: str | os.PathLike, embedder=None, tracker_config=None,
                   out_file: str | os.PathLike | None = None, max_frames: int | None = None) -> dict:
    """Public detections + optional embedder + tracker core over a MOTChallenge folder through
    the offline loop (:mod:`reid_tracker_ros.mot.offline`, no ROS); returns TrackEval's
    HOTA/MOTA/IDF1/IDSW. ``embedder=None`` is motion only."""
    from reid_tracker_ros.mot.offline import embed_sequence, load_sequence, run_tracker, score
    from reid_tracker_ros.tracking import build_tracker

    seq = load_sequence(seq_dir, max_frames)
    if embedder is not None:
        seq.embeddings = embed_sequence(seq, embedder, progress=False)
    result = run_tracker(build_tracker(tracker_config or tracker_params()), seq)
    out_file = Path(out_file) if out_file else Path(seq_dir).parent / f".{Path(seq_dir).name}.offline.txt"
    res = score(result, seq, out_file)
    return {k: res.get(k) for k in ("HOTA", "MOTA", "IDF1", "IDSW")}


def _save_tracklets(path: Path, tracklets: list[Tracklet], cannot_link: np.ndarray) -> None:
    data = {"tracklets": [{"track_id": t.track_id, "frames": t.frames, "paths": [Path(p).name for p in t.paths],
                           "scores": t.scores} for t in tracklets],
            "cannot_link": np.argwhere(np.triu(cannot_link)).tolist()}
    path.write_text(json.dumps(data) + "\n")


def _load_tracklets(path: Path) -> tuple[list[Tracklet], np.ndarray]:
    data = json.loads(path.read_text())
    crops = path.parent / "crops"
    tracklets = [Tracklet(d["track_id"], d["frames"], [str(crops / p) for p in d["paths"]], d["scores"])
                 for d in data["tracklets"]]
    cannot = np.zeros((len(tracklets), len(tracklets)), bool)
    for i, j in data["cannot_link"]:
        cannot[i, j] = cannot[j, i] = True
    return tracklets, cannot


def adapt_to_camera(source: str | os.PathLike, ckpt: str | os.PathLike, out_dir: str | os.PathLike,
                    eps: float = 0.5, min_score: float = 0.5, min_len: int = 8, max_frames: int | None = None,
                    stride: int = 1, iters: int = 300, batch_size: int = 32, instances: int = 4, lr: float = 1e-4,
                    workers: int = 1, reuse: bool = True, progress: bool = True, seed: int = 0) -> dict:
    """The whole adaptation (see the module docstring); returns a report and writes
    ``<out_dir>/checkpoint.pt``. With ``reuse``, tracklets already collected in ``out_dir`` are
    used again (detection and tracking are the slow part on a CPU)."""
    import torch

    from . import serialization
    from .data import ImageRecord
    from .data.loaders import make_eval_loader, make_train_loader
    from .engine import TrainConfig, Trainer, extract_features, model_from_checkpoint
    from .losses import ReIDLoss
    from .video import pool_tracklets

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, _ = model_from_checkpoint(ckpt)
    h, w = model.config.input_height, model.config.input_width
    index = out_dir / "tracklets.json"
    if reuse and index.is_file():
        tracklets, cannot = _load_tracklets(index)
    else:
        tracklets, cannot = collect_tracklets(source, out_dir / "crops", min_score=min_score, min_len=min_len,
                                              max_frames=max_frames, stride=stride, crop_hw=(h, w),
                                              progress=progress)
        _save_tracklets(index, tracklets, cannot)
    if len(tracklets) < 2:
        raise ValueError(f"{source}: only {len(tracklets)} confident tracklet(s) (>= {min_len} crops, score >= "
                         f"{min_score}); lower --min-len / --min-score or use longer footage")
    records = [ImageRecord(p, k, 0) for k, t in enumerate(tracklets) for p in t.paths]
    loader = make_eval_loader(records, h, w, workers=workers)
    feats, owner, _ = extract_features(model, loader, progress=progress, desc="tracklet features")
    pooled, _ = pool_tracklets(feats, owner)
    labels = merge_tracklets(pooled, cannot, eps)
    n_ids = int(labels.max()) + 1
    pseudo = [ImageRecord(r.path, int(labels[r.pid]), int(r.pid)) for r in records]  # camid = tracklet
    report = {"source": str(source), "tracklets": len(tracklets), "crops": len(records),
              "cannot_link_pairs": int(np.triu(cannot).sum()), "pseudo_identities": n_ids, "eps": eps}
    if n_ids < 2:
        raise ValueError(f"all {len(tracklets)} tracklets merged into one identity at eps {eps}: lower --eps")
    model.reset_classifier(n_ids)
    k = instances
    p = max(2, min(batch_size // k, n_ids))
    train_loader = make_train_loader(pseudo, p, k, h, w, workers=workers, seed=seed)
    crit = ReIDLoss(n_ids, model.feature_dim, ce_weight=1.0, epsilon=0.1, triplet_weight=1.0, margin=0.3,
                    center_weight=0.0)
    cfg = TrainConfig(epochs=10 ** 6, lr=lr, max_iters=iters, warmup_iters=min(50, iters // 4), out_dir=str(out_dir),
                      seed=seed, progress=progress)
    trainer = Trainer(model, crit, train_loader, cfg)
    trainer.fit()
    report["iterations"] = trainer.iteration
    report["checkpoint"] = str(trainer.checkpoint_path)
    serialization.save(report, out_dir / "adapt_report.pt")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="reid-adapt", description=__doc__.split("\n\n")[0])
    p.add_argument("--video", required=True, help="video file or image folder from the robot's camera")
    p.add_argument("--ckpt", required=True, help="starting reid-train checkpoint")
    p.add_argument("--out", default="runs/reid/adapt")
    p.add_argument("--eps", type=float, default=0.5, help="merge threshold on the k-reciprocal Jaccard distance")
    p.add_argument("--min-score", type=float, default=0.5, help="detection score of a confident crop")
    p.add_argument("--min-len", type=int, default=8, help="crops a tracklet needs to count")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    p.add_argument("--iters", type=int, default=300, help="fine-tuning iterations")
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--instance", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-reuse", action="store_true", help="collect tracklets again even if <out> has them")
    p.add_argument("--export", default=None, metavar="MODEL.onnx", help="export the adapted model")
    p.add_argument("--eval-feature", choices=("after_bn", "before_bn"), default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    report = adapt_to_camera(args.video, args.ckpt, args.out, args.eps, args.min_score, args.min_len,
                             args.max_frames, args.stride, args.iters, args.bs, args.instance, args.lr, args.workers,
                             not args.no_reuse, not args.no_progress)
    if args.export:
        from .engine import model_from_checkpoint
        from .export import export_model

        model, _ = model_from_checkpoint(report["checkpoint"])
        if args.eval_feature:
            model.config.eval_feature = args.eval_feature
        report["export"] = export_model(model, args.export, name=f"reid-{model.config.backbone}-adapted",
                                        description=f"adapted to {Path(args.video).name} by reid-adapt",
                                        extra={k: v for k, v in report.items() if k != "checkpoint"})
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
