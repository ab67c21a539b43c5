"""Image messages (sensor_msgs/Image, CompressedImage: any object with their fields, from rclpy
or from a bag) -> RGB uint8 HxWx3 arrays, the single layout every core expects.

numpy converts the common 8-bit encodings (a zero-copy view for rgb8); other encodings go to
a ``fallback`` converter when one is given (the nodes pass cv_bridge's, see ros/conversions)."""
from __future__ import annotations

from typing import Callable

import numpy as np

# encoding -> (channels, channel order to take for R, G, B or None for grey)
_ENCODINGS: dict[str, tuple[int, tuple[int, int, int] | None]] = {
    "rgb8": (3, (0, 1, 2)),
    "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)),
    "mono8": (1, None),
    "8UC3": (3, (0, 1, 2)),
    "8UC1": (1, None),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)


class ImageConversionError(ValueError):
    """An image message that cannot be turned into an RGB array (the message says why)."""


def image_to_rgb(msg, fallback: Callable[[object], np.ndarray | None] | None = None) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB (a view when the encoding is already rgb8).
    ``fallback(msg)`` converts encodings numpy does not know (None: it cannot either)."""
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    encoding = msg.encoding
    if encoding not in _ENCODINGS:
        converted = fallback(msg) if fallback is not None and height and width else None
        if converted is not None:
            return converted
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}' (supported: {', '.join(SUPPORTED_ENCODINGS)})")
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    channels, order = _ENCODINGS[encoding]
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if step < width * channels:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {width * channels} for '{encoding}'")
    if buf.size < step * height:
        raise ImageConversionError(
            f"data holds {buf.size} bytes but step*height = {step * height} ({width}x{height} '{encoding}')")
    rows = buf[: step * height].reshape(height, step)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    if order is None:
        return np.repeat(pixels, 3, axis=2)
    if order == (0, 1, 2) and channels == 3:
        return pixels
    return np.ascontiguousarray(pixels[:, :, list(order)])


def compressed_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 RGB."""
    import cv2

    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageConversionError("empty CompressedImage")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageConversionError(f"could not decode CompressedImage (format '{msg.format}')")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
