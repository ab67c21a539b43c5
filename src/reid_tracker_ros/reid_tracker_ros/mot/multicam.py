"""Multi-camera MOTChallenge sequences from the second renderer (:mod:`reid_tracker_ros.mot.crowd`).

Why: to evaluate cross-camera identity (re-identification between cameras, not only within one
sequence) on people the default ReID model was never trained on: it learnt from the first
renderer only, so this renderer's looks are unseen data.

One shared world, several cameras::

    <out>/<name>-cam1/{img1/000001.jpg..., seqinfo.ini, gt/gt.txt, det/det.txt}
    <out>/<name>-cam2/...
    <out>/<name>-cameras.json     cameras, offsets, seed, people, which ids each camera sees,
                                  and the cross-camera transitions (leave one view, enter another)

- world: a ground plane (X, Z) in metres; every camera is a :class:`crowd.Camera` (own height,
  tilt, field of view) at its own ground position and yaw, looking at its own region; regions lie
  side by side along X, by default disjoint with a gap that people cross unseen for seconds
  (``overlap`` > 0 makes neighbouring regions share ground);
- people: one :func:`crowd.random_look` each, the same object in every camera (front, back or
  side view follows the walking direction relative to each camera); most walk through waypoints
  in two or more regions at 1.0-1.6 m/s, some stop for a while, a few stay in one region;
- cameras: each has its own background kind, props, shadow map, brightness drift, colour cast
  (white balance), gamma, blur, sensor noise and time offset (``offsets_s``: the world time of its
  frame 1); all share one frame rate;
- gt ids are global: a person has the same id in every folder; ``det/det.txt`` comes from the gt
  through :func:`reid_tracker_ros.mot.detnoise.noisy_detections`.

Everything is a deterministic function of the config and the seed.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from reid_tracker_ros.mot.crowd import (BACKGROUNDS, Camera, _props, _Walker, draw_items, gt_rows, random_look,
                                        render_background, shadow_map, walker_pose, write_sequence)
from reid_tracker_ros.mot.detnoise import DETECTOR_MODELS, noisy_detections, write_detections

MULTICAM_VERSION = 1


@dataclass
class MultiCamConfig:
    """Settings of one multi-camera set (see :func:`render_multicam`)."""

    cameras: int = 2
    frames: int = 300               # frames per camera
    fps: float = 15.0
    people: int = 10                # people over the whole set
    width: int = 640
    height: int = 360
    overlap: float = 0.0            # share of the narrower of two neighbouring regions seen by both
    gap_m: float = 6.0              # ground between neighbouring regions that no camera sees
    offsets_s: tuple[float, ...] = ()  # world time (s) of each camera's frame 1; () = all 0
    cross_share: float = 0.7        # share of people planned to be seen by >= 2 cameras
    stand_prob: float = 0.25        # chance of a stop (1-4 s) at each waypoint
    props: int = 2                  # static occluders per camera
    det_model: str = "yolo"
    jpeg_quality: int = 88

    def __post_init__(self) -> None:
        self.offsets_s = tuple(float(o) for o in self.offsets_s) or (0.0,) * self.cameras
        checks = {
            "cameras": 2 <= self.cameras <= 4,
            "frames": self.frames >= 2,
            "fps": 1.0 <= self.fps <= 60.0,
            "people": 1 <= self.people <= 40,
            "width": 64 <= self.width <= 4096,
            "height": 64 <= self.height <= 4096,
            "overlap": 0.0 <= self.overlap < 1.0,
            "gap_m": 0.0 <= self.gap_m <= 100.0,
            "offsets_s": len(self.offsets_s) == self.cameras and all(0.0 <= o <= 3600.0 for o in self.offsets_s),
            "cross_share": 0.0 <= self.cross_share <= 1.0,
            "stand_prob": 0.0 <= self.stand_prob <= 1.0,
            "props": 0 <= self.props <= 10,
            "det_model": self.det_model in DETECTOR_MODELS,
            "jpeg_quality": 1 <= self.jpeg_quality <= 100,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"MultiCamConfig.{name} is out of range: {getattr(self, name)!r}")

    def offset_frames(self) -> np.ndarray:
        """World frame index of each camera's first frame."""
        return np.round(np.asarray(self.offsets_s) * self.fps).astype(np.int64)

    def world_frames(self) -> int:
        return int(self.frames + self.offset_frames().max())


