"""Domain randomisation for ReID training crops (uint8 RGB in, uint8 RGB out, same size).

A model trained on one renderer learns that renderer's colours, optics, backgrounds and body
proportions. These augmentations vary exactly those nuisances per crop, so the features have to
rest on what stays the same across cameras and renderers (clothing layout, relative colours,
shape):

- geometry: person scale, aspect (body proportions) and position in the box;
- resolution: down- then up-sampling (small, far-away people; low-resolution cameras);
- colour: brightness, contrast, saturation, hue; per-channel casts and gamma; grey;
- optics: Gaussian blur, sensor noise, JPEG re-compression;
- scene: random textured background at the crop's left/right margins (the person stands in the
  centre of every training crop, so a soft margin mask replaces mostly background) and
  occluders (bars, boxes, a textured block over one side or the lower body).

Random erasing (occlusion by noise) stays in :mod:`.transforms`. All draws come from the
generator passed in, so a seeded generator gives the same output every time.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np


@dataclass(frozen=True)
class DomainRandomization:
    """Probabilities (``p_*``) and ranges of every augmentation; ``STANDARD`` is the default set."""

    p_geometry: float = 0.5
    scale: tuple[float, float] = (0.85, 1.2)
    aspect: tuple[float, float] = (0.85, 1.35)
    shift: float = 0.06  # fraction of width / height
    p_resolution: float = 0.4
    resolution: tuple[float, float] = (0.25, 0.8)  # kept fraction of each side
    p_color: float = 0.8
    brightness: tuple[float, float] = (0.6, 1.4)
    contrast: tuple[float, float] = (0.6, 1.4)
    saturation: tuple[float, float] = (0.3, 1.5)
    hue_deg: float = 12.0
    p_cast: float = 0.5
    cast_sigma: float = 0.15  # log-gain per channel
    gamma: tuple[float, float] = (0.7, 1.4)
    p_grey: float = 0.1
    p_blur: float = 0.3
    blur_sigma: tuple[float, float] = (0.4, 1.6)
    p_noise: float = 0.3
    noise_sigma: tuple[float, float] = (2.0, 10.0)
    p_jpeg: float = 0.3
    jpeg_quality: tuple[int, int] = (30, 90)
    p_background: float = 0.3
    person_band: tuple[float, float] = (0.45, 0.7)  # central share of the width kept
    p_occluder: float = 0.3

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("p_") and not 0.0 <= v <= 1.0:
                raise ValueError(f"DomainRandomization.{f.name} must be in [0, 1], got {v}")
            if isinstance(v, tuple) and not v[0] <= v[1]:
                raise ValueError(f"DomainRandomization.{f.name} must be (low, high) with low <= high, got {v}")
        if not (0.0 < self.resolution[0] and self.resolution[1] <= 1.0):
            raise ValueError(f"DomainRandomization.resolution must lie in (0, 1], got {self.resolution}")

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return randomize(img, rng, self)


STANDARD = DomainRandomization()
# Camera-level nuisances only: no hue shift, no grey, milder saturation. A hue shift turns a red
# shirt into an orange one, i.e. it imitates a *different* person; clothing colour is the cue that
# survives a change of renderer (see docs/reid.md for what each preset did across renderers).
CAMERA = DomainRandomization(saturation=(0.6, 1.3), hue_deg=0.0, p_grey=0.0)
PRESETS = {"off": None, "standard": STANDARD, "camera": CAMERA}


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random (h, w, 3) float32 scene texture: flat colour, smooth blobs or stripes, plus noise."""
    kind = int(rng.integers(3))
    base = rng.uniform(20, 235, 3).astype(np.float32)
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = base
    if kind == 1:  # low-frequency blobs
        small = rng.normal(0, 40, (max(h // 12, 2), max(w // 12, 2), 3)).astype(np.float32)
        tex += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    elif kind == 2:  # stripes (walls, windows, fences)
        period = int(rng.integers(6, max(7, w // 2)))
        other = rng.uniform(20, 235, 3).astype(np.float32)
        axis = np.arange(w if rng.random() < 0.5 else h)
        on = (axis % period) < period // 2
        if len(axis) == w:
            tex[:, on] = other
        else:
            tex[on, :] = other
    tex += rng.normal(0, rng.uniform(0, 12), (h, w, 1)).astype(np.float32)
    return tex


def _geometry(img: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization) -> np.ndarray:
    h, w = img.shape[:2]
    s = rng.uniform(*cfg.scale)
    sx, sy = s * rng.uniform(*cfg.aspect), s
    tx = w / 2 * (1 - sx) + rng.uniform(-cfg.shift, cfg.shift) * w
    ty = h / 2 * (1 - sy) + rng.uniform(-cfg.shift, cfg.shift) * h
    m = np.array([[sx, 0.0, tx], [0.0, sy, ty]], np.float32)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _resolution(img: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization) -> np.ndarray:
    h, w = img.shape[:2]
    f = rng.uniform(*cfg.resolution)
    small = cv2.resize(img, (max(int(w * f), 4), max(int(h * f), 8)), interpolation=cv2.INTER_AREA)
    interp = cv2.INTER_NEAREST if rng.random() < 0.2 else cv2.INTER_LINEAR
    return cv2.resize(small, (w, h), interpolation=interp)


def _color(x: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization) -> np.ndarray:
    """Brightness, contrast, saturation and hue on a float32 RGB image in [0, 255]."""
    x *= rng.uniform(*cfg.brightness)
    mean = x.mean()
    x = (x - mean) * rng.uniform(*cfg.contrast) + mean
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[..., None] + (x - grey[..., None]) * rng.uniform(*cfg.saturation)
    if cfg.hue_deg > 0:
        hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        shift = int(round(rng.uniform(-cfg.hue_deg, cfg.hue_deg) / 2))  # OpenCV hue: 0..179
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
    return x


def _cast(x: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization) -> np.ndarray:
    gains = np.exp(rng.normal(0.0, cfg.cast_sigma, 3)).astype(np.float32)
    gamma = rng.uniform(*cfg.gamma)
    return 255.0 * (np.clip(x, 0, 255) / 255.0) ** gamma * gains


def _background(x: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization) -> np.ndarray:
    """Blend a random texture into the left/right margins with a soft mask (centre kept)."""
    h, w = x.shape[:2]
    band = rng.uniform(*cfg.person_band) * w
    centre = w / 2 + rng.normal(0, 0.03 * w)
    dist = np.abs(np.arange(w, dtype=np.float32) + 0.5 - centre) - band / 2
    alpha = np.clip(dist / max(0.08 * w, 1.0), 0.0, 1.0)[None, :, None]
    return x * (1 - alpha) + _texture(h, w, rng) * alpha


def _occluder(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A textured bar (pole), a block over the lower body, or a block at one side."""
    h, w = x.shape[:2]
    kind = int(rng.integers(3))
    if kind == 0:
        bw = max(int(w * rng.uniform(0.08, 0.25)), 1)
        x0 = int(rng.integers(0, w - bw + 1))
        y0, y1, x1 = 0, h, x0 + bw
    elif kind == 1:
        y0 = int(h * rng.uniform(0.55, 0.85))
        x0, x1, y1 = int(w * rng.uniform(0, 0.4)), int(w * rng.uniform(0.6, 1.0)), h
    else:
        bw = max(int(w * rng.uniform(0.2, 0.4)), 1)
        x0 = 0 if rng.random() < 0.5 else w - bw
        y0, y1, x1 = int(h * rng.uniform(0, 0.5)), h, x0 + bw
    if y1 > y0 and x1 > x0:
        x[y0:y1, x0:x1] = _texture(y1 - y0, x1 - x0, rng)
    return x


def randomize(img: np.ndarray, rng: np.random.Generator, cfg: DomainRandomization = STANDARD) -> np.ndarray:
    """One randomised copy of a uint8 (H, W, 3) RGB crop (same shape and dtype)."""
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"randomize: expected an (H, W, 3) uint8 RGB image, got shape "
                         f"{getattr(img, 'shape', None)} dtype {getattr(img, 'dtype', type(img).__name__)}")
    if rng.random() < cfg.p_geometry:
        img = _geometry(img, rng, cfg)
    x = img.astype(np.float32)
    if rng.random() < cfg.p_background:
        x = _background(x, rng, cfg)
    if rng.random() < cfg.p_occluder:
        x = _occluder(x, rng)
    if rng.random() < cfg.p_color:
        x = _color(x, rng, cfg)
    if rng.random() < cfg.p_cast:
        x = _cast(x, rng, cfg)
    if rng.random() < cfg.p_grey:
        x = np.repeat((x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=2)
    img = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_resolution:
        img = _resolution(img, rng, cfg)
    if rng.random() < cfg.p_blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.p_noise:
        noisy = img.astype(np.float32) + rng.normal(0, rng.uniform(*cfg.noise_sigma), img.shape).astype(np.float32)
        img = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_jpeg:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:  # channel order does not matter for a round trip
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(img)
