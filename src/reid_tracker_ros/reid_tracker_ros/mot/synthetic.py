"""Synthetic MOTChallenge sequences: rendered pedestrians with ground truth and noisy detections.

Why: tests and demos need a MOT folder with known identities, occlusions, people leaving and
re-entering (re-identification) and camera shake, without downloading MOT17 or running a model.
Everything is drawn with OpenCV primitives on a pre-rendered background, so a 300-frame 960x540
sequence takes a few seconds.

Scene model: a pinhole camera at height ``CAMERA_HEIGHT_M`` looks horizontally over a flat ground
plane (horizon at 30 % of the image height). People walk on the plane in metres at 1.1-1.9 m/s,
so their pixel height shrinks with distance (``h = f * H_person / Z``) and nearer people occlude
farther ones. Every person keeps one id and one appearance (clothes, hair, bag...) for the whole
sequence, leaves the view and may come back later from either side. People are drawn by
:mod:`.persons`, the same appearance model as the synthetic ReID dataset (``reid_training``), and
about a fifth of them are look-alikes of another person that differ in one detail.

Ground truth (``gt/gt.txt``, MOT16 layout) holds the tight box of each rendered silhouette (which
may extend past the image border), consider flag 1, class 1 and the visible fraction of the
silhouette (occlusion by nearer people/props and the image border both reduce it). Coordinates are
0-based pixels, the same frame of reference a detector uses on the images.
"""
from __future__ import annotations

import argparse
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reid_tracker_ros.mot.io import SequenceInfo, write_seqinfo
from reid_tracker_ros.mot.persons import Appearance, make_population, render_person

__all__ = ["Appearance", "generate_sequence", "main", "render_person"]

CAMERA_HEIGHT_M = 3.0
HORIZON_FRAC = 0.30  # horizon row as a fraction of the image height
FAR_PERSON_FRAC = 0.13  # pixel height of a 1.75 m person at the far limit, fraction of image height
_STEP_CYCLE_M = 1.4  # distance covered by one full gait cycle (two steps)
_MARGIN_M = 0.7  # how far outside the view paths start/end, so people enter fully hidden
LOOKALIKE_FRACTION = 0.2  # share of people dressed like another one except for one detail
# Bumped whenever rendering changes, so cached sequences (demo, benchmarks) are made anew.
GENERATOR_VERSION = 2  # 2: the person model of mot/persons.py (look-alikes, views)
GENERATOR_STAMP = "generator_version.txt"


# --------------------------------------------------------------------------------------------
# Camera and appearance


@dataclass(frozen=True)
class _Camera:
    width: int
    height: int

    @property
    def f(self) -> float:
        return float(self.width)

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def horizon(self) -> float:
        return HORIZON_FRAC * self.height

    @property
    def z_near(self) -> float:
        """Depth at which feet touch the bottom image row."""
        return self.f * CAMERA_HEIGHT_M / (self.height - self.horizon)

    @property
    def z_far(self) -> float:
        return self.f * 1.75 / (FAR_PERSON_FRAC * self.height)

    def half_width_m(self, z: float) -> float:
        """Half of the visible ground width (metres) at depth ``z``."""
        return self.cx * z / self.f

    def project(self, x: float, z: float, height_m: float) -> tuple[float, float, float]:
        """World foot point -> (foot_x px, foot_y px, person height px)."""
        return self.cx + self.f * x / z, self.horizon + self.f * CAMERA_HEIGHT_M / z, self.f * height_m / z

    def sample_depth(self, rng: np.random.Generator) -> float:
        """Depth with feet uniformly distributed in image rows (nearer people are more common)."""
        inv = rng.uniform(1.0 / self.z_far, 1.0 / (self.z_near * 1.05))
        return 1.0 / inv


def _make_people_appearances(n: int, rng: np.random.Generator) -> list[Appearance]:
    """The sequence's people: like the ReID training data, some are look-alikes of another
    person that differ in one detail (bag, logo, stripes, shoes...), so appearance matters."""
    return make_population(n, rng, lookalike_fraction=LOOKALIKE_FRACTION)[0]


# --------------------------------------------------------------------------------------------
# Motion


