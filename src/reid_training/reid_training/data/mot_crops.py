"""MOTChallenge ground truth -> ReID dataset in Market-1501 layout, plus tracklets for video ReID.

Why: users who downloaded MOT16/17 (or recorded their own sequences with gt) can train and
evaluate ReID models on people from their domain without any ReID dataset.

Rules:

- rows of ``gt/gt.txt`` with consider flag 1 and pedestrian class (or no class info) only,
  visibility >= ``min_visibility``, every ``stride``-th frame, box at least ``min_height`` x
  ``min_width`` pixels; boxes are scaled by ``crop_factor`` around their centre (context) and
  clipped to the image;
- person ids become global (``1..N`` over all sequences) and are split into disjoint train and
  test identities (``test_fraction``, seeded);
- a MOT sequence is one camera, but the standard protocol ignores same-camera matches; so
  each sequence is cut into ``time_cameras`` equal time segments that act as cameras (a person
  must be re-found in a later/earlier part of the video, after leaving or turning);
- query: for each test identity, one crop (the middle one) per camera in which it appears, if
  it appears in at least two cameras; all other test crops form the gallery;
- tracklets: consecutive crops of one identity and camera with no frame gap larger than
  ``2 * stride``, cut into pieces of at most ``tracklet_len`` crops, written to
  ``tracklets.json`` (see :func:`read_tracklets`).

File names: ``<pid:04d>_c<camera>s<sequence>_<frame:06d>_00.jpg`` (1-based camera/sequence).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from reid_tracker_ros.mot.io import frame_paths, ground_truth_by_frame, read_seqinfo

from .records import Tracklet

SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


@dataclass(frozen=True)
class MotCropSummary:
    """What :func:`extract_mot_crops` wrote."""

    out_dir: Path
    train_ids: int
    test_ids: int
    images: dict[str, int]  # split -> image count
    tracklets: dict[str, int]  # split -> tracklet count


def _crop_box(tlwh: np.ndarray, factor: float, width: int, height: int) -> tuple[int, int, int, int]:
    l, t, w, h = (float(v) for v in tlwh)
    cx, cy = l + w / 2, t + h / 2
    w2, h2 = w * factor / 2, h * factor / 2
    x1, y1 = max(int(np.floor(cx - w2)), 0), max(int(np.floor(cy - h2)), 0)
    x2, y2 = min(int(np.ceil(cx + w2)), width), min(int(np.ceil(cy + h2)), height)
    return x1, y1, x2, y2


def _validate(crop_factor: float, min_visibility: float, min_height: int, min_width: int, stride: int,
              test_fraction: float, time_cameras: int, tracklet_len: int) -> None:
    if crop_factor <= 0:
        raise ValueError(f"crop_factor must be > 0, got {crop_factor}")
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be in [0, 1], got {min_visibility}")
    if min_height < 1 or min_width < 1 or stride < 1 or time_cameras < 1 or tracklet_len < 1:
        raise ValueError(f"min_height, min_width, stride, time_cameras and tracklet_len must be >= 1, got "
                         f"{min_height}, {min_width}, {stride}, {time_cameras}, {tracklet_len}")
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")


def extract_mot_crops(sequences: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                      crop_factor: float = 1.0, min_visibility: float = 0.5, min_height: int = 50,
                      min_width: int = 15, stride: int = 5, test_fraction: float = 0.5, time_cameras: int = 2,
                      tracklet_len: int = 16, seed: int = 0, jpeg_quality: int = 95, workers: int = 2,
                      progress: bool = False) -> MotCropSummary:
    """Write crops of the ground-truth people of MOTChallenge ``sequences`` to ``out_dir``
    (Market-1501 layout + ``tracklets.json``); see the module docstring for the rules."""
    _validate(crop_factor, min_visibility, min_height, min_width, stride, test_fraction, time_cameras, tracklet_len)
    seqs = [Path(sequences)] if isinstance(sequences, (str, os.PathLike)) else [Path(s) for s in sequences]
    if not seqs:
        raise ValueError("extract_mot_crops: no sequence given")
    out = Path(out_dir).expanduser()
    # pass 1: which crops exist (no image decoding yet)
    crops = []  # (seq index, frame, local id, tlwh, camera 1-based)
    infos = []
    for si, seq in enumerate(seqs):
        if not seq.is_dir():
            raise FileNotFoundError(f"MOT sequence folder not found: {seq}")
        gt_file = seq / "gt" / "gt.txt"
        if not gt_file.is_file():
            raise FileNotFoundError(f"{seq}: no ground truth {gt_file} (crops need gt/gt.txt)")
        info = read_seqinfo(seq, infer_if_missing=True)
        infos.append(info)
        for frame, (tlwh, ids, _vis) in ground_truth_by_frame(gt_file, min_visibility=min_visibility).items():
            if (frame - 1) % stride or frame > info.seq_length:
                continue
            segment = min((frame - 1) * time_cameras // info.seq_length, time_cameras - 1)
            for box, pid in zip(tlwh, ids):
                if box[3] >= min_height and box[2] >= min_width:
                    crops.append((si, int(frame), int(pid), box, si * time_cameras + segment + 1))
    if not crops:
        raise ValueError(f"no ground-truth box in {[str(s) for s in seqs]} passes the filters (min_visibility="
                         f"{min_visibility}, min size {min_height}x{min_width}, stride {stride})")
    local_ids = sorted({(c[0], c[2]) for c in crops})
    global_id = {key: i + 1 for i, key in enumerate(local_ids)}
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(local_ids)) + 1
    n_test = int(round(test_fraction * len(local_ids)))
    if 0 < test_fraction < 1 and len(local_ids) >= 2:
        n_test = min(max(n_test, 1), len(local_ids) - 1)
    test_ids = set(perm[:n_test].tolist())

    records = []  # (global pid, cam, seq index, frame, tlwh)
    for si, frame, lid, box, cam in crops:
        records.append((global_id[(si, lid)], cam, si, frame, box))
    by_pid_cam: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (pid, cam, _, frame, _) in enumerate(records):
        by_pid_cam[(pid, cam)].append(i)
    cams_of: dict[int, set[int]] = defaultdict(set)
    for pid, cam in by_pid_cam:
        cams_of[pid].add(cam)
    split = ["train" if r[0] not in test_ids else "gallery" for r in records]
    for (pid, cam), ix in by_pid_cam.items():
        if pid in test_ids and len(cams_of[pid]) >= 2:
            ix_sorted = sorted(ix, key=lambda i: records[i][3])
            split[ix_sorted[len(ix_sorted) // 2]] = "query"

    for sub in SPLIT_DIRS.values():
        if (out / sub).is_dir():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True, exist_ok=True)
    paths = [out / SPLIT_DIRS[split[i]] / f"{pid:04d}_c{cam}s{si + 1}_{frame:06d}_00.jpg"
             for i, (pid, cam, si, frame, _) in enumerate(records)]
    by_frame: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (_, _, si, frame, _) in enumerate(records):
        by_frame[(si, frame)].append(i)
    image_lists = [frame_paths(info) for info in infos]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]

    def write_frame(key: tuple[int, int]) -> None:
        si, frame = key
        img_path = image_lists[si][frame - 1]
        img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read frame image {img_path}")
        h, w = img.shape[:2]
        for i in by_frame[key]:
            x1, y1, x2, y2 = _crop_box(records[i][4], crop_factor, w, h)
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            if not cv2.imwrite(str(paths[i]), img[y1:y2, x1:x2], params):
                raise OSError(f"cv2.imwrite failed for {paths[i]}")

    keys = sorted(by_frame)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(keys), desc="MOT crops", unit="frame")
    with ThreadPoolExecutor(max_workers=max(int(workers), 1)) as pool:
        for _ in pool.map(write_frame, keys):
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    tracklets: dict[str, list[dict]] = {"train": [], "query": [], "gallery": []}
    for (pid, cam), ix in sorted(by_pid_cam.items()):
        ix = [i for i in sorted(ix, key=lambda i: records[i][3]) if paths[i].is_file()]
        pieces: list[list[int]] = []
        for i in ix:
            if pieces and records[i][3] - records[pieces[-1][-1]][3] <= 2 * stride and len(pieces[-1]) < tracklet_len:
                pieces[-1].append(i)
            else:
                pieces.append([i])
        for piece in pieces:
            splits = {split[i] for i in piece}
            name = "train" if "train" in splits else ("query" if "query" in splits else "gallery")
            tracklets[name].append({"pid": pid, "camid": cam - 1,
                                    "paths": [str(paths[i].relative_to(out)) for i in piece],
                                    "frames": [records[i][3] for i in piece]})
    (out / "tracklets.json").write_text(json.dumps({
        "sequences": [str(s) for s in seqs], "crop_factor": crop_factor, "min_visibility": min_visibility,
        "stride": stride, "time_cameras": time_cameras, "tracklet_len": tracklet_len,
        "tracklets": tracklets}, indent=1) + "\n", encoding="utf-8")
    counts = {s: sum(1 for i, p in enumerate(paths) if split[i] == s and p.is_file()) for s in SPLIT_DIRS}
    return MotCropSummary(out, len(local_ids) - len(test_ids), len(test_ids), counts,
                          {s: len(v) for s, v in tracklets.items()})


def read_tracklets(root: str | os.PathLike) -> dict[str, list[Tracklet]]:
    """``{"train"|"query"|"gallery": [Tracklet]}`` from ``<root>/tracklets.json`` (absolute paths;
    camid 0-based; train pids are the dataset's original ids, relabel them for a classifier)."""
    root = Path(root)
    path = root / "tracklets.json"
    if not path.is_file():
        raise FileNotFoundError(f"no tracklets file {path} (written by extract_mot_crops)")
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return {split: [Tracklet(int(t["pid"]), int(t["camid"]), tuple(str(root / p) for p in t["paths"]),
                                 tuple(int(f) for f in t.get("frames", ())))
                        for t in data["tracklets"].get(split, [])]
                for split in ("train", "query", "gallery")}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed tracklets file ({exc})") from exc


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m reid_training.data.mot_crops SEQ [SEQ ...] --out DIR``; prints a summary."""
    ap = argparse.ArgumentParser(description="Cut ground-truth person crops out of MOTChallenge sequences into "
                                             "a Market-1501-layout ReID dataset (+ tracklets.json).")
    ap.add_argument("sequences", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--crop-factor", type=float, default=1.0)
    ap.add_argument("--min-visibility", type=float, default=0.5)
    ap.add_argument("--min-height", type=int, default=50)
    ap.add_argument("--min-width", type=int, default=15)
    ap.add_argument("--stride", type=int, default=5, help="use every N-th frame")
    ap.add_argument("--test-fraction", type=float, default=0.5)
    ap.add_argument("--time-cameras", type=int, default=2, help="time segments per sequence that act as cameras")
    ap.add_argument("--tracklet-len", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    s = extract_mot_crops(a.sequences, a.out, a.crop_factor, a.min_visibility, a.min_height, a.min_width, a.stride,
                          a.test_fraction, a.time_cameras, a.tracklet_len, a.seed, progress=not a.no_progress)
    print(json.dumps({"out": str(s.out_dir), "train_ids": s.train_ids, "test_ids": s.test_ids,
                      "images": s.images, "tracklets": s.tracklets}))


if __name__ == "__main__":
    main()
