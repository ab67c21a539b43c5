"""Synthetic multi-camera person dataset in Market-1501 layout (no download needed).

People come from :mod:`reid_tracker_ros.mot.persons`, the same appearance model the synthetic
MOT sequences use, so a model trained here helps the tracker there. Every "camera" has its
own style, fixed for the dataset:

- colour cast (per-channel gain/offset, gamma, saturation) and per-image brightness;
- optics: resolution (people rendered small and upsampled), blur, sensor noise, JPEG quality;
- geometry: person scale in the crop, detector misalignment (shifted / cut boxes);
- a preferred viewpoint (front, back or side), so matching across cameras means matching
  the front of a person to her back;
- its own backgrounds (a main scene -- street, park, indoor wall, plain -- and two more views
  of the place) and rate of partial occlusion by passers-by, poles or parked objects.

About ``lookalike_fraction`` of the identities copy another identity of the same split except
for one detail (bag, logo, stripes, shoes, hat, back print), so colour statistics alone do
not solve the task. Train and test identities are disjoint. The query set holds one image per
test identity and camera; the rest of the test images form the gallery.

File names follow Market-1501: ``<pid:04d>_c<cam>s1_<frame:06d>_00.jpg`` (cameras 1-based),
distractors (people outside both splits) use pid 0000. ``synthetic_persons.json`` beside the
folders records the parameters, the split and which identities are look-alikes of which.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reid_tracker_ros.mot.persons import Appearance, make_appearance, make_population, render_person

_VIEW_NAMES = ("front", "back", "side")
_BG_KINDS = ("street", "park", "indoor", "plain")
BACKGROUNDS_PER_CAMERA = 3  # one camera sees several scenes, so background alone does not name it


@dataclass(frozen=True)
class CameraStyle:
    """Fixed rendering style of one synthetic camera."""

    gain: tuple[float, float, float]  # BGR multipliers
    offset: tuple[float, float, float]  # BGR offsets (0..255 scale)
    gamma: float
    saturation: float
    resolution: float  # people are rendered at this fraction of the crop size, then upsampled
    blur_sigma: float
    noise_sigma: float
    jpeg_quality: int
    scale: float  # mean person height as a fraction of the crop height
    view_probs: tuple[float, float, float]  # front, back, side
    occlusion_prob: float
    background: str  # main scene, one of _BG_KINDS


def make_camera_styles(cameras: int, seed: int) -> list[CameraStyle]:
    """Camera ``c`` prefers view ``c % 3`` (front, back, side) and gets random optics."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7919]))
    styles = []
    for c in range(cameras):
        probs = np.full(3, 0.2)
        probs[c % 3] = 0.6
        styles.append(CameraStyle(
            gain=tuple(float(v) for v in np.exp(rng.normal(0, 0.08, 3))),
            offset=tuple(float(v) for v in rng.normal(0, 5, 3)),
            gamma=float(rng.uniform(0.85, 1.2)),
            saturation=float(rng.uniform(0.7, 1.15)),
            resolution=float(rng.uniform(0.3, 0.9)) if c % 2 else float(rng.uniform(0.6, 1.0)),
            blur_sigma=float(rng.uniform(0.0, 1.3)),
            noise_sigma=float(rng.uniform(1.0, 6.0)),
            jpeg_quality=int(rng.integers(60, 96)),
            scale=float(rng.uniform(0.8, 0.92)),
            view_probs=tuple(float(v) for v in probs),
            occlusion_prob=float(rng.uniform(0.1, 0.35)),
            background=_BG_KINDS[(c + int(rng.integers(4))) % 4],
        ))
    return styles