@dataclass
class _Visit:
    """One walk through the view along straight segments at constant speed."""

    t0: float  # frame index (0-based) at which the walk starts (outside the view)
    points: np.ndarray  # (K, 2) ground points (x, z) in metres
    speed: float  # metres per frame

    def __post_init__(self) -> None:
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def duration(self) -> float:
        return self.cum[-1] / self.speed

    def state(self, t: float) -> tuple[float, float, float, float] | None:
        """(x, z, dx, walked metres) at frame ``t`` or None outside the walk."""
        d = (t - self.t0) * self.speed
        if d < 0 or d > self.cum[-1]:
            return None
        k = min(int(np.searchsorted(self.cum, d, side="right")) - 1, len(self.points) - 2)
        a, b = self.points[k], self.points[k + 1]
        u = (d - self.cum[k]) / max(self.cum[k + 1] - self.cum[k], 1e-9)
        x, z = a + u * (b - a)
        return float(x), float(z), float(b[0] - a[0]), d


def _plan_path(cam: _Camera, rng: np.random.Generator) -> np.ndarray:
    """Ground waypoints from one side of the view to the other (or in and back out)."""
    side = float(rng.choice([-1.0, 1.0]))
    za = cam.sample_depth(rng)
    start = (side * (cam.half_width_m(za) + _MARGIN_M), za)
    if rng.random() < 0.65:  # cross the view, drifting in depth
        zb = float(np.clip(cam.sample_depth(rng), za / 1.6, za * 1.6))
        zb = float(np.clip(zb, cam.z_near * 0.95, cam.z_far))
        end = (-side * (cam.half_width_m(zb) + _MARGIN_M), zb)
        mid_z = float(np.clip(0.5 * (za + zb) * rng.uniform(0.85, 1.15), cam.z_near * 0.95, cam.z_far))
        mid = (0.5 * (start[0] + end[0]) + rng.normal(0, 0.5), mid_z)
        return np.array([start, mid, end])
    # walk in, turn somewhere in the view, leave on the same side
    zt = cam.sample_depth(rng)
    turn = (side * cam.half_width_m(zt) * rng.uniform(-0.5, 0.5), zt)
    zc = cam.sample_depth(rng)
    end = (side * (cam.half_width_m(zc) + _MARGIN_M), zc)
    return np.array([start, turn, end])


def _plan_visits(cam: _Camera, frames: int, fps: float, rng: np.random.Generator) -> list[_Visit]:
    """Visits of one identity: the first one overlaps the start, later ones follow after gaps."""
    visits: list[_Visit] = []
    t = None
    while True:
        v = _Visit(0.0, _plan_path(cam, rng), rng.uniform(1.1, 1.9) / fps)
        if t is None:  # first visit: somewhere between mid-walk at frame 0 and 30 % in
            t = rng.uniform(-0.7 * v.duration, 0.3 * frames)
        v.t0 = float(t)
        visits.append(v)
        t = v.t0 + v.duration + rng.uniform(0.5, 4.0) * fps
        if t >= frames:
            return visits


# --------------------------------------------------------------------------------------------
# Background and props


