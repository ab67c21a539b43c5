"""Image transforms for ReID training and evaluation (numpy/OpenCV in, torch tensor out).

Written on uint8 RGB arrays with OpenCV rather than PIL: cheaper per image, so two loader
workers keep up with a CPU training step. Normalisation matches the embedder's metadata
convention: ``(pixel / 255 - mean) / std`` per RGB channel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_rgb(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {getattr(img, 'shape', None)} "
                         f"dtype {getattr(img, 'dtype', type(img).__name__)}")


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to (height, width) (no-op when already that size)."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > height else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def pad_crop(img: np.ndarray, pad: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-pad by ``pad`` pixels on every side and crop back to the original size at a random
    offset: small translations, as a detector's box jitter gives."""
    if pad <= 0:
        return img
    h, w = img.shape[:2]
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    y, x = int(rng.integers(0, 2 * pad + 1)), int(rng.integers(0, 2 * pad + 1))
    return padded[y:y + h, x:x + w]


def random_erasing(x: np.ndarray, rng: np.random.Generator, area: tuple[float, float] = (0.02, 0.4),
                   aspect: tuple[float, float] = (0.3, 3.3), attempts: int = 20) -> np.ndarray:
    """Erase one random rectangle of a (3, H, W) float array in place with random normal values
    (Zhong et al., "Random Erasing Data Augmentation"): simulates occlusion."""
    _, h, w = x.shape
    for _ in range(attempts):
        target = rng.uniform(*area) * h * w
        ratio = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        eh, ew = int(round(np.sqrt(target * ratio))), int(round(np.sqrt(target / ratio)))
        if 0 < eh < h and 0 < ew < w:
            y, xo = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            x[:, y:y + eh, xo:xo + ew] = rng.standard_normal((3, eh, ew), dtype=np.float32)
            break
    return x


@dataclass
class ReIDTransform:
    """Callable: uint8 RGB (H, W, 3) -> float32 torch tensor (3, height, width).

    Train mode adds horizontal flip (``flip_p``), pad-crop (``pad`` px), the optional
    ``randomizer(img uint8 RGB, rng) -> img`` (domain randomisation, see
    :mod:`.domain_randomization`; applied after resizing) and random erasing (``erasing_p``). The random stream is per worker process (seeded from torch's worker seed
    when running in a DataLoader worker), so augmentations differ between workers.
    """

    height: int = 256
    width: int = 128
    train: bool = False
    flip_p: float = 0.5
    pad: int = 10
    erasing_p: float = 0.5
    mean: Sequence[float] = IMAGENET_MEAN
    std: Sequence[float] = IMAGENET_STD
    seed: int | None = None
    randomizer: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"transform size must be positive, got {self.height}x{self.width}")
        for name in ("flip_p", "erasing_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        mean = np.asarray(self.mean, np.float32).reshape(-1)
        std = np.asarray(self.std, np.float32).reshape(-1)
        if mean.shape != (3,) or std.shape != (3,) or not (std > 0).all():
            raise ValueError(f"mean/std must be 3 values with std > 0, got {self.mean!r}, {self.std!r}")
        self._scale = (1.0 / (255.0 * std)).reshape(3, 1, 1)
        self._bias = (-mean / std).reshape(3, 1, 1)
        self._rng: np.random.Generator | None = None
        self._rng_key: int | None = None

    def _generator(self) -> np.random.Generator:
        import torch.utils.data

        info = torch.utils.data.get_worker_info()
        key = info.seed if info is not None else -1
        if self._rng is None or key != self._rng_key:
            base = self.seed if self.seed is not None else 0
            self._rng = np.random.default_rng(np.random.SeedSequence([base, key & 0xFFFFFFFF if key >= 0 else 0]))
            self._rng_key = key
        return self._rng

    def __call__(self, img: np.ndarray):
        import torch

        _check_rgb(img)
        img = resize(img, self.height, self.width)
        rng = self._generator() if self.train else None
        if rng is not None:
            if rng.random() < self.flip_p:
                img = img[:, ::-1]
            img = pad_crop(img, self.pad, rng)
            if self.randomizer is not None:
                img = self.randomizer(np.ascontiguousarray(img), rng)
        x = np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
        x *= self._scale
        x += self._bias
        if rng is not None and rng.random() < self.erasing_p:
            random_erasing(x, rng)
        return torch.from_numpy(x)


def build_transforms(height: int = 256, width: int = 128, is_train: bool = True, flip_p: float = 0.5,
                     pad: int = 10, erasing_p: float = 0.5, mean: Sequence[float] = IMAGENET_MEAN,
                     std: Sequence[float] = IMAGENET_STD, seed: int | None = None,
                     randomizer: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
                     ) -> ReIDTransform:
    """Train (``is_train``: flip, pad-crop, ``randomizer``, random erasing) or eval transform; see
    :class:`ReIDTransform`."""
    return ReIDTransform(height, width, is_train, flip_p, pad, erasing_p, tuple(mean), tuple(std), seed,
                         randomizer if is_train else None)