def _render_background(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A (h, w, 3) uint8 scene texture; crops of it serve as image backgrounds."""
    base = rng.uniform(60, 190, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    if kind == "street":
        horizon = int(h * rng.uniform(0.45, 0.65))
        img[horizon:] = rng.uniform(70, 140, 3)
        step = int(rng.integers(24, 48))
        for x in range(int(rng.integers(step)), w, step * 2):  # windows
            for y in range(8, horizon - step, int(step * 1.5)):
                cv2.rectangle(img, (x, y), (x + step, y + int(step * 1.2)), tuple(float(v) for v in base * 0.5), -1)
        for y in range(horizon, h, int(rng.integers(12, 30))):  # paving
            cv2.line(img, (0, y), (w, y), tuple(float(v) for v in img[h - 1, 0] * 0.75), 1)
    elif kind == "park":
        img[:] = (60, 130, 70) + rng.normal(0, 15, 3)
        for _ in range(40):
            c = (int(rng.integers(w)), int(rng.integers(h)))
            leaf = tuple(float(v) for v in (40, 100, 50) + rng.normal(0, 25, 3))
            cv2.circle(img, c, int(rng.integers(8, 40)), leaf, -1)
    elif kind == "indoor":
        floor = int(h * rng.uniform(0.55, 0.7))
        img[floor:] = rng.uniform(90, 200, 3)
        tile = int(rng.integers(20, 40))
        for x in range(0, w, tile):
            cv2.line(img, (x, floor), (x, h), tuple(float(v) for v in img[h - 1, 0] * 0.8), 1)
        for x in range(int(rng.integers(60)), w, int(rng.integers(80, 160))):  # doors / posters
            cv2.rectangle(img, (x, floor - int(h * 0.4)), (x + int(rng.integers(30, 60)), floor),
                          tuple(float(v) for v in rng.uniform(40, 220, 3)), -1)
    # low-frequency shading: mostly brightness, a little colour
    shape = (max(h // 16, 2), max(w // 16, 2))
    small = (rng.normal(0, 14, shape + (1,)) + rng.normal(0, 4, shape + (3,))).astype(np.float32)
    img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, patch: np.ndarray, x0: int, y0: int) -> None:
    """Alpha-paste a BGRA patch into a BGR canvas at (x0, y0) (clipped to the canvas)."""
    H, W = canvas.shape[:2]
    ph, pw = patch.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, H)
    if xa >= xb or ya >= yb:
        return
    sub = patch[ya - y0:yb - y0, xa - x0:xb - x0]
    np.copyto(canvas[ya:yb, xa:xb], sub[..., :3], where=sub[..., 3:] > 0)


def _occlude(canvas: np.ndarray, rng: np.random.Generator, passerby: Appearance) -> None:
    """Partial occlusion: a passer-by at one side, a pole, or an object over the lower body."""
    H, W = canvas.shape[:2]
    kind = rng.random()
    if kind < 0.45:
        patch = render_person(passerby, H * rng.uniform(0.85, 1.1), rng.uniform(0, 2 * math.pi),
                              bool(rng.random() < 0.5), str(rng.choice(_VIEW_NAMES)))
        side = 1 if rng.random() < 0.5 else -1
        cx = W / 2 + side * W * rng.uniform(0.45, 0.7)
        _paste(canvas, patch, int(cx - patch.shape[1] / 2), int(H - patch.shape[0] + rng.integers(0, H // 12 + 1)))
    elif kind < 0.7:
        pw = int(W * rng.uniform(0.08, 0.2))
        x = int(rng.uniform(0, W - pw))
        col = tuple(float(v) for v in rng.uniform(30, 120, 3))
        cv2.rectangle(canvas, (x, 0), (x + pw, H), col, -1)
    else:
        top = int(H * rng.uniform(0.55, 0.8))
        x0, x1 = (0, int(W * rng.uniform(0.5, 1.0))) if rng.random() < 0.5 else (int(W * rng.uniform(0.0, 0.5)), W)
        col = np.clip(rng.uniform(20, 230, 3), 0, 255)
        cv2.rectangle(canvas, (x0, top), (x1, H), tuple(float(v) for v in col), -1)
        cv2.rectangle(canvas, (x0, top), (x1, top + max(H // 40, 2)), tuple(float(v) for v in col * 0.6), -1)


def _camera_lut(style: CameraStyle) -> np.ndarray:
    """(1, 256, 3) uint8 table: gamma, per-channel gain and offset of one camera in one lookup."""
    v = (np.arange(256, dtype=np.float64) / 255.0) ** style.gamma
    lut = v[:, None] * np.asarray(style.gain)[None, :] * 255.0 + np.asarray(style.offset)[None, :]
    return np.clip(np.round(lut), 0, 255).astype(np.uint8)[None]


def _apply_camera(img: np.ndarray, style: CameraStyle, rng: np.random.Generator,
                  lut: np.ndarray | None = None) -> np.ndarray:
    """Resolution loss, saturation, colour cast, lighting, blur and sensor noise of one camera."""
    H, W = img.shape[:2]
    res = float(np.clip(style.resolution * rng.uniform(0.85, 1.15), 0.2, 1.0))
    if res < 0.98:
        small = cv2.resize(img, (max(int(W * res), 8), max(int(H * res), 16)), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    img = cv2.addWeighted(img, style.saturation, grey, 1.0 - style.saturation, 0.0)
    img = cv2.LUT(img, _camera_lut(style) if lut is None else lut)
    sigma = style.blur_sigma * rng.uniform(0.7, 1.3)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    light = rng.uniform(0.8, 1.2) * (1.0 + rng.uniform(-0.15, 0.15) * np.linspace(-1, 1, H, dtype=np.float32))
    x = img.astype(np.float32)
    x *= light[:, None, None]
    x += rng.standard_normal((H, W, 1), dtype=np.float32) * np.float32(style.noise_sigma)
    return np.clip(x, 0, 255, out=x).astype(np.uint8)


def render_crop(app: Appearance, style: CameraStyle, background: np.ndarray | list[np.ndarray], height: int,
                width: int, rng: np.random.Generator, passerby: Appearance,
                lut: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """One (height, width, 3) BGR person crop of ``app`` seen by a camera; returns (crop, view).
    ``background``: one scene texture or a list to pick from."""
    view = str(rng.choice(_VIEW_NAMES, p=style.view_probs))
    if isinstance(background, list):
        background = background[int(rng.integers(len(background)))]
    bh, bw = background.shape[:2]
    y, x = int(rng.integers(0, bh - height + 1)), int(rng.integers(0, bw - width + 1))
    canvas = background[y:y + height, x:x + width].copy()
    if rng.random() < 0.5:
        canvas = np.ascontiguousarray(canvas[:, ::-1])
    person_h = height * float(np.clip(style.scale + rng.normal(0, 0.04), 0.7, 1.05))
    patch = render_person(app, person_h, rng.uniform(0, 2 * math.pi), bool(rng.random() < 0.5), view)
    cx = width / 2 + rng.normal(0, 0.06 * width)
    foot = height - rng.uniform(0, 0.06) * height
    _paste(canvas, patch, int(round(cx - patch.shape[1] / 2)), int(round(foot - patch.shape[0])))
    if rng.random() < style.occlusion_prob:
        _occlude(canvas, rng, passerby)
    return _apply_camera(canvas, style, rng, lut), view


def _validate(out_dir: Path, num_ids: int, images_per_id_per_cam: int, cameras: int, height: int, width: int,
              train_fraction: float, lookalike_fraction: float, distractors: int) -> None:
    if num_ids < 2:
        raise ValueError(f"generate_synthetic_persons: num_ids must be >= 2 (train and test need one each), "
                         f"got {num_ids}")
    if cameras < 2:
        raise ValueError(f"generate_synthetic_persons: cameras must be >= 2 (queries match across cameras), "
                         f"got {cameras}")
    if images_per_id_per_cam < 1:
        raise ValueError(f"generate_synthetic_persons: images_per_id_per_cam must be >= 1, got {images_per_id_per_cam}")
    if height < 32 or width < 16:
        raise ValueError(f"generate_synthetic_persons: crops must be at least 32x16, got {height}x{width}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"generate_synthetic_persons: train_fraction must be in (0, 1), got {train_fraction}")
    if not 0.0 <= lookalike_fraction <= 1.0:
        raise ValueError(f"generate_synthetic_persons: lookalike_fraction must be in [0, 1], got {lookalike_fraction}")
    if distractors < 0:
        raise ValueError(f"generate_synthetic_persons: distractors must be >= 0, got {distractors}")
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"generate_synthetic_persons: output path is a file: {out_dir}")


def generate_synthetic_persons(out_dir: str | os.PathLike, num_ids: int = 200, images_per_id_per_cam: int = 4,
                               cameras: int = 4, height: int = 256, width: int = 128, seed: int = 0,
                               train_fraction: float = 0.5, lookalike_fraction: float = 0.3,
                               distractors: int = 0, workers: int = 2, overwrite: bool = True,
                               progress: bool = False) -> Path:
    """Write a Market-1501-layout dataset to ``out_dir`` and return ``out_dir``.

    Identities ``1..n_train`` (``n_train = round(num_ids * train_fraction)``) go to
    ``bounding_box_train/``, the rest to ``query/`` + ``bounding_box_test/``; ``distractors``
    extra images of unrelated people (pid 0) join the gallery. Deterministic in all arguments
    except ``workers``/``progress`` (one random stream per identity and camera).
    """
    out = Path(out_dir).expanduser()
    _validate(out, num_ids, images_per_id_per_cam, cameras, height, width, train_fraction,
              lookalike_fraction, distractors)
    n_train = min(max(int(round(num_ids * train_fraction)), 1), num_ids - 1)
    for sub in ("bounding_box_train", "bounding_box_test", "query"):
        if overwrite and (out / sub).is_dir():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True, exist_ok=True)

    root_seq = np.random.SeedSequence(seed)
    pop_train_ss, pop_test_ss, bg_ss, extra_ss = root_seq.spawn(4)
    train_apps, train_orig = make_population(n_train, np.random.default_rng(pop_train_ss), lookalike_fraction)
    test_apps, test_orig = make_population(num_ids - n_train, np.random.default_rng(pop_test_ss),
                                           lookalike_fraction, first_index=n_train)
    apps = train_apps + test_apps
    styles = make_camera_styles(cameras, seed)
    backgrounds = []
    for st, ss in zip(styles, bg_ss.spawn(cameras)):
        r = np.random.default_rng(ss)
        kinds = [st.background] + [str(r.choice(_BG_KINDS)) for _ in range(BACKGROUNDS_PER_CAMERA - 1)]
        backgrounds.append([_render_background(k, 2 * height, 3 * width, r) for k in kinds])
    luts = [_camera_lut(st) for st in styles]

    def person_job(pid: int) -> int:
        app = apps[pid - 1]
        split = "bounding_box_train" if pid <= n_train else "bounding_box_test"
        rng_pid = np.random.default_rng(np.random.SeedSequence([seed, pid]))
        cams = list(range(cameras))
        query_cams = cams if images_per_id_per_cam >= 2 else [pid % cameras]
        written = 0
        for cam in cams:
            rng = np.random.default_rng(np.random.SeedSequence([seed, pid, cam, 1]))
            query_k = int(rng.integers(images_per_id_per_cam)) if (split != "bounding_box_train"
                                                                   and cam in query_cams) else -1
            for k in range(images_per_id_per_cam):
                passer = make_appearance(int(rng_pid.integers(1 << 30)), rng)
                crop, _ = render_crop(app, styles[cam], backgrounds[cam], height, width, rng, passer, luts[cam])
                folder = "query" if k == query_k else split
                name = f"{pid:04d}_c{cam + 1}s1_{k * 25 + int(rng.integers(25)) + 1:06d}_00.jpg"
                quality = [cv2.IMWRITE_JPEG_QUALITY, styles[cam].jpeg_quality]
                if not cv2.imwrite(str(out / folder / name), crop, quality):
                    raise OSError(f"cv2.imwrite failed for {out / folder / name}")
                written += 1
        return written

    def distractor_job(i: int) -> int:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0, i, 2]))
        cam = int(rng.integers(cameras))
        app = make_appearance(int(rng.integers(1 << 30)), rng)
        crop, _ = render_crop(app, styles[cam], backgrounds[cam], height, width, rng,
                              make_appearance(int(rng.integers(1 << 30)), rng), luts[cam])
        name = out / "bounding_box_test" / f"0000_c{cam + 1}s1_{i + 1:06d}_00.jpg"
        if not cv2.imwrite(str(name), crop, [cv2.IMWRITE_JPEG_QUALITY, styles[cam].jpeg_quality]):
            raise OSError(f"cv2.imwrite failed for {name}")
        return 1

    jobs = [(person_job, pid) for pid in range(1, num_ids + 1)] + [(distractor_job, i) for i in range(distractors)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="synthetic persons", unit="id")
    # cv2 drawing, resizing and JPEG encoding release the GIL: threads keep both cores busy
    with ThreadPoolExecutor(max_workers=max(int(workers), 1)) as pool:
        for _ in pool.map(lambda job: job[0](job[1]), jobs):
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    lookalikes = {}
    for offset, origins in ((0, train_orig), (n_train, test_orig)):
        for i, origin in enumerate(origins):
            if origin is not None:
                lookalikes[str(offset + i + 1)] = {"of": offset + origin[0] + 1, "detail": origin[1]}
    meta = {
        "generator": "reid_training.data.synthetic", "seed": seed, "num_ids": num_ids,
        "images_per_id_per_cam": images_per_id_per_cam, "cameras": cameras, "height": height, "width": width,
        "train_ids": [1, n_train], "test_ids": [n_train + 1, num_ids], "distractors": distractors,
        "lookalike_fraction": lookalike_fraction, "lookalikes": lookalikes,
        "camera_styles": [vars(s) for s in styles],
    }
    (out / "synthetic_persons.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m reid_training.data.synthetic OUT_DIR [--ids N ...]``; prints OUT_DIR."""
    ap = argparse.ArgumentParser(description="Write a synthetic multi-camera person dataset in Market-1501 layout.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--ids", type=int, default=200, help="identities in total (train + test)")
    ap.add_argument("--images", type=int, default=4, help="images per identity and camera")
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-fraction", type=float, default=0.5)
    ap.add_argument("--lookalike-fraction", type=float, default=0.3)
    ap.add_argument("--distractors", type=int, default=0, help="extra gallery images of unrelated people (pid 0)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    out = generate_synthetic_persons(args.out_dir, args.ids, args.images, args.cameras, args.height, args.width,
                                     args.seed, args.train_fraction, args.lookalike_fraction, args.distractors,
                                     args.workers, progress=not args.no_progress)
    print(out)


if __name__ == "__main__":
    main()