def _render_background(cam: _Camera, pad: int, rng: np.random.Generator) -> np.ndarray:
    """Facade with windows above the horizon, perspective paving below, plus texture noise.

    Rendered ``pad`` pixels larger on every side so camera jitter can crop it.
    """
    W, H = cam.width + 2 * pad, cam.height + 2 * pad
    y0 = int(round(cam.horizon)) + pad
    bg = np.empty((H, W, 3), np.float32)
    bg[:y0] = rng.uniform(120, 170, 3).astype(np.float32)  # facade
    rows = np.arange(H - y0, dtype=np.float32)[:, None] / max(H - y0, 1)
    ground = rng.uniform(95, 130, 3).astype(np.float32)
    bg[y0:] = ground * (0.85 + 0.3 * rows[..., None])
    img = bg.astype(np.uint8)
    # windows and doors
    win = np.clip(bg[0, 0] * np.array([0.55, 0.5, 0.45]), 0, 255).astype(int)
    ww = max(cam.width // 24, 6)
    for wx in range(pad + ww // 2, W - ww, int(ww * 2.2)):
        for wy in range(pad + 8, y0 - ww * 2, int(ww * 2.0)):
            cv2.rectangle(img, (wx, wy), (wx + ww, wy + int(ww * 1.3)), tuple(int(c) for c in win), -1)
            cv2.rectangle(img, (wx, wy), (wx + ww, wy + int(ww * 1.3)), (200, 200, 200), 1)
    cv2.line(img, (0, y0), (W, y0), (70, 70, 70), max(2, cam.height // 150))
    # paving: rows at constant ground spacing and lines converging to the vanishing point
    cx = cam.cx + pad
    line_col = tuple(int(c) for c in (ground * 0.7))
    for z in np.arange(cam.z_near * 0.4, cam.z_far * 3, 1.5):
        y = int(round(cam.horizon + cam.f * CAMERA_HEIGHT_M / z)) + pad
        if y0 < y < H:
            cv2.line(img, (0, y), (W, y), line_col, 1)
    z_lo, z_hi = cam.z_near * 0.3, cam.z_far * 4
    for x in np.arange(-60.0, 60.0, 1.5):
        p1 = (int(cx + cam.f * x / z_hi), int(cam.horizon + cam.f * CAMERA_HEIGHT_M / z_hi) + pad)
        p2 = (int(cx + cam.f * x / z_lo), int(cam.horizon + cam.f * CAMERA_HEIGHT_M / z_lo) + pad)
        cv2.line(img, p1, p2, line_col, 1)
    # low-frequency blotches and fine grain
    small = (max(W // 24, 2), max(H // 24, 2))
    low = rng.normal(0, 12, (small[1], small[0], 1)) + rng.normal(0, 3, (small[1], small[0], 3))
    low = cv2.resize(low.astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 4, (H, W, 1)).astype(np.float32)
    return np.clip(img.astype(np.float32) + low + grain, 0, 255).astype(np.uint8)


@dataclass
class _Prop:
    """Static occluder (lamp post or planter) standing on the ground plane."""

    x: float
    z: float
    patch: np.ndarray  # BGRA
    foot: tuple[float, float]


def _make_props(cam: _Camera, n: int, rng: np.random.Generator) -> list[_Prop]:
    props = []
    for i in range(n):
        z = rng.uniform(cam.z_near * 1.1, cam.z_far * 0.6)
        x = cam.half_width_m(z) * rng.uniform(-0.7, 0.7)
        fx, fy, _ = cam.project(x, z, 1.0)
        unit = cam.f / z  # pixels per metre at this depth
        if i % 2 == 0:  # lamp post 4 m
            h, w = int(4.0 * unit), max(int(0.14 * unit), 3)
            patch = np.zeros((h, max(int(0.5 * unit), w + 2), 4), np.uint8)
            c = patch.shape[1] // 2
            cv2.rectangle(patch, (c - w // 2, int(0.05 * h)), (c + w // 2, h - 1), (60, 65, 70, 255), -1)
            cv2.rectangle(patch, (0, 0), (patch.shape[1] - 1, int(0.06 * h)), (40, 200, 230, 255), -1)
        else:  # planter 1.6 m x 0.9 m with a shrub on top
            h, w = int(0.9 * unit), int(1.6 * unit)
            patch = np.zeros((h, w, 4), np.uint8)
            cv2.rectangle(patch, (0, int(0.35 * h)), (w - 1, h - 1), (90, 110, 140, 255), -1)
            cv2.ellipse(patch, (w // 2, int(0.35 * h)), (w // 2 - 1, int(0.3 * h)), 0, 180, 360,
                        (40, 120, 50, 255), -1)
        props.append(_Prop(x, z, patch, (fx, fy)))
    return props


# --------------------------------------------------------------------------------------------
# Generator


def _camera_offsets(frames: int, sigma: float, pad: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, 2) integer image shifts: an AR(1) process, smooth like a hand-held/swaying mount."""
    out = np.zeros((frames, 2), np.int64)
    if sigma <= 0:
        return out
    a = 0.85
    o = rng.normal(0, sigma, 2)
    noise = rng.normal(0, sigma * math.sqrt(1 - a * a), (frames, 2))
    for t in range(frames):
        o = a * o + noise[t]
        out[t] = np.clip(np.round(o), -pad, pad)
    return out


def _composite(frame: np.ndarray, label: np.ndarray, patch: np.ndarray, x0: int, y0: int,
               value: int) -> tuple[int, tuple[int, int, int, int] | None]:
    """Paste a BGRA patch at (x0, y0); returns (silhouette pixels, in-image bbox of the patch)."""
    ph, pw = patch.shape[:2]
    H, W = label.shape
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, H)
    if xa >= xb or ya >= yb:
        return 0, None
    sub = patch[ya - y0:yb - y0, xa - x0:xb - x0]
    mask = sub[..., 3] > 0
    np.copyto(frame[ya:yb, xa:xb], sub[..., :3], where=mask[..., None])
    label[ya:yb, xa:xb][mask] = value
    return int(np.count_nonzero(mask)), (xa, ya, xb, yb)


def is_current(seq_dir: str | Path, frames: int) -> bool:
    """Whether ``seq_dir`` is a complete sequence of ``frames`` frames by this generator version."""
    seq_dir = Path(seq_dir)
    stamp = seq_dir / GENERATOR_STAMP
    return (stamp.is_file() and stamp.read_text().strip() == str(GENERATOR_VERSION)
            and (seq_dir / "gt" / "gt.txt").is_file()
            and len(list((seq_dir / "img1").glob("*.jpg"))) == frames)


def generate_sequence(out_dir: str | Path, name: str = "SYNTH-01", frames: int = 300, width: int = 960,
                      height: int = 540, n_people: int = 8, seed: int = 0, fps: float = 30,
                      camera_jitter: float = 2.0, det_noise: float = 0.05, miss_rate: float = 0.08,
                      fp_rate: float = 0.3, n_props: int = 2, jpeg_quality: int = 90) -> Path:
    """Write a MOTChallenge folder ``<out_dir>/<name>`` and return its path.

    ``det_noise``: std of public-detection box jitter as a fraction of box size; ``miss_rate``:
    probability that a well-visible person is missed (partly occluded people are missed more);
    ``fp_rate``: mean number of false positives per frame; ``camera_jitter``: std (px) of the
    global image shift. Output is a deterministic function of all arguments.
    """
    if frames < 1:
        raise ValueError(f"generate_sequence: frames must be >= 1, got {frames}")
    if width < 64 or height < 64:
        raise ValueError(f"generate_sequence: image must be at least 64x64, got {width}x{height}")
    if not 0 <= n_people <= 200:
        raise ValueError(f"generate_sequence: n_people must be in 0..200, got {n_people}")
    if not 0.0 <= miss_rate <= 1.0:
        raise ValueError(f"generate_sequence: miss_rate must be in [0, 1], got {miss_rate}")
    if fps <= 0 or det_noise < 0 or fp_rate < 0 or camera_jitter < 0:
        raise ValueError(f"generate_sequence: fps must be > 0 and det_noise/fp_rate/camera_jitter >= 0, "
                         f"got fps={fps}, det_noise={det_noise}, fp_rate={fp_rate}, camera_jitter={camera_jitter}")

    seq_dir = Path(out_dir) / name
    img_dir = seq_dir / "img1"
    for sub in (img_dir, seq_dir / "gt", seq_dir / "det"):
        sub.mkdir(parents=True, exist_ok=True)
    # one random stream per concern: e.g. changing the detection noise, the jitter or the number
    # of props leaves the people (appearance and paths) unchanged
    people_rng, bg_rng, prop_rng, cam_rng, det_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    cam = _Camera(width, height)
    pad = max(2, int(math.ceil(4 * camera_jitter)))
    appearances = _make_people_appearances(n_people, people_rng)
    people = [(pid, app, _plan_visits(cam, frames, fps, people_rng)) for pid, app in enumerate(appearances, 1)]
    background = _render_background(cam, pad, bg_rng)
    props = _make_props(cam, n_props, prop_rng)
    offsets = _camera_offsets(frames, camera_jitter, pad, cam_rng)
    label = np.zeros((height, width), np.uint16)  # slot per drawn object
    gt_lines: list[str] = []
    det_lines: list[str] = []
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]

    with ThreadPoolExecutor(max_workers=2) as pool:  # JPEG encoding overlaps rendering
        pending = []
        for t in range(frames):
            dx, dy = (int(v) for v in offsets[t])
            frame = background[pad - dy:pad - dy + height, pad - dx:pad - dx + width].copy()
            label.fill(0)
            items = []  # (depth, kind, payload)
            for pid, app, visits in people:
                for visit in visits:
                    st = visit.state(float(t))
                    if st is None:
                        continue
                    x, z, vx, walked = st
                    fx, fy, hpx = cam.project(x, z, app.height_m)
                    if fx + hpx < 0 or fx - hpx > width:  # far outside: skip rendering
                        break
                    items.append((z, 0, (pid, app, fx, fy, hpx, walked, vx >= 0)))
                    break
            for prop in props:
                items.append((prop.z, 1, prop))
            items.sort(key=lambda it: -it[0])  # far to near
            drawn = []
            for slot, (_, kind, payload) in enumerate(items, start=1):
                if kind == 1:
                    patch = payload.patch
                    x0 = int(round(payload.foot[0] - patch.shape[1] / 2)) + dx
                    y0 = int(round(payload.foot[1] - patch.shape[0])) + dy
                    _composite(frame, label, patch, x0, y0, slot)
                    continue
                pid, app, fx, fy, hpx, walked, right = payload
                patch = render_person(app, hpx, 2 * math.pi * walked / _STEP_CYCLE_M, right)
                x0 = int(round(fx - patch.shape[1] / 2)) + dx
                y0 = int(round(fy - patch.shape[0])) + dy
                n_in, roi = _composite(frame, label, patch, x0, y0, slot)
                if n_in == 0:
                    continue
                bx, by, bw, bh = cv2.boundingRect(patch[..., 3])
                total = int(np.count_nonzero(patch[..., 3]))
                drawn.append((pid, slot, roi, total, (x0 + bx, y0 + by, bw, bh)))
            frame_no = t + 1
            for pid, slot, (xa, ya, xb, yb), total, (l, tp, w, h) in sorted(drawn):
                visible = int(np.count_nonzero(label[ya:yb, xa:xb] == slot))
                vis = visible / max(total, 1)
                gt_lines.append(f"{frame_no},{pid},{l},{tp},{w},{h},1,1,{vis:.4f}\n")
                det = _noisy_detection((l, tp, w, h), vis, width, height, det_noise, miss_rate, det_rng)
                if det is not None:
                    det_lines.append(_det_line(frame_no, det))
            for _ in range(det_rng.poisson(fp_rate)):
                det_lines.append(_det_line(frame_no, _false_positive(cam, det_rng)))
            path = img_dir / f"{frame_no:06d}.jpg"
            pending.append(pool.submit(cv2.imwrite, str(path), frame, params))
            if len(pending) > 8:
                _check_written(pending.pop(0))
        for fut in pending:
            _check_written(fut)

    (seq_dir / "gt" / "gt.txt").write_text("".join(gt_lines), encoding="utf-8")
    (seq_dir / "det" / "det.txt").write_text("".join(det_lines), encoding="utf-8")
    write_seqinfo(SequenceInfo(name, float(fps), frames, width, height, ".jpg", "img1", seq_dir))
    (seq_dir / GENERATOR_STAMP).write_text(f"{GENERATOR_VERSION}\n")
    return seq_dir


def _check_written(fut) -> None:
    if not fut.result():
        raise OSError("cv2.imwrite failed while writing a synthetic frame")


def _noisy_detection(box: tuple[int, int, int, int], vis: float, width: int, height: int, noise: float,
                     miss_rate: float, rng: np.random.Generator) -> tuple[float, ...] | None:
    """Public detection of one gt box: clipped to the image, jittered, sometimes missed."""
    p_detect = (1.0 - miss_rate) * float(np.clip((vis - 0.1) / 0.4, 0.0, 1.0)) ** 0.5
    u, n = rng.random(), rng.normal(0.0, 1.0, 5)  # always draw: keeps the stream aligned
    if u >= p_detect:
        return None
    l, t, w, h = box
    x1, y1, x2, y2 = max(l, 0), max(t, 0), min(l + w, width), min(t + h, height)
    cw, ch = x2 - x1, y2 - y1
    if cw < 4 or ch < 8:
        return None
    cx = 0.5 * (x1 + x2) + n[0] * noise * cw
    cy = 0.5 * (y1 + y2) + n[1] * noise * ch
    cw *= math.exp(n[2] * noise)
    ch *= math.exp(n[3] * noise)
    score = float(np.clip(0.35 + 0.6 * vis + 0.08 * n[4], 0.05, 0.99))
    return cx - cw / 2, cy - ch / 2, cw, ch, score


def _false_positive(cam: _Camera, rng: np.random.Generator) -> tuple[float, ...]:
    """Person-sized box on the ground plane with a low score."""
    fy = rng.uniform(cam.horizon + 0.1 * cam.height, cam.height)
    h = (fy - cam.horizon) * 1.75 / CAMERA_HEIGHT_M * rng.uniform(0.6, 1.1)
    w = h * 0.4 * rng.uniform(0.7, 1.3)
    fx = rng.uniform(0, cam.width - w)
    return fx, fy - h, w, h, float(rng.uniform(0.05, 0.5))


def _det_line(frame: int, det: tuple[float, ...]) -> str:
    l, t, w, h, s = det
    return f"{frame},-1,{l:.2f},{t:.2f},{w:.2f},{h:.2f},{s:.3f},-1,-1,-1\n"


def main(argv: list[str] | None = None) -> None:
    """CLI: ``make_synthetic OUT_DIR [--frames N ...]``; prints the sequence folder."""
    ap = argparse.ArgumentParser(description="Render a synthetic MOTChallenge sequence "
                                             "(images, gt/gt.txt, det/det.txt, seqinfo.ini).")
    ap.add_argument("out_dir", type=Path, help="parent folder; the sequence goes to OUT_DIR/NAME")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--people", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="SYNTH-01")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--camera-jitter", type=float, default=2.0, help="std of the global shift in pixels")
    args = ap.parse_args(argv)
    path = generate_sequence(args.out_dir, name=args.name, frames=args.frames, width=args.width,
                             height=args.height, n_people=args.people, seed=args.seed, fps=args.fps,
                             camera_jitter=args.camera_jitter)
    print(path)


if __name__ == "__main__":
    main()
