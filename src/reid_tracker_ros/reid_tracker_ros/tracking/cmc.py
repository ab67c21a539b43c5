"""Camera-motion compensation (CMC): the global image motion between consecutive frames.

A hand-held or swaying camera moves every target in the image at once; a constant-velocity
Kalman filter then predicts boxes where nobody is, and IoU matching fails. Estimating the
frame-to-frame motion as a 2x3 affine ``A`` (``p_now = A[:, :2] @ p_before + A[:, 2]``) and
moving the track states with it (:meth:`ConstantVelocityKalmanFilter.warp`) removes that.

Computed once per frame on a downscaled grey image (the motion of a whole frame does not need
full resolution: at 0.5 scale a 960x540 frame costs ~1 ms with sparse flow). Two methods:

- ``sparse_flow``: Shi-Tomasi corners tracked by pyramidal Lucas-Kanade, then a RANSAC
  similarity fit (rotation, uniform scale, translation); robust to moving people because they
  are outliers of the one global motion.
- ``ecc``: OpenCV's enhanced-correlation-coefficient alignment (euclidean motion); denser and
  steadier on low-texture scenes, a few times slower.

Pure: numpy + OpenCV, no ROS; failures (too few corners, ECC not converging) give the identity.
"""
from __future__ import annotations

import cv2
import numpy as np

CMC_METHODS = ("none", "sparse_flow", "ecc")
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
MIN_INLIERS = 12  # sparse flow: corners that must agree on the camera's motion
MIN_INLIER_RATIO = 0.5  # ... and the share of all tracked corners they must be


def to_grey(image: np.ndarray, scale: float) -> np.ndarray:
    """uint8 grey image resized by ``scale`` (area interpolation: no aliasing)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif img.ndim != 2:
        raise ValueError(f"CMC expects an (H, W) or (H, W, 3|4) image, got shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if scale != 1.0:
        h, w = img.shape
        size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img


def rescale_affine(affine_small: np.ndarray, scale: float) -> np.ndarray:
    """Affine found on an image resized by ``scale`` -> the same motion in full-size pixels."""
    out = np.array(affine_small, dtype=np.float64).reshape(2, 3)
    out[:, 2] /= scale
    return out


class CameraMotionEstimator:
    """Frame-to-frame affine of the camera image; feed every frame in order.

    ``estimate(frame)`` returns the motion from the previous frame to this one (identity on
    the first frame, after :meth:`reset`, on a size change, or when the estimate fails).
    ``mask_boxes`` (xyxy, full-size pixels) hides detections from the sparse-flow corner search
    so the people, who move on their own, do not vote.
    """

    def __init__(self, method: str = "sparse_flow", scale: float = 0.5, max_corners: int = 300,
                 ecc_iterations: int = 50, ecc_eps: float = 1e-4) -> None:
        if method not in CMC_METHODS or method == "none":
            raise ValueError(f"unknown CMC method {method!r}; valid: {list(CMC_METHODS[1:])}")
        if not 0.05 <= scale <= 1.0:
            raise ValueError(f"CMC scale must be in [0.05, 1], got {scale}")
        self.method = method
        self.scale = float(scale)
        self.max_corners = int(max_corners)
        self._criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, int(ecc_iterations),
                          float(ecc_eps))
        self._prev: np.ndarray | None = None
        self.failures = 0  # frames whose estimate fell back to the identity

    def reset(self) -> None:
        self._prev = None

    def estimate(self, frame: np.ndarray, mask_boxes: np.ndarray | None = None) -> np.ndarray:
        grey = to_grey(frame, self.scale)
        prev, self._prev = self._prev, grey
        if prev is None or prev.shape != grey.shape:
            return IDENTITY.copy()
        if self.method == "ecc":
            small = self._ecc(prev, grey)
        else:
            small = self._sparse_flow(prev, grey, mask_boxes)
        if small is None or not np.isfinite(small).all():
            self.failures += 1
            return IDENTITY.copy()
        return rescale_affine(small, self.scale)

    def _ecc(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray | None:
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            # Finds W with cur(W p) ~ prev(p): W maps previous-frame points into this frame.
            _, warp = cv2.findTransformECC(prev, cur, warp, cv2.MOTION_EUCLIDEAN, self._criteria,
                                           None, 1)
        except cv2.error:
            return None
        return warp.astype(np.float64)

    def _sparse_flow(self, prev: np.ndarray, cur: np.ndarray,
                     mask_boxes: np.ndarray | None) -> np.ndarray | None:
        mask = None
        if mask_boxes is not None and len(mask_boxes):
            mask = np.full(prev.shape, 255, np.uint8)
            b = np.round(np.asarray(mask_boxes, np.float64).reshape(-1, 4) * self.scale).astype(int)
            h, w = prev.shape
            for x1, y1, x2, y2 in b:
                mask[max(y1, 0):min(y2, h), max(x1, 0):min(x2, w)] = 0
        pts = cv2.goodFeaturesToTrack(prev, self.max_corners, 0.01, 3, mask=mask, blockSize=3)
        if pts is None or len(pts) < 6:
            return None
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=(15, 15),
                                                  maxLevel=3)
        ok = status.reshape(-1) == 1
        if ok.sum() < 6:
            return None
        affine, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0)
        # an estimate most tracked corners disagree with is noise (sensor noise, flicker, a
        # scene of moving people): no compensation beats a wrong one
        if (affine is None or inliers is None or inliers.sum() < MIN_INLIERS
                or inliers.sum() < MIN_INLIER_RATIO * ok.sum()):
            return None
        return affine


def make_cmc(method: str, scale: float = 0.5) -> CameraMotionEstimator | None:
    """Estimator for a config value; None for ``"none"``."""
    if method == "none":
        return None
    return CameraMotionEstimator(method, scale)
