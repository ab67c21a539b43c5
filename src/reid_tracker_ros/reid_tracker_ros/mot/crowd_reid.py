"""A cross-camera ReID set from the second renderer (:mod:`reid_tracker_ros.mot.crowd`).

Market-1501 layout, readable by ``reid_training.data.datasets`` and ``make reid-eval``::

    <out>/bounding_box_train/0001_c1s1_000003_00.jpg   train identities (all cameras)
    <out>/bounding_box_test/...                          gallery of the test identities
    <out>/query/...                                      one query per test identity and camera

Cameras differ in colour cast, brightness, blur, resolution, JPEG quality, background, noise
and viewpoint (the mix of front/back/side views and of walking/standing poses); see
:data:`CAMERAS`. Train and test identities are disjoint. Crops are 64x128 like Market-1501,
taken around the amodal box with jitter; some have a second person partly in front.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from reid_tracker_ros.mot.crowd import (Camera, Look, Pose, draw_person, mask_box, random_look,
                                        render_background)

CROP_W, CROP_H = 64, 128
SET_VERSION = 1


@dataclass(frozen=True)
class CameraStyle:
    """How one camera sees people (colour/optics/viewpoint)."""

    name: str
    cast: tuple[float, float, float]   # BGR gains
    brightness: float
    blur_sigma: float
    render_px: tuple[int, int]          # person height range (px) before resizing to 128
    jpeg_quality: int
    noise_sigma: float
    side_share: float                   # share of side views (the rest front/back)
    stand_share: float                  # share of standing poses
    background: str


CAMERAS: dict[str, CameraStyle] = {
    "c1": CameraStyle("neutral-sharp", (1.0, 1.0, 1.0), 1.05, 0.0, (150, 220), 92, 2.0, 0.2, 0.5, "plaza"),
    "c2": CameraStyle("warm-blurry-lowres", (0.78, 0.95, 1.2), 0.85, 1.0, (64, 100), 75, 4.0, 0.8, 0.2, "asphalt"),
    "c3": CameraStyle("cool-dim-noisy", (1.25, 1.02, 0.8), 0.7, 0.7, (70, 120), 45, 9.0, 0.5, 0.3, "grass"),
}


def render_crop(look: Look, style: CameraStyle, backgrounds: dict[str, np.ndarray], rng: np.random.Generator,
                occluder: Look | None = None) -> np.ndarray:
    """One 64x128 BGR crop of ``look`` as seen by ``style``'s camera."""
    H = float(rng.uniform(*style.render_px))
    side = rng.random() < style.side_share
    lateral = float(rng.choice([-1.0, 1.0]) * (rng.uniform(0.7, 1.0) if side else rng.uniform(0.0, 0.3)))
    stride = 0.0 if rng.random() < style.stand_share else float(rng.uniform(0.6, 1.0))
    pose = Pose(0.0, 0.0, H, lateral, bool(rng.random() < 0.5), float(rng.uniform(0, 2 * np.pi)), stride)
    patch, mask, x0, y0 = draw_person(look, pose)
    l, t, w, h = mask_box(mask, x0, y0)
    # canvas around the person, background from the camera's scene
    pad = int(0.6 * H)
    cw, ch = int(w + 2 * pad), int(h + 2 * pad)
    bg = backgrounds[style.background]
    by = int(rng.integers(0, max(1, bg.shape[0] - ch)))
    bx = int(rng.integers(0, max(1, bg.shape[1] - cw)))
    canvas = cv2.resize(bg[by:by + ch, bx:bx + cw], (cw, ch)) if (bg.shape[0] < ch or bg.shape[1] < cw) \
        else bg[by:by + ch, bx:bx + cw].copy()
    ox, oy = int(pad - l + x0), int(pad - t + y0)
    region = canvas[oy:oy + mask.shape[0], ox:ox + mask.shape[1]]
    region[mask] = patch[mask]
    if occluder is not None:  # a second person partly in front, shifted sideways
        o_pose = Pose(0.0, 0.0, H * rng.uniform(0.9, 1.15), float(rng.uniform(-1, 1)), bool(rng.random() < 0.5),
                      float(rng.uniform(0, 6.28)), 1.0)
        op, om, ox0, oy0 = draw_person(occluder, o_pose)
        shift = int(rng.choice([-1, 1]) * rng.uniform(0.45, 0.8) * w)
        px = int(pad + w / 2 - om.shape[1] / 2 + shift)
        py = int(pad + h - om.shape[0] + 3 + rng.uniform(0.0, 0.15) * h)  # feet a little lower: nearer
        x_lo, y_lo = max(0, px), max(0, py)
        x_hi, y_hi = min(cw, px + om.shape[1]), min(ch, py + om.shape[0])
        if x_hi > x_lo and y_hi > y_lo:
            sub = om[y_lo - py:y_hi - py, x_lo - px:x_hi - px]
            canvas[y_lo:y_hi, x_lo:x_hi][sub] = op[y_lo - py:y_hi - py, x_lo - px:x_hi - px][sub]
    # detector-like crop: jittered box around the amodal box, person aspect 1:2
    cx = pad + w / 2 + rng.normal(0, 0.06) * w
    cy = pad + h / 2 + rng.normal(0, 0.04) * h
    bh = h * rng.uniform(1.02, 1.15)
    bw = bh / 2.0
    M = np.array([[CROP_W / bw, 0, -(cx - bw / 2) * CROP_W / bw], [0, CROP_H / bh, -(cy - bh / 2) * CROP_H / bh]])
    crop = cv2.warpAffine(canvas, M, (CROP_W, CROP_H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    # camera style: colour cast and brightness, blur, sensor noise
    img = crop.astype(np.float32) * (np.array(style.cast, np.float32) * style.brightness * rng.uniform(0.9, 1.1))
    if style.blur_sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), style.blur_sigma)
    img += rng.normal(0, style.noise_sigma, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_reid_set(out: str | Path, n_train: int = 300, n_test: int = 150, cameras: Sequence[str] = ("c1", "c2"),
                   per_camera: int = 4, seed: int = 0, occlusion: float = 0.15, progress: bool = True) -> dict:
    """Write a Market-1501-layout set to ``out``; returns its summary (also ``out/info.json``).

    Every identity appears in every camera: ``per_camera`` images per camera; for test identities
    one of them per camera goes to ``query/`` and the rest to ``bounding_box_test/``.
    """
    bad = [c for c in cameras if c not in CAMERAS]
    if bad or len(cameras) < 2:
        raise ValueError(f"cameras must be >= 2 of {sorted(CAMERAS)}, got {list(cameras)}")
    if per_camera < 2:
        raise ValueError(f"per_camera must be >= 2 (one query + gallery), got {per_camera}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    backgrounds = {}
    for kind in sorted({CAMERAS[c].background for c in cameras}):
        backgrounds[kind] = render_background(Camera(640, 480, 70.0, 3.0, 25.0), kind, rng)
    dirs = {k: out / k for k in ("bounding_box_train", "bounding_box_test", "query")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    counts = {k: 0 for k in dirs}
    total = n_train + n_test
    frame = 0
    for pid in range(1, total + 1):
        look = random_look(rng)
        test = pid > n_train
        for c in cameras:
            cam_no = int(c[1:])
            for k in range(per_camera):
                occ = random_look(rng) if rng.random() < occlusion else None
                crop = render_crop(look, CAMERAS[c], backgrounds, rng, occ)
                frame += int(rng.integers(1, 40))
                split = "bounding_box_train" if not test else ("query" if k == 0 else "bounding_box_test")
                name = f"{pid:04d}_c{cam_no}s1_{frame:06d}_{k:02d}.jpg"
                cv2.imwrite(str(dirs[split] / name), crop, [cv2.IMWRITE_JPEG_QUALITY, CAMERAS[c].jpeg_quality])
                counts[split] += 1
        if progress and (pid % 25 == 0 or pid == total):
            sys.stderr.write(f"\rreid set {out.name}: {pid}/{total} identities")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    info = {"version": SET_VERSION, "seed": seed, "n_train": n_train, "n_test": n_test, "per_camera": per_camera,
            "occlusion": occlusion, "cameras": {c: asdict(CAMERAS[c]) for c in cameras}, "images": counts}
    (out / "info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return info


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Write a cross-camera ReID set (Market-1501 layout) from the second renderer.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--train-ids", type=int, default=300)
    ap.add_argument("--test-ids", type=int, default=150)
    ap.add_argument("--cameras", nargs="+", default=["c1", "c2"], choices=sorted(CAMERAS))
    ap.add_argument("--per-camera", type=int, default=4)
    ap.add_argument("--occlusion", type=float, default=0.15, help="share of crops with a second person in front")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    info = write_reid_set(args.out, args.train_ids, args.test_ids, args.cameras, args.per_camera, args.seed,
                          args.occlusion)
    print(json.dumps({"out": str(args.out), **info["images"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
