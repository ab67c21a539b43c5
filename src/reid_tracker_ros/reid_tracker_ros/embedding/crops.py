"""Cut person crops out of an image and turn them into a normalised network batch.

Output layout: float32 ``(N, 3, H, W)``, RGB, ``(pixel / 255 - mean) / std`` per channel (see
:mod:`.metadata`). Bad boxes (NaN/inf, zero or negative size, fully outside the image) never
raise: their rows are zero and their entry in the returned ``valid`` mask is False.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .metadata import IMAGENET_MEAN, IMAGENET_STD


def _check_image(image_rgb: np.ndarray) -> None:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 or image_rgb.shape[2] != 3 \
            or image_rgb.dtype != np.uint8:
        shape = getattr(image_rgb, "shape", None)
        dtype = getattr(image_rgb, "dtype", type(image_rgb).__name__)
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {shape} dtype {dtype}")


def pixel_boxes(boxes_xyxy: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip float xyxy boxes to the image and round outwards to integer pixel bounds.

    Returns ``(int boxes (N, 4), valid (N,))``. A box is valid when all four values are finite,
    it has positive width and height, and some of it lies inside the image.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4), np.int64), np.zeros(0, bool)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) xyxy, got {boxes.shape}")
    finite = np.isfinite(boxes).all(axis=1)
    safe = np.where(finite[:, None], boxes, 0.0)
    lo = np.floor(np.clip(safe[:, :2], 0.0, [width, height]))
    hi = np.ceil(np.clip(safe[:, 2:], 0.0, [width, height]))
    ints = np.concatenate([lo, hi], axis=1).astype(np.int64)
    valid = (finite & (safe[:, 2] > safe[:, 0]) & (safe[:, 3] > safe[:, 1])
             & (ints[:, 2] > ints[:, 0]) & (ints[:, 3] > ints[:, 1]))
    return ints, valid


class CropPreprocessor:
    """Reusable crop + resize + normalise step with preallocated buffers.

    The returned batch is a view into an internal buffer that the next call overwrites: consume
    (or copy) it before calling again. Buffers grow (doubling) only when a frame has more boxes
    than ever before, so steady-state frames allocate nothing large.
    """

    def __init__(self, out_hw: tuple[int, int] = (256, 128), mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, capacity: int = 32,
                 interpolation: int = cv2.INTER_LINEAR) -> None:
        h, w = (int(v) for v in out_hw)
        if h <= 0 or w <= 0:
            raise ValueError(f"out_hw must be positive (height, width), got {out_hw!r}")
        mean = np.asarray(mean, np.float64).reshape(-1)
        std = np.asarray(std, np.float64).reshape(-1)
        if mean.shape != (3,) or std.shape != (3,) or not (std > 0).all():
            raise ValueError(f"mean and std must be 3 values with std > 0, got {mean!r}, {std!r}")
        self.out_hw = (h, w)
        self.interpolation = interpolation
        # (x / 255 - mean) / std == x * scale + bias, applied in one pass over the batch
        self._scale = (1.0 / (255.0 * std)).astype(np.float32).reshape(1, 3, 1, 1)
        self._bias = (-mean / std).astype(np.float32).reshape(1, 3, 1, 1)
        self._pixels = np.empty((0, h, w, 3), np.uint8)
        self._batch = np.empty((0, 3, h, w), np.float32)
        self._reserve(max(int(capacity), 1))

    @property
    def capacity(self) -> int:
        return len(self._batch)

    def _reserve(self, n: int) -> None:
        if n <= len(self._batch):
            return
        n = max(n, 2 * len(self._batch))
        h, w = self.out_hw
        self._pixels = np.empty((n, h, w, 3), np.uint8)
        self._batch = np.empty((n, 3, h, w), np.float32)

    def __call__(self, image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(batch (N, 3, H, W) float32 view, valid (N,) bool)`` for the boxes."""
        _check_image(image_rgb)
        image_rgb = np.ascontiguousarray(image_rgb)  # cv2 rejects negative strides (e.g. a BGR flip view)
        img_h, img_w = image_rgb.shape[:2]
        ints, valid = pixel_boxes(boxes_xyxy, img_w, img_h)
        n = len(ints)
        self._reserve(n)
        h, w = self.out_hw
        pixels = self._pixels[:n]
        batch = self._batch[:n]
        for i in np.flatnonzero(valid):
            x1, y1, x2, y2 = ints[i]
            cv2.resize(image_rgb[y1:y2, x1:x2], (w, h), dst=pixels[i], interpolation=self.interpolation)
        np.multiply(pixels.transpose(0, 3, 1, 2), self._scale, out=batch)
        batch += self._bias
        if not valid.all():
            batch[~valid] = 0.0
        return batch, valid


def crop_and_resize(image_rgb: np.ndarray, boxes_xyxy: np.ndarray, out_hw: tuple[int, int] = (256, 128),
                    mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD) -> tuple[np.ndarray, np.ndarray]:
    """One-shot version of :class:`CropPreprocessor` returning an owned array.

    Per-frame loops should keep one :class:`CropPreprocessor` instead, to reuse its buffers.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    capacity = len(boxes) if boxes.ndim else 1
    return CropPreprocessor(out_hw, mean, std, capacity=max(capacity, 1))(image_rgb, boxes)