@dataclass(frozen=True)
class CameraRig:
    """One camera of the world: pinhole model, ground pose and image style."""

    name: str
    cam: Camera
    position: tuple[float, float]       # world (X, Z) of the camera's foot point
    yaw_deg: float                      # 0: looks along +Z, 90: along +X
    near: float                         # depth (m) where feet reach the image bottom
    far: float                          # waypoints lie no deeper than this
    max_depth: float                    # people further away are not drawn
    background: str
    cast: tuple[float, float, float]    # BGR white-balance gains
    brightness: float
    gamma: float
    blur_sigma: float
    noise_sigma: float
    shadows: float
    offset_frames: int

    def axes(self) -> np.ndarray:
        """Rows: the camera's right and forward unit vectors in world (X, Z)."""
        a = math.radians(self.yaw_deg)
        return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])

    def to_local(self, xz: np.ndarray) -> np.ndarray:
        """World ground points (..., 2) -> camera frame (X right, Z forward)."""
        return (np.asarray(xz, np.float64) - np.asarray(self.position)) @ self.axes().T

    def to_world(self, local: np.ndarray) -> np.ndarray:
        return np.asarray(local, np.float64) @ self.axes() + np.asarray(self.position)

    def half_width(self, z: np.ndarray) -> np.ndarray:
        """Half the ground width (m) seen at depth ``z``."""
        return np.asarray(z) * (self.cam.width / 2.0) / self.cam.f

    def in_view(self, xz: np.ndarray, height_m: float) -> np.ndarray:
        """Whether people at world points ``xz`` (N, 2) would be drawn and at least partly inside."""
        local = self.to_local(xz).reshape(-1, 2)
        u, vf, depth = self.cam.project(local[:, 0], 0.0, local[:, 1])
        _, vh, _ = self.cam.project(local[:, 0], height_m, local[:, 1])
        half = 0.25 * (vf - vh)
        return ((depth > 0.3) & (depth <= self.max_depth) & (u + half > 0) & (u - half < self.cam.width)
                & (vf > 0) & (vh < self.cam.height))


def _rigs(cfg: MultiCamConfig, rng: np.random.Generator) -> list[CameraRig]:
    """Cameras along X, odd ones looking the other way; regions spaced by ``gap_m``/``overlap``."""
    n = cfg.cameras
    kinds = [BACKGROUNDS[int(i)] for i in rng.permutation(len(BACKGROUNDS))[:n]]
    temps = rng.permutation(np.linspace(-1.0, 1.0, n)) + rng.uniform(-0.15, 0.15, n)  # white balance
    min_px = 36.0 * cfg.height / 540.0
    drafts, extents = [], []
    for k in range(n):
        cam = Camera(cfg.width, cfg.height, hfov_deg=float(rng.uniform(55, 75)),
                     height_m=float(rng.uniform(2.5, 4.5)), tilt_deg=float(rng.uniform(8, 20)))
        near, far = cam.depth_range(min_px)
        far = min(far, near + 10.0)
        yaw = (180.0 if k % 2 else 0.0) + float(rng.uniform(-30, 30))
        t = float(temps[k])
        draft = CameraRig(f"cam{k + 1}", cam, (0.0, 0.0), yaw, near, far, far + 2.0, kinds[k],
                          (1.0 + 0.2 * t, float(rng.uniform(0.95, 1.05)), 1.0 - 0.2 * t),
                          float(rng.uniform(0.8, 1.15)), float(rng.uniform(0.8, 1.25)), float(rng.uniform(0.3, 1.1)),
                          float(rng.uniform(0.0, 4.0)), float(rng.uniform(0.1, 0.5)), int(cfg.offset_frames()[k]))
        # region centre at the origin for now: the drawable ground's X extent (plus a body's margin)
        z = np.array([0.5, 0.5, draft.max_depth, draft.max_depth])
        corners = np.column_stack([(draft.half_width(z) + 0.5) * np.array([-1, 1, -1, 1]), z])
        centre = draft.to_world(np.array([0.0, (near + far) / 2.0]))
        xs = draft.to_world(corners)[:, 0] - centre[0]
        drafts.append((draft, centre))
        extents.append((float(xs.min()), float(xs.max())))
    rigs, shift = [], 0.0
    for k, (draft, centre) in enumerate(drafts):
        if k:
            lo, hi = extents[k - 1], extents[k]
            shared = cfg.overlap * min(lo[1] - lo[0], hi[1] - hi[0])
            shift += lo[1] - hi[0] + cfg.gap_m - shared
        pos = (float(shift - centre[0]), float(-centre[1]))
        rigs.append(replace(draft, position=pos))
    return rigs


