"""A second, independent person renderer for validation data (``crowd``).

Written apart from :mod:`reid_tracker_ros.mot.synthetic` / :mod:`~reid_tracker_ros.mot.persons` so
that defaults tuned on those cannot win here by construction. Its own models:

- body: articulated 2D skeleton (head, torso, two-segment arms and legs) with a walking phase,
  side/front/back views from the walking direction, build and height per person;
- look: skin tones, hair styles (short, long, bald, hat), tops with textures (solid, stripes,
  checks, two-tone, logo, camouflage), long/short sleeves, trousers/shorts/skirts, shoes, bags;
- scene: pinhole camera at a height with a downward tilt over a ground plane (people are smaller
  further away), textured backgrounds (paving, grass, asphalt, indoor floor; facades or sky),
  static props that occlude, cast shadows, a static shadow map, brightness drift and gradient;
- camera motion: the scene is rendered on a larger canvas and a window pans/zooms/shakes over it;
  ground truth is transformed with the same affine map (:func:`window_affine`).

Ground-truth boxes are the amodal boxes of the drawn bodies; visibility is the fraction of a
body's pixels that are neither covered by nearer people/props nor outside the image.
Everything is numpy + OpenCV; output is a deterministic function of the arguments and seed.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from reid_tracker_ros.mot.io import SequenceInfo, write_seqinfo

# --------------------------------------------------------------------------------------------
# Looks

SKIN_TONES = np.array([(60, 80, 110), (80, 105, 150), (95, 130, 180), (120, 160, 205),
                       (140, 180, 225), (45, 60, 85), (110, 140, 190), (170, 200, 235)], np.float32)  # BGR
HAIR_COLOURS = np.array([(20, 20, 25), (30, 45, 70), (40, 70, 120), (90, 140, 190), (160, 160, 165),
                         (25, 35, 45), (60, 60, 150)], np.float32)
PATTERNS = ("solid", "hstripes", "vstripes", "checks", "twotone", "logo", "camo")
HAIR_STYLES = ("short", "long", "bald", "hat")
BOTTOMS = ("trousers", "trousers", "shorts", "skirt")
BAGS = ("none", "none", "backpack", "shoulder")


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A garment colour: saturated, muted or near-neutral, from an HSV draw."""
    kind = rng.random()
    h = rng.uniform(0, 180)
    s = rng.uniform(150, 255) if kind < 0.45 else (rng.uniform(40, 150) if kind < 0.75 else rng.uniform(0, 30))
    v = rng.uniform(40, 245)
    hsv = np.uint8([[[h, s, v]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


@dataclass
class Look:
    """Everything that makes one person look like themselves (all colours BGR float32)."""

    height_m: float
    build: float
    skin: np.ndarray
    hair: np.ndarray
    hair_style: str
    hat: np.ndarray
    top_texture: np.ndarray  # (h, w, 3) uint8 tile, stretched over the torso
    top_colour: np.ndarray   # dominant top colour (sleeves)
    long_sleeves: bool
    bottom: str
    bottom_colour: np.ndarray
    shoes: np.ndarray
    bag: str
    bag_colour: np.ndarray


def _top_texture(pattern: str, c1: np.ndarray, c2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 40x28 texture tile for the torso in one of :data:`PATTERNS`."""
    h, w = 40, 28
    yy, xx = np.mgrid[0:h, 0:w]
    period = int(rng.integers(4, 11))
    if pattern == "hstripes":
        sel = (yy // (period // 2 + 1)) % 2 == 0
    elif pattern == "vstripes":
        sel = (xx // (period // 2 + 1)) % 2 == 0
    elif pattern == "checks":
        sel = ((yy // period) + (xx // period)) % 2 == 0
    elif pattern == "twotone":
        sel = yy < int(h * rng.uniform(0.35, 0.65))
    elif pattern == "logo":
        sel = np.ones((h, w), bool)
        cy, cx, r = int(h * rng.uniform(0.25, 0.45)), w // 2 + int(rng.integers(-3, 4)), int(rng.integers(4, 8))
        shape = rng.integers(3)
        if shape == 0:
            sel &= (yy - cy) ** 2 + (xx - cx) ** 2 > r * r
        elif shape == 1:
            sel &= ~((abs(yy - cy) < r) & (abs(xx - cx) < r))
        else:
            sel &= ~((yy - cy + r > 0) & (yy - cy < r) & (abs(xx - cx) < (yy - cy + r) * 0.7))
    elif pattern == "camo":
        blobs = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.5)
        sel = blobs > np.median(blobs)
    else:
        sel = np.ones((h, w), bool)
    tile = np.where(sel[..., None], c1, c2).astype(np.float32)
    tile += rng.normal(0, 6, (h, w, 1)).astype(np.float32)  # fabric grain
    return np.clip(tile, 0, 255).astype(np.uint8)


def random_look(rng: np.random.Generator) -> Look:
    """One person's look, drawn independently of everyone else's."""
    c1, c2 = _colour(rng), _colour(rng)
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    return Look(
        height_m=float(np.clip(rng.normal(1.73, 0.09), 1.5, 1.98)),
        build=float(rng.uniform(0.85, 1.2)),
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.92, 1.08),
        hair=HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))] * rng.uniform(0.85, 1.15),
        hair_style=style,
        hat=_colour(rng),
        top_texture=_top_texture(pattern, c1, c2, rng),
        top_colour=c1,
        long_sleeves=bool(rng.random() < 0.6),
        bottom=BOTTOMS[int(rng.integers(len(BOTTOMS)))],
        bottom_colour=_colour(rng) * rng.uniform(0.5, 1.0),
        shoes=_colour(rng) * rng.uniform(0.2, 0.8),
        bag=BAGS[int(rng.integers(len(BAGS)))],
        bag_colour=_colour(rng) * rng.uniform(0.4, 1.0),
    )


# --------------------------------------------------------------------------------------------
# Body


@dataclass(frozen=True)
class Pose:
    """Image-space pose: foot point, pixel height, lateral walking component and gait phase."""

    foot_x: float
    foot_y: float
    height_px: float
    lateral: float      # image-x component of the walking direction in [-1, 1] (0: toward/away)
    facing_camera: bool
    phase: float        # gait phase (radians)
    stride: float       # 0 standing .. 1 full stride


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def draw_person(look: Look, pose: Pose) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Draw one person into a local patch.

    Returns ``(patch BGR uint8, mask bool, x0, y0)``: the patch's top-left corner in image
    coordinates. The mask's bounding box is the person's amodal box.
    """
    H = max(float(pose.height_px), 6.0)
    b = look.build
    side = min(abs(pose.lateral), 1.0)
    sgn = 1.0 if pose.lateral >= 0 else -1.0
    margin = 3
    pw = int(math.ceil(0.75 * H * b)) + 2 * margin
    ph = int(math.ceil(1.08 * H)) + 2 * margin
    cx, base = pw / 2.0, ph - margin - 1.0
    patch = np.zeros((ph, pw, 3), np.uint8)
    mask = np.zeros((ph, pw), np.uint8)
    amp = 0.42 * pose.stride
    bob = 0.012 * H * abs(math.cos(pose.phase)) * pose.stride

    def col(c: np.ndarray) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.clip(c, 0, 255))

    def line(p, q, width, c):
        t = max(1, int(round(width)))
        cv2.line(patch, _pt(*p), _pt(*q), col(c), t)
        cv2.line(mask, _pt(*p), _pt(*q), 255, t)

    def poly(pts, c):
        arr = np.round(np.asarray(pts, np.float32)).astype(np.int32)
        cv2.fillConvexPoly(patch, arr, col(c))
        cv2.fillConvexPoly(mask, arr, 255)

    def ellipse(cxy, axes, c):
        ax = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
        cv2.ellipse(patch, _pt(*cxy), ax, 0, 0, 360, col(c), -1)
        cv2.ellipse(mask, _pt(*cxy), ax, 0, 0, 360, 255, -1)

    y = lambda frac: base - frac * H - bob  # noqa: E731 - height fraction above the feet
    sw = 0.118 * H * b * (1 - 0.42 * side)
    hw = 0.088 * H * b * (1 - 0.25 * side)
    leg_w = 0.075 * H * b
    arm_w = 0.052 * H * b
    thigh, shin = 0.245 * H, 0.225 * H

    # legs: k = +1 / -1; the swing shows in x only as much as the walk is lateral
    legs = []
    for k in (1.0, -1.0):
        a = k * amp * math.sin(pose.phase)
        bend = 0.9 * amp * max(0.0, k * math.cos(pose.phase))
        hip = (cx + k * hw * 0.55 * (1 - side), y(0.50))
        knee = (hip[0] + sgn * side * thigh * math.sin(a), hip[1] + thigh * math.cos(a))
        ankle = (knee[0] + sgn * side * shin * math.sin(a - bend), knee[1] + shin * math.cos(a - bend))
        legs.append((hip, knee, ankle))
    # arms swing against the legs
    arms = []
    for k in (1.0, -1.0):
        a = -k * 0.7 * amp * math.sin(pose.phase)
        sh = (cx + k * sw * (0.92 - 0.75 * side), y(0.805))
        el = (sh[0] + sgn * side * 0.17 * H * math.sin(a) + k * 0.02 * H * (1 - side), sh[1] + 0.17 * H * math.cos(a))
        wr = (el[0] + sgn * side * 0.16 * H * math.sin(a + 0.25), el[1] + 0.16 * H * math.cos(a + 0.25))
        arms.append((sh, el, wr))
    # side view: the arm on the far side is drawn before the torso
    far_arm = 0 if sgn > 0 else 1

    def draw_arm(i: int) -> None:
        sh, el, wr = arms[i]
        sleeve = look.top_colour * (0.8 if i == far_arm and side > 0.5 else 1.0)
        line(sh, el, arm_w, sleeve)
        line(el, wr, arm_w * 0.9, sleeve if look.long_sleeves else look.skin)
        ellipse(wr, (arm_w * 0.55, arm_w * 0.6), look.skin)

    def draw_backpack() -> None:
        bw, bh = 0.16 * H * b, 0.24 * H
        if side > 0.5:
            bx = cx - sgn * (sw * 0.6 + bw * 0.5)
            w = bw * 0.55
        else:
            bx, w = cx, bw
        poly([(bx - w / 2, y(0.80)), (bx + w / 2, y(0.80)), (bx + w / 2, y(0.80) + bh), (bx - w / 2, y(0.80) + bh)],
             look.bag_colour)

    head_c = (cx + sgn * side * 0.012 * H, y(0.935))
    head_ax = (0.056 * H * (1 - 0.1 * side), 0.066 * H)
    if side > 0.5:
        draw_arm(far_arm)
    if look.hair_style == "long" and pose.facing_camera:  # hair behind the shoulders
        poly([(head_c[0] - head_ax[0] * 1.1, head_c[1]), (head_c[0] + head_ax[0] * 1.1, head_c[1]),
              (head_c[0] + head_ax[0] * 1.2, y(0.76)), (head_c[0] - head_ax[0] * 1.2, y(0.76))], look.hair)
    if look.bag == "backpack" and (side > 0.5 or pose.facing_camera):
        draw_backpack()
    # legs with bottoms and shoes
    for hip, knee, ankle in legs:
        lower = look.bottom_colour if look.bottom == "trousers" else look.skin
        if look.bottom == "shorts":
            mid = ((hip[0] + knee[0]) / 2 + (knee[0] - hip[0]) * 0.3, (hip[1] + knee[1]) / 2 + (knee[1] - hip[1]) * 0.3)
            line(hip, mid, leg_w * 1.1, look.bottom_colour)
            line(mid, knee, leg_w * 0.85, look.skin)
        else:
            line(hip, knee, leg_w, look.bottom_colour if look.bottom == "trousers" else look.skin)
        line(knee, ankle, leg_w * 0.85, lower)
        toe = (ankle[0] + (sgn * side * 0.06 * H if side > 0.3 else 0.0), ankle[1] + 0.02 * H)
        line(ankle, toe, leg_w * 0.9, look.shoes)
    if look.bottom == "skirt":
        poly([(cx - hw * 1.05, y(0.52)), (cx + hw * 1.05, y(0.52)), (cx + hw * 1.5, y(0.33)), (cx - hw * 1.5, y(0.33))],
             look.bottom_colour)
    else:
        poly([(cx - hw, y(0.53)), (cx + hw, y(0.53)), (cx + hw, y(0.47)), (cx - hw, y(0.47))], look.bottom_colour)
    # torso: textured polygon
    torso = np.array([(cx - sw, y(0.82)), (cx + sw, y(0.82)), (cx + hw * 1.02, y(0.49)), (cx - hw * 1.02, y(0.49))],
                     np.float32)
    tmask = np.zeros((ph, pw), np.uint8)
    cv2.fillConvexPoly(tmask, np.round(torso).astype(np.int32), 255)
    x0, y0 = int(max(0, math.floor(torso[:, 0].min()))), int(max(0, math.floor(torso[:, 1].min())))
    x1, y1 = int(min(pw, math.ceil(torso[:, 0].max()) + 1)), int(min(ph, math.ceil(torso[:, 1].max()) + 1))
    if x1 > x0 and y1 > y0:
        tex = cv2.resize(look.top_texture, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        if not pose.facing_camera and side < 0.5:  # back: no logo, plain main colour
            tex = np.full_like(tex, np.clip(look.top_colour, 0, 255).astype(np.uint8))
        sel = tmask[y0:y1, x0:x1] > 0
        patch[y0:y1, x0:x1][sel] = tex[sel]
        mask[y0:y1, x0:x1][sel] = 255
    line((cx, y(0.82)), (cx, y(0.87)), 0.05 * H, look.skin)  # neck
    if look.bag == "backpack" and not pose.facing_camera and side <= 0.5:
        draw_backpack()
    elif look.bag == "backpack" and pose.facing_camera and side <= 0.5:  # straps
        for k in (-1, 1):
            line((cx + k * sw * 0.5, y(0.82)), (cx + k * hw * 0.6, y(0.62)), max(1.0, 0.015 * H), look.bag_colour)
    if look.bag == "shoulder":
        k = -sgn if side > 0.5 else 1.0
        line((cx - k * sw * 0.7, y(0.82)), (cx + k * hw * 1.1, y(0.52)), max(1.0, 0.012 * H), look.bag_colour * 0.7)
        bw = 0.11 * H
        bx = cx + k * (hw + bw * 0.35)
        poly([(bx - bw / 2, y(0.56)), (bx + bw / 2, y(0.56)), (bx + bw / 2, y(0.45)), (bx - bw / 2, y(0.45))],
             look.bag_colour)
    # near arm(s)
    if side > 0.5:
        draw_arm(1 - far_arm)
    else:
        draw_arm(0)
        draw_arm(1)
    # head and hair
    front_face = pose.facing_camera or side > 0.5
    if look.hair_style == "bald":
        ellipse(head_c, head_ax, look.skin)
    elif look.hair_style == "hat":
        ellipse(head_c, head_ax, look.skin if front_face else look.hair)
        ellipse((head_c[0], head_c[1] - head_ax[1] * 0.45), (head_ax[0] * 1.05, head_ax[1] * 0.6), look.hat)
        line((head_c[0] - head_ax[0] * 1.3, head_c[1] - head_ax[1] * 0.2),
             (head_c[0] + head_ax[0] * 1.3, head_c[1] - head_ax[1] * 0.2), max(1.0, 0.015 * H), look.hat)
    else:
        ellipse((head_c[0], head_c[1] - head_ax[1] * 0.1), (head_ax[0] * 1.08, head_ax[1] * 1.02), look.hair)
        if front_face:
            fx = head_c[0] + sgn * side * head_ax[0] * 0.25
            ellipse((fx, head_c[1] + head_ax[1] * 0.18), (head_ax[0] * (0.85 - 0.3 * side), head_ax[1] * 0.78),
                    look.skin)
        if look.hair_style == "long" and not pose.facing_camera:
            poly([(head_c[0] - head_ax[0] * 1.1, head_c[1]), (head_c[0] + head_ax[0] * 1.1, head_c[1]),
                  (head_c[0] + head_ax[0] * 1.15, y(0.74)), (head_c[0] - head_ax[0] * 1.15, y(0.74))], look.hair)
    # soft top-down shading: light comes from above
    shade = np.linspace(1.08, 0.82, ph, dtype=np.float32)[:, None, None]
    patch = np.clip(patch.astype(np.float32) * shade, 0, 255).astype(np.uint8)
    ox = int(round(pose.foot_x - cx))
    oy = int(round(pose.foot_y - base))
    return patch, mask > 0, ox, oy


def mask_box(mask: np.ndarray, x0: int, y0: int) -> tuple[float, float, float, float]:
    """Amodal ``tlwh`` box of a person patch's mask in image coordinates."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return (float(x0), float(y0), 0.0, 0.0)
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))


def composite(frame: np.ndarray, label: np.ndarray, patch: np.ndarray, mask: np.ndarray,
              x0: int, y0: int, value: int) -> int:
    """Paint ``patch`` where ``mask`` into ``frame`` (clipped) and write ``value`` into ``label``.

    Returns the number of mask pixels inside the frame."""
    H, W = label.shape
    ph, pw = mask.shape
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(W, x0 + pw), min(H, y0 + ph)
    if ax1 <= ax0 or ay1 <= ay0:
        return 0
    m = mask[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0]
    frame[ay0:ay1, ax0:ax1][m] = patch[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0][m]
    label[ay0:ay1, ax0:ax1][m] = value
    return int(m.sum())


# --------------------------------------------------------------------------------------------
# Camera and backgrounds


@dataclass(frozen=True)
class Camera:
    """Pinhole camera at ``height_m`` above a flat ground, pitched down by ``tilt_deg``."""

    width: int
    height: int
    hfov_deg: float = 65.0
    height_m: float = 3.0
    tilt_deg: float = 12.0

    @property
    def f(self) -> float:
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    def project(self, X: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World (X right, Y up, Z forward; camera at (0, height_m, 0)) -> (u, v, depth)."""
        t = math.radians(self.tilt_deg)
        dy = np.asarray(Y, np.float64) - self.height_m
        zc = np.asarray(Z, np.float64) * math.cos(t) - dy * math.sin(t)
        yc = -dy * math.cos(t) - np.asarray(Z, np.float64) * math.sin(t)
        zc_safe = np.maximum(zc, 1e-6)
        return self.width / 2.0 + self.f * np.asarray(X) / zc_safe, self.height / 2.0 + self.f * yc / zc_safe, zc

    def ground_at(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground point (X, Z) seen at pixel (u, v) and whether the ray hits the ground."""
        t = math.radians(self.tilt_deg)
        xc = (np.asarray(u, np.float64) - self.width / 2.0) / self.f
        yc = (np.asarray(v, np.float64) - self.height / 2.0) / self.f
        # ray direction in world: d = xc * right + yc * down + 1 * forward
        dY = -yc * math.cos(t) - math.sin(t)
        dZ = -yc * math.sin(t) + math.cos(t)
        hits = dY < -1e-6
        s = np.where(hits, self.height_m / np.maximum(-dY, 1e-6), np.nan)
        return xc * s, dZ * s, hits

    def horizon_v(self) -> float:
        return self.height / 2.0 - self.f * math.tan(math.radians(self.tilt_deg))

    def depth_range(self, min_person_px: float = 36.0) -> tuple[float, float]:
        """Ground depths (Z) where a person's feet are in view and they are at least ~min px tall."""
        _, z_near, hit = self.ground_at(np.array([self.width / 2.0]), np.array([self.height - 1.0]))
        near = float(z_near[0]) if hit[0] else 0.5
        near = max(near, 0.8)
        far = near * 1.5
        for z in np.linspace(near, 80.0, 400):
            _, vf, _ = self.project(0.0, 0.0, z)
            _, vh, _ = self.project(0.0, 1.7, z)
            if float(vf - vh) < min_person_px:
                break
            far = float(z)
        return near, max(far, near * 1.5)


BACKGROUNDS = ("plaza", "grass", "asphalt", "indoor", "gravel")


def render_background(cam: Camera, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A textured scene background: ground by inverse projection, facade/sky above the horizon."""
    if kind not in BACKGROUNDS:
        raise ValueError(f"unknown background {kind!r}; choose one of {BACKGROUNDS}")
    H, W = cam.height, cam.width
    vv, uu = np.mgrid[0:H, 0:W].astype(np.float32)
    X, Z, hit = cam.ground_at(uu, vv)
    X = np.nan_to_num(X)
    Z = np.nan_to_num(Z)
    base = _colour(rng) * 0.35 + np.array(
        {"plaza": (150, 150, 155), "grass": (50, 130, 70), "asphalt": (80, 80, 85),
         "indoor": (170, 180, 190), "gravel": (120, 140, 150)}[kind], np.float32) * 0.65
    img = np.empty((H, W, 3), np.float32)
    img[:] = base
    noise = cv2.resize(rng.normal(0, 1, (H // 4 + 1, W // 4 + 1)).astype(np.float32), (W, H))
    if kind in ("plaza", "indoor"):
        tile = rng.uniform(0.5, 1.2) if kind == "plaza" else rng.uniform(0.4, 0.8)
        gx, gz = np.mod(X / tile, 1.0), np.mod(Z / tile, 1.0)
        grout = (gx < 0.05) | (gz < 0.05)
        alt = ((np.floor(X / tile) + np.floor(Z / tile)) % 2 == 0)
        img *= (1.0 - 0.08 * alt)[..., None]
        img[grout] *= 0.7
    elif kind == "grass":
        img *= (1.0 + 0.12 * noise)[..., None]
        img += rng.normal(0, 10, (H, W, 1)).astype(np.float32)
    elif kind == "asphalt":
        img += rng.normal(0, 8, (H, W, 1)).astype(np.float32)
        lane = (np.abs(np.mod(X + 1.0, 4.0) - 2.0) < 0.08) & (np.mod(Z, 3.0) < 1.5)
        img[lane] = (215, 220, 225)
    else:  # gravel
        img *= (1.0 + 0.1 * noise)[..., None]
        img += rng.normal(0, 18, (H, W, 1)).astype(np.float32)
    # distance haze on the ground
    haze = np.clip(Z / 60.0, 0, 0.6)[..., None]
    img = img * (1 - haze) + haze * np.float32(200)
    # above the horizon: a facade with windows or sky with tree blobs
    sky = ~hit
    if sky.any():
        top = np.empty((H, W, 3), np.float32)
        if rng.random() < 0.6:
            wall = _colour(rng) * 0.5 + 90
            top[:] = wall
            win_w, win_h = int(rng.integers(14, 40)), int(rng.integers(18, 44))
            gap = int(rng.integers(8, 30))
            winmask = ((uu.astype(np.int32) % (win_w + gap)) < win_w) & ((vv.astype(np.int32) % (win_h + gap)) < win_h)
            top[winmask] = _colour(rng) * 0.3 + 40
            top += noise[..., None] * 6
        else:
            grad = np.linspace(1.0, 0.75, H, dtype=np.float32)[:, None, None]
            top[:] = np.array((235, 200, 150), np.float32) * grad
            trees = cv2.GaussianBlur(rng.random((H // 8 + 1, W // 8 + 1)).astype(np.float32), (0, 0), 1.5)
            trees = cv2.resize(trees, (W, H)) > 0.55
            top[trees] = (40, 90, 50)
        img[sky] = top[sky]
    return np.clip(img, 0, 255).astype(np.uint8)


def shadow_map(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Static multiplicative light map: a left-right gradient, a vignette and soft shadow bands."""
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    g = 1.0 + rng.uniform(-0.15, 0.15) * (xx / W - 0.5) * 2
    g *= 1.0 - 0.25 * (((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2))
    if strength > 0:
        bands = np.zeros((H, W), np.float32)
        for _ in range(int(rng.integers(1, 4))):
            pts = np.stack([rng.uniform(-0.2, 1.2, 4) * W, rng.uniform(0.3, 1.2, 4) * H], 1).astype(np.int32)
            cv2.fillConvexPoly(bands, cv2.convexHull(pts), 1.0)
        bands = cv2.GaussianBlur(bands, (0, 0), max(2.0, W / 150))
        g *= 1.0 - strength * bands
    return g.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Scene simulation (world coordinates) and rendering


@dataclass
class CrowdConfig:
    """Settings of one rendered sequence (see :func:`render_sequence`)."""

    width: int = 960
    height: int = 540
    fps: float = 25.0
    frames: int = 300
    people: int = 10            # target number of people in view at once (<= ~15)
    camera_height_m: float = 3.0
    tilt_deg: float = 12.0
    hfov_deg: float = 65.0
    background: str = "plaza"
    props: int = 3
    shadows: float = 0.35       # strength of static shadow bands (0..1)
    brightness_drift: float = 0.12  # amplitude of the slow global brightness change
    stand_prob: float = 0.2     # share of people who stop for a while
    group_prob: float = 0.3     # share of arrivals with a companion walking beside them (occlusion)
    # camera motion of the output window over a larger canvas (1.0: no motion)
    canvas_scale: float = 1.0
    pan_px: float = 0.0         # total pan of the window centre (output pixels), sinusoidal
    zoom: float = 0.0           # zoom amplitude: window size varies by up to this fraction
    shake_px: float = 0.0       # std of per-frame hand-held shake (output pixels)
    image_mode: str = "render"  # render | grey | noise (uninformative appearance)
    jpeg_quality: int = 88
    blur_sigma: float = 0.6

    def __post_init__(self) -> None:
        if not 1 <= self.people <= 40:
            raise ValueError(f"CrowdConfig.people must be in 1..40, got {self.people}")
        if self.image_mode not in ("render", "grey", "noise"):
            raise ValueError(f"CrowdConfig.image_mode must be render|grey|noise, got {self.image_mode!r}")
        if self.canvas_scale < 1.0:
            raise ValueError(f"CrowdConfig.canvas_scale must be >= 1, got {self.canvas_scale}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"CrowdConfig.background {self.background!r} not in {BACKGROUNDS}")


@dataclass
class _Walker:
    look: Look
    track_id: int
    start: int                       # first frame index (0-based)
    xz: np.ndarray                   # (T, 2) positions from ``start``
    moving: np.ndarray               # (T,) bool
    phase: np.ndarray                # (T,) gait phase


def _plan_walker(cam: Camera, near: float, far: float, fps: float, frames_left: int, inside: bool,
                 stand_prob: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A path from one border of the walking area to another (or from inside when ``inside``)."""
    def half_width(z: float) -> float:
        return z * (cam.width / 2.0) / cam.f + 0.8

    def depth() -> float:  # log-uniform: as many people near as far in image terms
        return float(near * (far / near) ** rng.random())

    def border_point() -> np.ndarray:
        side = rng.integers(4)
        z = depth()
        if side == 0:
            return np.array([-half_width(z), z])
        if side == 1:
            return np.array([half_width(z), z])
        if side == 2:
            z = far + 1.0
        else:
            z = max(near - 1.5, 0.3)
        return np.array([rng.uniform(-half_width(z), half_width(z)) * 0.8, z])

    goal = border_point()
    if inside:
        z = depth() + 0.3
        start = np.array([rng.uniform(-half_width(z), half_width(z)) * 0.8, z])
    else:
        start = border_point()
        while np.linalg.norm(goal - start) < 3.0:
            goal = border_point()
    speed = rng.uniform(0.75, 1.7)
    dist = float(np.linalg.norm(goal - start))
    steps = int(min(frames_left, max(2, dist / speed * fps)))
    t = np.arange(steps, dtype=np.float64)
    moving = np.ones(steps, bool)
    if rng.random() < stand_prob and steps > 20:
        s0 = int(rng.integers(steps // 5, steps // 2))
        moving[s0:s0 + int(rng.integers(int(fps), int(4 * fps) + 1))] = False
    progress = np.cumsum(moving.astype(np.float64)) * speed / fps
    direction = (goal - start) / max(dist, 1e-6)
    normal = np.array([-direction[1], direction[0]])
    wander = 0.4 * np.sin(t / fps * rng.uniform(0.2, 0.6) + rng.uniform(0, 6.3))
    xz = start[None] + progress[:, None] * direction[None] + wander[:, None] * normal[None]
    stride_len = 0.7 * (speed / 1.3) ** 0.5 + 0.05
    phase = rng.uniform(0, 2 * math.pi) + progress / stride_len * math.pi
    end = int(np.searchsorted(progress, dist)) + 1
    return xz[:end], moving[:end], phase[:end]


def simulate(cfg: CrowdConfig, cam: Camera, rng: np.random.Generator,
             look_fn: Callable[[np.random.Generator], Look] = random_look) -> list[_Walker]:
    """Walkers over ``cfg.frames`` frames, arrivals keeping about ``cfg.people`` in view."""
    near, far = cam.depth_range()
    walkers: list[_Walker] = []
    alive_until: list[int] = []
    next_id = 1
    for f in range(cfg.frames):
        count = sum(1 for w, e in zip(walkers, alive_until) if w.start <= f < e)
        want = cfg.people - count
        spawn = want if f == 0 else (1 if want > 0 and rng.random() < 0.15 * want * 25.0 / cfg.fps else 0)
        for _ in range(spawn):
            xz, moving, phase = _plan_walker(cam, near, far, cfg.fps, cfg.frames - f, f == 0,
                                             cfg.stand_prob, rng)
            walkers.append(_Walker(look_fn(rng), next_id, f, xz, moving, phase))
            alive_until.append(f + len(xz))
            next_id += 1
            if rng.random() < cfg.group_prob and len(xz) > 1:
                # a companion beside (and a little ahead/behind) on the same path: long occlusions
                d = xz[-1] - xz[0]
                d = d / max(float(np.hypot(*d)), 1e-6)
                offset = (np.array([-d[1], d[0]]) * rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 0.9)
                          + d * rng.uniform(-0.6, 0.6))
                walkers.append(_Walker(look_fn(rng), next_id, f, xz + offset[None], moving.copy(),
                                       phase + rng.uniform(0.5, 2.5)))
                alive_until.append(f + len(xz))
                next_id += 1
    return walkers


def _props(cam: Camera, n: int, rng: np.random.Generator) -> list[tuple[float, float, float, float, np.ndarray]]:
    """Static occluders (x, z, width_m, height_m, colour): bollards, pillars, bins, planters."""
    near, far = cam.depth_range()
    out = []
    for _ in range(n):
        z = rng.uniform(near + 0.5, min(far, near + 12))
        half = z * (cam.width / 2.0) / cam.f
        kind = rng.integers(3)
        wm, hm = [(0.25, 1.0), (0.5, 2.6), (1.2, 0.9)][int(kind)]
        out.append((rng.uniform(-half, half) * 0.85, z, wm * rng.uniform(0.8, 1.3), hm * rng.uniform(0.8, 1.2),
                    _colour(rng) * 0.6 + 40))
    return out


def window_affine(frame_idx: int, cfg: CrowdConfig, shake: np.ndarray, canvas_wh: tuple[int, int]) -> np.ndarray:
    """2x3 affine map from canvas pixels to output pixels for one frame (pan, zoom, shake).

    The window has the output's aspect ratio; it is ``1 / canvas_scale`` of the canvas at rest,
    grows/shrinks by ``zoom`` and its centre moves by ``pan_px`` (sinusoidally) plus ``shake``.
    """
    cw, ch = canvas_wh
    T = max(cfg.frames - 1, 1)
    t = frame_idx / T
    size = 1.0 + cfg.zoom * math.sin(2 * math.pi * t * 0.75)  # >1: window larger (zoom out)
    ww = cfg.width * size
    ww = min(ww, cw)
    s = cfg.width / ww
    wh = cfg.height / s
    room_x = (cw - ww) / 2.0
    room_y = (ch - wh) / 2.0
    pan = cfg.pan_px / 2.0 * math.sin(2 * math.pi * t * 0.5 - math.pi / 2) / s
    cx = cw / 2.0 + float(np.clip(pan + shake[frame_idx, 0] / s, -room_x, room_x))
    cy = ch / 2.0 + float(np.clip(shake[frame_idx, 1] / s, -room_y, room_y))
    x0, y0 = cx - ww / 2.0, cy - wh / 2.0
    return np.array([[s, 0.0, -s * x0], [0.0, s, -s * y0]], np.float64)


def transform_boxes(tlwh: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Apply an axis-aligned (scale + shift) 2x3 affine to ``tlwh`` boxes."""
    tlwh = np.asarray(tlwh, np.float64).reshape(-1, 4)
    sx, sy = affine[0, 0], affine[1, 1]
    out = np.empty_like(tlwh)
    out[:, 0] = tlwh[:, 0] * sx + affine[0, 2]
    out[:, 1] = tlwh[:, 1] * sy + affine[1, 2]
    out[:, 2] = tlwh[:, 2] * sx
    out[:, 3] = tlwh[:, 3] * sy
    return out


class _FrameWriter:
    """Writes JPEGs on a small thread pool so encoding overlaps rendering."""

    def __init__(self, folder: Path, quality: int):
        from concurrent.futures import ThreadPoolExecutor
        self.folder = folder
        self.params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures = []

    def write(self, index: int, image: np.ndarray) -> None:
        path = self.folder / f"{index:06d}.jpg"
        self.futures.append(self.pool.submit(self._write, path, image))

    def _write(self, path: Path, image: np.ndarray) -> None:
        if not cv2.imwrite(str(path), image, self.params):
            raise OSError(f"cannot write frame {path}")

    def close(self) -> None:
        for fut in self.futures:
            fut.result()
        self.pool.shutdown()


def uninformative_frame(mode: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A frame carrying no identity: uniform grey, or fresh grey noise every frame."""
    H, W = shape
    if mode == "grey":
        return np.full((H, W, 3), 128, np.uint8)
    small = rng.integers(60, 196, (H // 2 + 1, W // 2 + 1, 1), dtype=np.uint8)
    return np.repeat(cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST)[..., None], 3, axis=2)


def walker_pose(cam: Camera, xz: np.ndarray, vel: np.ndarray, height_m: float, phase: float,
                moving: bool) -> tuple[float, Pose] | None:
    """``(depth, Pose)`` of a person standing at ground point ``xz`` = (X, Z) and walking along
    ``vel`` (both in ``cam``'s frame); None when the person is (almost) behind the camera."""
    x, z = xz
    u, vf, depth = cam.project(x, 0.0, z)
    _, vh, _ = cam.project(x, height_m, z)
    if depth <= 0.3:
        return None
    norm = float(np.hypot(*vel))
    lateral = float(vel[0] / norm) if norm > 1e-6 else 0.0
    toward = bool(vel[1] < 0) if norm > 1e-6 else True
    return float(depth), Pose(float(u), float(vf), float(vf - vh), lateral, toward, float(phase),
                              1.0 if moving else 0.0)


def cast_shadow(frame: np.ndarray, pose: Pose, sun: np.ndarray) -> None:
    """Darken a flat ellipse on the ground next to the feet (cast shadow, offset by ``sun``)."""
    ch, cw = frame.shape[:2]
    rx = max(2, int(pose.height_px * 0.22))
    ry = max(1, int(pose.height_px * 0.05))
    c = (int(pose.foot_x + sun[0] * rx), int(pose.foot_y + sun[1] * ry))
    if not (0 <= c[0] < cw and 0 <= c[1] < ch):
        return
    y_lo, y_hi = max(0, c[1] - ry), min(ch, c[1] + ry + 1)
    x_lo, x_hi = max(0, c[0] - rx), min(cw, c[0] + rx + 1)
    sm = np.zeros((y_hi - y_lo, x_hi - x_lo), np.uint8)
    cv2.ellipse(sm, (c[0] - x_lo, c[1] - y_lo), (rx, ry), 0, 0, 360, 1, -1)
    roi = frame[y_lo:y_hi, x_lo:x_hi]
    roi[sm > 0] = (roi[sm > 0] * 0.6).astype(np.uint8)


def draw_items(frame: np.ndarray, label: np.ndarray, cam: Camera, items: Sequence[tuple],
               sun: np.ndarray) -> list[tuple[int, tuple, int, int]]:
    """Paint depth-sorted ``(depth, kind, payload)`` items (far first) into ``frame``/``label``.

    kind 1: a prop ``(x, z, width_m, height_m, colour)`` in ``cam``'s frame; kind 0: a person
    ``(walker, Pose)`` with its cast shadow. Returns the people drawn, in order, as
    ``(track_id, amodal box, mask pixels, label value)``.
    """
    drawn = []
    for _, kind, payload in items:
        if kind == 1:
            px, pz, wm, hm, colour = payload
            u0, v0, _ = cam.project(px - wm / 2, 0.0, pz)
            u1, v1, _ = cam.project(px + wm / 2, hm, pz)
            pts = np.round(np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], np.float32)).astype(np.int32)
            cv2.fillConvexPoly(frame, pts, tuple(float(c) for c in colour))
            cv2.fillConvexPoly(label, pts, 0)
            cv2.line(frame, tuple(int(v) for v in pts[3]), tuple(int(v) for v in pts[2]),
                     tuple(float(c) * 1.3 for c in colour), 2)
            continue
        w, pose = payload
        patch, mask, x0, y0 = draw_person(w.look, pose)
        cast_shadow(frame, pose, sun)
        lv = len(drawn) + 1
        composite(frame, label, patch, mask, x0, y0, lv)
        drawn.append((w.track_id, mask_box(mask, x0, y0), int(mask.sum()), lv))
    return drawn


def gt_rows(f: int, drawn: Sequence[tuple], counts: np.ndarray, size: tuple[int, int],
            affine: np.ndarray | None = None) -> list[tuple]:
    """gt rows of frame index ``f`` from :func:`draw_items`' people and the label ``counts``
    (pixels per label value inside the image): ``(frame, id, l, t, w, h, consider, class,
    visibility, label value)``; boxes mapped by ``affine`` when given, people outside dropped."""
    width, height = size
    rows = []
    for tid, box, total, lv in drawn:
        vis = min(float(counts[lv]) / max(total, 1), 1.0)
        b = np.asarray(box, np.float64) if affine is None else transform_boxes(np.asarray(box), affine)[0]
        l, t, bw, bh = b.tolist()
        if l + bw <= 0 or t + bh <= 0 or l >= width or t >= height or bw < 1 or bh < 1:
            continue
        rows.append((f + 1, tid, l, t, bw, bh, 1 if vis > 0 else 0, 1, round(vis, 3), lv))
    return rows


class CrowdScene:
    """A simulated crowd (walkers, props, lighting, camera path) that renders frame by frame.

    ``frame(f)`` returns the output image, its gt rows and optionally the label map in output
    coordinates (0: background/props, k: the k-th drawn person, see ``rows``' label column).
    """

    def __init__(self, cfg: CrowdConfig, seed: int = 0):
        self.cfg = cfg
        rng = np.random.default_rng(seed)
        self.cw = int(round(cfg.width * cfg.canvas_scale))
        self.ch = int(round(cfg.height * cfg.canvas_scale))
        # the canvas keeps the output's focal length, so it sees a wider field of view
        canvas_fov = 2 * math.degrees(math.atan(cfg.canvas_scale * math.tan(math.radians(cfg.hfov_deg) / 2)))
        self.cam = Camera(self.cw, self.ch, hfov_deg=canvas_fov, height_m=cfg.camera_height_m, tilt_deg=cfg.tilt_deg)
        self.background = render_background(self.cam, cfg.background, rng)
        self.props = _props(self.cam, cfg.props, rng)
        self.light = shadow_map((self.ch, self.cw), rng, cfg.shadows)
        self.walkers = simulate(cfg, self.cam, rng)
        drift = 1.0 + cfg.brightness_drift * np.sin(np.arange(cfg.frames) / cfg.fps * rng.uniform(0.1, 0.4)
                                                    + rng.uniform(0, 6.3))
        self.drift = drift * (1.0 + rng.normal(0, 0.01, cfg.frames))  # flicker
        self.sun = np.array([rng.uniform(-1.0, 1.0), rng.uniform(0.05, 0.3)])  # cast-shadow offset
        # hand-held shake: jitter plus a slow random walk, in output pixels
        self.shake = np.zeros((cfg.frames, 2))
        if cfg.shake_px > 0:
            raw = rng.normal(0, cfg.shake_px, (cfg.frames, 2))
            self.shake = 0.6 * raw + 0.4 * np.cumsum(rng.normal(0, cfg.shake_px * 0.15, (cfg.frames, 2)), axis=0)
        self.moving_cam = cfg.canvas_scale > 1.0 or cfg.shake_px > 0
        self.frame_rng = np.random.default_rng(seed + 7919)

    def affine(self, f: int) -> np.ndarray | None:
        """Canvas -> output 2x3 map of frame index ``f`` (None for a static camera)."""
        return window_affine(f, self.cfg, self.shake, (self.cw, self.ch)) if self.moving_cam else None

    def _items(self, f: int) -> list:
        cam, items = self.cam, []
        for w in self.walkers:
            k = f - w.start
            if not 0 <= k < len(w.xz):
                continue
            vel = w.xz[min(k + 1, len(w.xz) - 1)] - w.xz[max(k - 1, 0)]
            placed = walker_pose(cam, w.xz[k], vel, w.look.height_m, w.phase[k], w.moving[k])
            if placed is not None:
                items.append((placed[0], 0, (w, placed[1])))
        for prop in self.props:
            items.append((float(cam.project(prop[0], 0.0, prop[1])[2]), 1, prop))
        items.sort(key=lambda it: -it[0])  # far first
        return items

    def frame(self, f: int, want_label: bool = False) -> tuple[np.ndarray, list[tuple], np.ndarray | None]:
        """Render frame index ``f`` (0-based): ``(image, gt rows, label map or None)``.

        gt rows: ``(frame, id, l, t, w, h, consider, class, visibility, label value)``.
        """
        cfg, cam = self.cfg, self.cam
        frame = self.background.copy()
        label = np.zeros((self.ch, self.cw), np.int32)
        drawn = draw_items(frame, label, cam, self._items(f), self.sun)
        lit = frame.astype(np.float32)
        lit *= (self.light * np.float32(self.drift[f]))[..., None]
        frame = np.clip(lit, 0, 255).astype(np.uint8)
        A = self.affine(f)
        region = label
        if A is not None:
            frame = cv2.warpAffine(frame, A, (cfg.width, cfg.height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            inv = cv2.invertAffineTransform(A)
            ix0, iy0 = int(max(0, round(inv[0, 2]))), int(max(0, round(inv[1, 2])))
            ix1 = int(min(self.cw, round(inv[0, 2] + cfg.width * inv[0, 0])))
            iy1 = int(min(self.ch, round(inv[1, 2] + cfg.height * inv[1, 1])))
            region = label[iy0:iy1, ix0:ix1]  # people pixels inside the window
        counts = np.bincount(region.ravel(), minlength=len(drawn) + 1)
        if cfg.blur_sigma > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), cfg.blur_sigma)
        if cfg.image_mode != "render":
            frame = uninformative_frame(cfg.image_mode, (cfg.height, cfg.width), self.frame_rng)
        rows = gt_rows(f, drawn, counts, (cfg.width, cfg.height), A)
        out_label = None
        if want_label:
            out_label = label if A is None else cv2.warpAffine(
                label.astype(np.float32), A, (cfg.width, cfg.height), flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(np.int32)
        return frame, rows, out_label


def render_sequence(out_dir: str | Path, name: str, cfg: CrowdConfig, seed: int = 0,
                    progress: bool = False) -> tuple[Path, np.ndarray]:
    """Render a crowd into ``<out_dir>/<name>`` (``img1/``, ``seqinfo.ini``, ``gt/gt.txt``).

    Returns ``(folder, gt rows (N, 9))``; ``det/det.txt`` is written by the caller from the gt
    (see :func:`reid_tracker_ros.mot.detnoise.noisy_detections`). gt rows whose person is
    entirely hidden get consider flag 0; people entirely outside the window get no row.
    """
    seq = Path(out_dir) / name
    scene = CrowdScene(cfg, seed)
    gt = write_sequence(seq, cfg.frames, cfg.fps, (cfg.width, cfg.height), lambda f: scene.frame(f)[:2],
                        cfg.jpeg_quality, progress)
    return seq, gt


def write_sequence(seq: Path, frames: int, fps: float, size: tuple[int, int],
                   render: Callable[[int], tuple[np.ndarray, list[tuple]]], jpeg_quality: int = 88,
                   progress: bool = False) -> np.ndarray:
    """Write frames ``render(f) -> (image, gt rows)`` for ``f`` in ``0..frames-1`` as the
    MOTChallenge folder ``seq`` (``img1/``, ``gt/gt.txt``, ``seqinfo.ini``); returns gt (N, 9)."""
    (seq / "img1").mkdir(parents=True, exist_ok=True)
    writer = _FrameWriter(seq / "img1", jpeg_quality)
    gt_rows: list[tuple] = []
    bar = _progress(frames, seq.name) if progress else None
    try:
        for f in range(frames):
            image, rows = render(f)
            writer.write(f + 1, image)
            gt_rows.extend(r[:9] for r in rows)
            if bar is not None:
                bar(f + 1)
    finally:
        writer.close()
    gt = np.asarray(gt_rows, np.float64).reshape(-1, 9)
    write_gt(seq / "gt" / "gt.txt", gt)
    write_seqinfo(SequenceInfo(name=seq.name, frame_rate=fps, seq_length=frames, im_width=size[0],
                               im_height=size[1]), seq)
    return gt


def write_gt(path: Path, gt: np.ndarray) -> None:
    """``gt.txt`` lines ``frame,id,left,top,w,h,consider,class,visibility`` sorted by frame, id."""
    gt = np.asarray(gt, np.float64).reshape(-1, 9)
    gt = gt[np.lexsort((gt[:, 1], gt[:, 0]))]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{int(r[6])},{int(r[7])},"
                      f"{r[8]:.3f}\n" for r in gt.tolist())


# --------------------------------------------------------------------------------------------
# People along given (e.g. real) trajectories


def render_along_boxes(out_dir: str | Path, name: str, gt: np.ndarray, width: int, height: int, fps: float,
                       seed: int = 0, background: str = "plaza", image_mode: str = "render",
                       jpeg_quality: int = 88, progress: bool = False) -> tuple[Path, np.ndarray]:
    """Render this module's people along given gt boxes (e.g. real TUD trajectories).

    Each identity gets its own look; bodies are scaled to fill each box (feet at the box bottom),
    walking phase follows the horizontal motion, the drawing order follows the box bottom (lower
    = nearer). Returns ``(folder, gt rows)`` where the boxes are the input's and the visibility
    column is computed from the rendering. ``image_mode``: render | grey | noise.
    """
    rng = np.random.default_rng(seed)
    gt = np.asarray(gt, np.float64)
    if gt.ndim != 2 or gt.shape[1] < 6:
        raise ValueError(f"render_along_boxes: gt must be (N, >=6) rows frame,id,l,t,w,h,..., got {gt.shape}")
    if len(gt) == 0:
        raise ValueError(f"render_along_boxes({name}): no ground-truth rows")
    seq = Path(out_dir) / name
    (seq / "img1").mkdir(parents=True, exist_ok=True)
    frames = int(gt[:, 0].max())
    cam = Camera(width, height, hfov_deg=60.0, height_m=2.2, tilt_deg=8.0)
    bg = render_background(cam, background, rng)
    light = shadow_map((height, width), rng, 0.25)
    looks = {int(i): random_look(rng) for i in np.unique(gt[:, 1])}
    by_frame: dict[int, np.ndarray] = {}
    order = np.argsort(gt[:, 0], kind="stable")
    for row in gt[order]:
        by_frame.setdefault(int(row[0]), []).append(row)  # type: ignore[arg-type]
    # per identity: horizontal speed and height trend for pose
    phase: dict[int, float] = {i: float(rng.uniform(0, 6.28)) for i in looks}
    last: dict[int, np.ndarray] = {}
    vis_out = np.ones(len(gt))
    index_of = {(int(r[0]), int(r[1])): k for k, r in enumerate(gt)}
    writer = _FrameWriter(seq / "img1", jpeg_quality)
    frame_rng = np.random.default_rng(seed + 7919)
    drift = 1.0 + 0.08 * np.sin(np.arange(frames + 1) / fps * 0.3 + rng.uniform(0, 6.3))
    bar = _progress(frames, name) if progress else None
    try:
        for f in range(1, frames + 1):
            frame = bg.copy()
            label = np.zeros((height, width), np.int32)
            rows = sorted(by_frame.get(f, []), key=lambda r: r[3] + r[5])  # far (higher bottom edge) first
            drawn = []
            for r in rows:
                tid = int(r[1])
                l, t, w, h = r[2:6]
                prev = last.get(tid)
                dx = 0.0 if prev is None else (l + w / 2) - (prev[0] + prev[2] / 2)
                dh = 0.0 if prev is None else h - prev[3]
                last[tid] = np.array([l, t, w, h])
                speed = abs(dx) / max(h, 1.0) * fps  # body heights per second
                moving = speed > 0.08
                phase[tid] += min(speed, 1.2) * 2 * math.pi / fps * 1.7 if moving else 0.0
                lateral = float(np.clip(dx / max(abs(dx) + abs(dh) * 0.5, 1e-6), -1, 1)) if moving else 0.0
                look = looks[tid]
                body_h = h * 0.97
                pose = Pose(l + w / 2, t + h - 1, body_h, lateral, dh >= 0, phase[tid], 1.0 if moving else 0.0)
                # widen/narrow the body so its drawn width follows the box (build within bounds)
                look_w = replace(look, build=float(np.clip(w / max(h, 1) / 0.40, 0.7, 1.5)))
                patch, mask, x0, y0 = draw_person(look_w, pose)
                lv = len(drawn) + 1
                composite(frame, label, patch, mask, x0, y0, lv)
                drawn.append(((f, tid), int(mask.sum()), lv))
            lit = frame.astype(np.float32) * (light * np.float32(drift[f]))[..., None]
            frame = cv2.GaussianBlur(np.clip(lit, 0, 255).astype(np.uint8), (0, 0), 0.6)
            if image_mode != "render":
                frame = uninformative_frame(image_mode, (height, width), frame_rng)
            writer.write(f, frame)
            if drawn:
                counts = np.bincount(label.ravel(), minlength=len(drawn) + 1)
                for key, total, lv in drawn:
                    vis_out[index_of[key]] = round(float(counts[lv]) / max(total, 1), 3)
            if bar is not None:
                bar(f)
    finally:
        writer.close()
    out = np.zeros((len(gt), 9))
    out[:, :6] = gt[:, :6]
    out[:, 6] = gt[:, 6] if gt.shape[1] > 6 else 1
    out[:, 7] = 1
    out[:, 8] = vis_out
    write_gt(seq / "gt" / "gt.txt", out)
    write_seqinfo(SequenceInfo(name=name, frame_rate=fps, seq_length=frames, im_width=width, im_height=height), seq)
    return seq, out


def _progress(total: int, name: str) -> Callable[[int], None]:
    """A one-line text progress bar on stderr (no extra dependency)."""
    import sys

    def update(done: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            n = int(30 * done / total)
            sys.stderr.write(f"\r{name:<28} [{'#' * n}{'.' * (30 - n)}] {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
    return update


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Render one crowd sequence (MOTChallenge folder) with the second renderer.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--name", default="CROWD-01")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--det-model", default="yolo")
    args = ap.parse_args(argv)
    from reid_tracker_ros.mot.detnoise import noisy_detections, write_detections
    cfg = CrowdConfig(width=args.width, height=args.height, fps=args.fps, frames=args.frames, people=args.people)
    seq, gt = render_sequence(args.out, args.name, cfg, seed=args.seed, progress=True)
    det = noisy_detections(gt, model=args.det_model, rng=np.random.default_rng(args.seed + 1),
                           image_size=(cfg.width, cfg.height))
    write_detections(seq / "det" / "det.txt", det)
    print(seq)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