@dataclass
class Person:
    """One planned person: their walker (world positions) and the cameras the plan meant."""

    walker: _Walker
    route: tuple[int, ...]     # camera indices of the visited regions, in order


class MultiCamWorld:
    """Cameras and people of one set (world time in frames at ``cfg.fps``)."""

    def __init__(self, cfg: MultiCamConfig, seed: int = 0):
        self.cfg = cfg
        rng = np.random.default_rng(seed)
        self.rigs = _rigs(cfg, rng)
        n_cross = int(round(cfg.cross_share * cfg.people))
        self.people = [self._plan(i + 1, i < n_cross, rng) for i in range(cfg.people)]

    def _waypoint(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """A ground point well inside camera ``k``'s view (depth log-uniform)."""
        rig = self.rigs[k]
        z = (rig.near + 0.5) * (rig.far / (rig.near + 0.5)) ** rng.random()
        return rig.to_world(np.array([rng.uniform(-0.75, 0.75) * rig.half_width(z), z]))

    def _outside(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """A ground point just outside camera ``k``'s view (left, right or beyond the far edge)."""
        rig = self.rigs[k]
        side = int(rng.integers(3))
        z = float(rng.uniform(rig.near + 1.0, rig.far))
        if side == 2:
            local = np.array([rng.uniform(-0.5, 0.5) * rig.half_width(rig.max_depth), rig.max_depth + 1.5])
        else:
            local = np.array([(1 if side else -1) * (rig.half_width(z) + 2.0), z])
        return rig.to_world(local)

    def _route(self, cross: bool, first: bool, rng: np.random.Generator) -> tuple[int, ...]:
        n = self.cfg.cameras
        if first:
            return (0, 1)  # someone always walks from cam1 to cam2
        a = int(rng.integers(n))
        if not cross:
            return (a,)
        route = [a]
        for _ in range(1 + int(rng.random() < 0.35)):  # a second hop: on, or back (re-entry)
            nxt = [b for b in (route[-1] - 1, route[-1] + 1) if 0 <= b < n]
            route.append(nxt[int(rng.integers(len(nxt)))])
        return tuple(route)

    def _draw_walk(self, route: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """One walk along ``route`` from outside the first view to outside the last one, with
        stops: ``(xz (T, 2), moving (T,), phase (T,))`` at the frame rate, time 0 at the entry."""
        fps = self.cfg.fps
        points, stops = [self._outside(route[0], rng)], [0.0]
        for k in route:
            for _ in range(1 + int(rng.random() < 0.4)):
                points.append(self._waypoint(k, rng))
                stand = rng.random() < (self.cfg.stand_prob if len(route) > 1 else 2 * self.cfg.stand_prob)
                stops.append(float(rng.uniform(1.0, 4.0)) if stand else 0.0)
        points.append(self._outside(route[-1], rng))
        stops.append(0.0)
        pts = np.asarray(points)
        seg = np.hypot(*np.diff(pts, axis=0).T)
        speed = float(rng.uniform(1.0, 1.6))
        # knots of arc length over time: walk each segment, then stand at its end point
        knot_t, knot_s = [0.0], [0.0]
        for length, stop in zip(seg, stops[1:]):
            knot_t += [knot_t[-1] + length / speed, knot_t[-1] + length / speed + stop]
            knot_s += [knot_s[-1] + length, knot_s[-1] + length]
        s = np.interp(np.arange(int(knot_t[-1] * fps) + 2) / fps, knot_t, knot_s)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        xz = np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])
        stride_len = 0.7 * (speed / 1.3) ** 0.5 + 0.05
        return xz, np.gradient(s) > 1e-6, rng.uniform(0, 2 * math.pi) + s / stride_len * math.pi

    def _plan(self, tid: int, cross: bool, rng: np.random.Generator) -> Person:
        """A walk and its start time such that the cameras that record it fit its role: >= 2 for
        cross-camera people, exactly one for the others (up to 40 walks are drawn; then the start
        time with the most cameras). A start before world time 0 means walking in view at 0."""
        cfg, n = self.cfg, self.cfg.cameras
        route = self._route(cross, cross and tid == 1, rng)
        look = random_look(rng)
        rec = np.stack([self.recording(k) for k in range(n)]).astype(np.float64)
        for _ in range(40):
            xz, moving, phase = self._draw_walk(route, rng)
            L = len(xz)
            # frames each camera records the walk for, per shift -(L-1) .. world_frames-1
            padded = np.pad(rec, ((0, 0), (L - 1, L - 1)))
            counts = np.stack([np.correlate(padded[k], self.rigs[k].in_view(xz, look.height_m).astype(np.float64),
                                            "valid") for k in range(n)])
            cams = (counts >= max(1.0, 0.5 * cfg.fps)).sum(axis=0)
            fits = np.flatnonzero(cams >= 2 if cross else cams == 1)
            if len(fits):
                break
        shift = int(rng.choice(fits)) if len(fits) else int(np.argmax(cams))
        shift -= L - 1
        start = max(shift, 0)
        keep = slice(start - shift, cfg.world_frames() - shift)
        return Person(_Walker(look, tid, start, xz[keep], moving[keep], phase[keep]), route)

    def recording(self, k: int) -> np.ndarray:
        """Per world frame: whether camera ``k`` records (its frames, shifted by its offset)."""
        out = np.zeros(self.cfg.world_frames(), bool)
        out[self.rigs[k].offset_frames:self.rigs[k].offset_frames + self.cfg.frames] = True
        return out

    def in_view(self, walker: _Walker, k: int) -> np.ndarray:
        """Per world frame: whether ``walker`` is in camera ``k``'s view (recording or not)."""
        out = np.zeros(self.cfg.world_frames(), bool)
        out[walker.start + np.arange(len(walker.xz))] = self.rigs[k].in_view(walker.xz, walker.look.height_m)
        return out

    def seen(self, walker: _Walker, k: int) -> np.ndarray:
        """Per world frame: whether camera ``k`` records ``walker``."""
        return self.in_view(walker, k) & self.recording(k)

    def transitions(self) -> list[dict]:
        """Each time a person leaves camera i's view (while i records) and next enters the view of
        another camera j (while j records): ``{id, from, to, left_s, entered_s}``; ``left_s`` is
        the world time of the first frame out of i's view, cameras are 1-based."""
        n, fps, out = self.cfg.cameras, self.cfg.fps, []
        rec = np.stack([self.recording(k) for k in range(n)])
        for p in self.people:
            seen = np.stack([self.seen(p.walker, k) for k in range(n)])
            leaves = np.argwhere(seen[:, :-1] & ~seen[:, 1:] & rec[:, 1:])            # (cam, last frame in)
            entries = np.argwhere(~seen[:, :-1] & seen[:, 1:] & rec[:, :-1]) + [0, 1]  # (cam, first frame in)
            for i, a in leaves:
                later = entries[(entries[:, 1] > a) & (entries[:, 0] != i)]
                if len(later):
                    j, b = later[np.argmin(later[:, 1])]
                    out.append({"id": p.walker.track_id, "from": int(i) + 1, "to": int(j) + 1,
                                "left_s": round(float(a + 1) / fps, 2), "entered_s": round(float(b) / fps, 2)})
        return out


class CameraView:
    """Renders one camera's frames of a :class:`MultiCamWorld`."""

    def __init__(self, world: MultiCamWorld, k: int, seed: int = 0):
        cfg, rig = world.cfg, world.rigs[k]
        self.cfg, self.rig, self.cam = cfg, rig, rig.cam
        rng = np.random.default_rng((seed, k + 1))
        self.background = render_background(rig.cam, rig.background, rng)
        self.props = _props(rig.cam, cfg.props, rng)
        self.light = shadow_map((cfg.height, cfg.width), rng, rig.shadows)
        t = np.arange(cfg.frames) / cfg.fps
        self.drift = rig.brightness * (1.0 + 0.1 * np.sin(t * rng.uniform(0.1, 0.4) + rng.uniform(0, 6.3)))
        self.sun = np.array([rng.uniform(-1.0, 1.0), rng.uniform(0.05, 0.3)])
        self.gains = np.asarray(rig.cast, np.float32)
        self.lut = np.clip(255.0 * (np.arange(256) / 255.0) ** rig.gamma, 0, 255).astype(np.uint8)
        self.noise_rng = np.random.default_rng((seed, k + 1, 7919))
        # each walker's track in this camera's frame: positions and walking directions
        self.tracks = []
        for p in world.people:
            w = p.walker
            idx = np.arange(len(w.xz))
            vel = w.xz[np.minimum(idx + 1, len(idx) - 1)] - w.xz[np.maximum(idx - 1, 0)]
            self.tracks.append((w, rig.to_local(w.xz), vel @ rig.axes().T))

    def _items(self, g: int) -> list:
        """Far-first draw list of world frame ``g``: people in range and in the image, and props."""
        W, H = self.cfg.width, self.cfg.height
        items = []
        for w, local, vel in self.tracks:
            k = g - w.start
            if not 0 <= k < len(local) or local[k, 1] > self.rig.max_depth:
                continue
            placed = walker_pose(self.cam, local[k], vel[k], w.look.height_m, w.phase[k], w.moving[k])
            if placed is None:
                continue
            pose = placed[1]
            half = 0.5 * pose.height_px
            if not (-half < pose.foot_x < W + half and 0 < pose.foot_y < H + 2.2 * half):
                continue
            items.append((placed[0], 0, (w, pose)))
        items += [(float(self.cam.project(p[0], 0.0, p[1])[2]), 1, p) for p in self.props]
        items.sort(key=lambda it: -it[0])
        return items

    def frame(self, f: int) -> tuple[np.ndarray, list[tuple]]:
        """Frame index ``f`` (0-based) of this camera: ``(image, gt rows)`` (rows as
        :func:`crowd.gt_rows`, track ids global)."""
        cfg = self.cfg
        frame = self.background.copy()
        label = np.zeros((cfg.height, cfg.width), np.int32)
        drawn = draw_items(frame, label, self.cam, self._items(f + self.rig.offset_frames), self.sun)
        counts = np.bincount(label.ravel(), minlength=len(drawn) + 1)
        img = frame.astype(np.float32) * (self.light * np.float32(self.drift[f]))[..., None] * self.gains
        img = cv2.LUT(np.clip(img, 0, 255).astype(np.uint8), self.lut)
        img = cv2.GaussianBlur(img, (0, 0), self.rig.blur_sigma)
        noise = self.noise_rng.normal(0, self.rig.noise_sigma, (cfg.height, cfg.width, 1)).astype(np.float32)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
        return img, gt_rows(f, drawn, counts, (cfg.width, cfg.height))


def render_multicam(out_dir: str | Path, name: str, cfg: MultiCamConfig, seed: int = 0,
                    progress: bool = False) -> list[Path]:
    """Render one folder per camera, ``<out_dir>/<name>-cam<k>`` (img1, seqinfo.ini, gt, det),
    and ``<out_dir>/<name>-cameras.json``; returns the camera folders."""
    out_dir = Path(out_dir)
    world = MultiCamWorld(cfg, seed)
    folders, cams_meta = [], []
    for k, rig in enumerate(world.rigs):
        seq_name = f"{name}-{rig.name}"
        seq = out_dir / seq_name
        view = CameraView(world, k, seed)
        gt = write_sequence(seq, cfg.frames, cfg.fps, (cfg.width, cfg.height), view.frame, cfg.jpeg_quality,
                            progress)
        det = noisy_detections(gt, model=cfg.det_model, rng=np.random.default_rng((seed, k + 1, 17)),
                               image_size=(cfg.width, cfg.height))
        write_detections(seq / "det" / "det.txt", det)
        folders.append(seq)
        cams_meta.append({
            "name": rig.name, "folder": seq_name, "offset_s": cfg.offsets_s[k], "position": rig.position,
            "yaw_deg": round(rig.yaw_deg, 2), "height_m": round(rig.cam.height_m, 2),
            "tilt_deg": round(rig.cam.tilt_deg, 2), "hfov_deg": round(rig.cam.hfov_deg, 2),
            "background": rig.background, "cast_bgr": [round(c, 3) for c in rig.cast],
            "brightness": round(rig.brightness, 3), "gamma": round(rig.gamma, 3),
            "blur_sigma": round(rig.blur_sigma, 3), "noise_sigma": round(rig.noise_sigma, 3),
            "ids": sorted({int(i) for i in gt[gt[:, 8] > 0, 1]})})
    meta = {"version": MULTICAM_VERSION, "name": name, "seed": seed, "config": asdict(cfg), "cameras": cams_meta,
            "people": [{"id": p.walker.track_id, "route": [c + 1 for c in p.route],
                        "cameras": [m["name"] for m in cams_meta if p.walker.track_id in m["ids"]]}
                       for p in world.people],
            "transitions": world.transitions()}
    (out_dir / f"{name}-cameras.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return folders


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Render a multi-camera set (one MOTChallenge folder per camera, global gt ids) "
                    "with the second renderer.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--name", default="MC-A")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cameras", type=int, default=2)
    ap.add_argument("--frames", type=int, default=300, help="frames per camera")
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--overlap", type=float, default=0.0, help="share of neighbouring regions seen by both")
    ap.add_argument("--gap", type=float, default=6.0, help="unseen ground between regions (m)")
    ap.add_argument("--offsets", type=float, nargs="*", default=(), help="world time (s) of each camera's frame 1")
    ap.add_argument("--det-model", default="yolo", choices=sorted(DETECTOR_MODELS))
    args = ap.parse_args(argv)
    try:
        cfg = MultiCamConfig(cameras=args.cameras, frames=args.frames, fps=args.fps, people=args.people,
                             width=args.width, height=args.height, overlap=args.overlap, gap_m=args.gap,
                             offsets_s=tuple(args.offsets), det_model=args.det_model)
    except ValueError as exc:
        ap.error(str(exc))
    for seq in render_multicam(args.out, args.name, cfg, seed=args.seed, progress=True):
        print(seq)
    print(args.out / f"{args.name}-cameras.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
