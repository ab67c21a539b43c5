"""Camera-motion compensation (CMC): the global image motion between consecutive frames.

A hand-held or swaying camera moves every target in the image at once; a constant-velocity
Kalman filter then predicts boxes where nobody is, and IoU matching fails. Estimating the
frame-to-frame motion as a 2x3 affine ``A`` (``p_now = A[:, :2] @ p_before + A[:, 2]``) and
moving the track states with it (:meth:`ConstantVelocityKalmanFilter.warp`) removes that.

Computed once per frame on a downscaled grey image (the motion of a whole frame does not need
full resolution; BoxMOT's and Ultralytics' GMC downscale too). The cost is bounded whatever the
image shows: downscaling by exact halvings (OpenCV's fast 2x area path), at most
``MAX_CORNERS`` corners spread over the image, a small Lucas-Kanade window with few
pyramid levels and an iteration cap (on frames of plain noise the flow never converges, and an
uncapped search cost 10-20 ms per frame there). The background
corners that agreed with the last estimate are tracked on instead of searched for again; a
fresh corner search runs only when too few are left (camera pan, occlusion), after a failed
estimate, or every ``REFRESH_FRAMES`` frames. A camera that stands still is measured only every
``RETRY_EVERY``-th frame (against the last measured image, so motion that starts in between is
compensated late, not lost). Two methods:

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
# With half the corners inliers, 2-point samples find an all-inlier one in 100 draws with
# probability 1 - 0.75^100; OpenCV's default 2000 draws only spend time on noise frames,
# whose estimate is rejected anyway.
RANSAC_ITERATIONS = 100
MAX_CORNERS = 100  # enough for a RANSAC similarity fit; Lucas-Kanade cost grows with the count
CORNER_SPACING = 1 / 40  # minimum corner distance, as a share of the working image's short side
CORNER_IMAGE_MIN = 96  # corners are sought at half the working size when its short side is >= this
LK_WINDOW = (9, 9)  # Lucas-Kanade window on the working image [px]
LK_LEVELS = 3  # pyramid levels above the working image: reach ~ window/2 * 2^levels = 36 px there
LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)  # iterations, px
MIN_KEPT_SHARE = 0.5  # corners kept from the last frame: search afresh below this share of the last search's
REFRESH_FRAMES = 5  # ... and at least this often, so the corners stay spread over the image
# After this many failed estimates in a row (plain noise, darkness, a blank wall) only every
# RETRY_EVERY-th frame is tried: the others would fail too, at full cost, and give the identity
# all the same; a camera that starts moving there is compensated at most RETRY_EVERY-1 frames late.
FAILED_IN_A_ROW = 3
RETRY_EVERY = 4
# A camera that stood still (no image corner moved STATIC_PX full-size pixels) for STATIC_IN_A_ROW
# estimates in a row is only measured every RETRY_EVERY-th frame, against the last measured image:
# the frames between cost nothing (not even the grey conversion) and give the identity, and a
# camera that starts moving is compensated at the next measured frame for all the motion since
# (at most RETRY_EVERY-1 frames late, nothing lost). Static cameras are the common case (fixed
# surveillance, a parked robot); on them the per-frame estimate is noise of 0.1-0.9 px anyway.
STATIC_PX = 1.0
STATIC_IN_A_ROW = 3


def to_grey(image: np.ndarray, scale: float) -> np.ndarray:
    """uint8 grey image resized by ``scale`` with area interpolation (no aliasing): exact
    halvings first (OpenCV's fast 2x path, ~10x cheaper than one area resize by 1/4), then
    whatever factor is left."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] in (3, 4):
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif img.ndim != 2:
        raise ValueError(f"CMC expects an (H, W) or (H, W, 3|4) image, got shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if scale != 1.0:
        h, w = img.shape
        size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
        while img.shape[1] >= 2 * size[0] and img.shape[0] >= 2 * size[1]:
            img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
        if (img.shape[1], img.shape[0]) != size:
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img


def rescale_affine(affine_small: np.ndarray, scale: float) -> np.ndarray:
    """Affine found on an image resized by ``scale`` -> the same motion in full-size pixels."""
    out = np.array(affine_small, dtype=np.float64).reshape(2, 3)
    out[:, 2] /= scale
    return out


def skip_this_frame(in_a_row: int, after: int) -> bool:
    """The one back-off rule of both streaks (failed estimates, a still camera): once ``after``
    frames in a row, only every ``RETRY_EVERY``-th frame is measured."""
    return in_a_row >= after and (in_a_row - after) % RETRY_EVERY != RETRY_EVERY - 1


def corner_motion(affine: np.ndarray, width: int, height: int) -> float:
    """Largest distance [px] an image corner moves under ``affine``."""
    a = np.asarray(affine, np.float64).reshape(2, 3)
    corners = np.array([[0.0, 0.0], [width, 0.0], [0.0, height], [width, height]])
    shift = corners @ (a[:, :2] - np.eye(2)).T + a[:, 2]
    return float(np.hypot(shift[:, 0], shift[:, 1]).max())


class CameraMotionEstimator:
    """Frame-to-frame affine of the camera image; feed every frame in order.

    ``estimate(frame)`` returns the motion from the previous frame to this one (identity on
    the first frame, after :meth:`reset`, on a size change, or when the estimate fails).
    ``mask_boxes`` (xyxy, full-size pixels) hides detections from the sparse-flow corner search
    so the people, who move on their own, do not vote.
    """

    def __init__(self, method: str = "sparse_flow", scale: float = 0.5, max_corners: int = MAX_CORNERS,
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
        self._pts: np.ndarray | None = None  # sparse flow: background corners in the previous image
        self._age = 0  # frames since the last corner search
        self._found = 0  # corners the last search found
        self._mask: np.ndarray | None = None  # corner-search mask, reused while the size holds
        self.failures = 0  # frames whose estimate fell back to the identity
        self._failed_in_a_row = 0
        self.skipped = 0  # frames not measured because the camera stood still
        self._static = 0  # estimates in a row (and skipped frames since) that found no motion

    def reset(self) -> None:
        self._prev = self._pts = None
        self._failed_in_a_row = self._static = 0

    def observe(self, frame: np.ndarray) -> None:
        """Keep ``frame`` as the previous image without estimating (nothing to compensate yet,
        e.g. no tracks); the next :meth:`estimate` measures the motion from it."""
        self._prev = to_grey(frame, self.scale)
        self._pts = None

    def estimate(self, frame: np.ndarray, mask_boxes: np.ndarray | None = None) -> np.ndarray:
        if skip_this_frame(self._static, STATIC_IN_A_ROW):
            self._static += 1  # a still camera: keep the last measured image, measure later
            self.skipped += 1
            return IDENTITY.copy()
        grey = to_grey(frame, self.scale)
        prev, self._prev = self._prev, grey
        if prev is None or prev.shape != grey.shape:
            self._pts = None
            self._static = 0
            return IDENTITY.copy()
        if skip_this_frame(self._failed_in_a_row, FAILED_IN_A_ROW):
            small = None  # backing off after repeated failures
        elif self.method == "ecc":
            small = self._ecc(prev, grey)
        else:
            small = self._sparse_flow(prev, grey, mask_boxes)
        if small is None or not np.isfinite(small).all():
            self.failures += 1
            self._failed_in_a_row += 1
            self._pts = None
            self._static = 0
            return IDENTITY.copy()
        self._failed_in_a_row = 0
        affine = rescale_affine(small, self.scale)
        h, w = np.shape(frame)[:2]
        self._static = self._static + 1 if corner_motion(affine, w, h) < STATIC_PX else 0
        return affine

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
        boxes = None
        if mask_boxes is not None and len(mask_boxes):
            boxes = np.asarray(mask_boxes, np.float64).reshape(-1, 4) * self.scale
        pts = self._kept_corners(boxes)
        if pts is None:
            pts = self._corners(prev, self._box_mask(prev.shape, boxes))
            self._age, self._found = 0, 0 if pts is None else len(pts)
        self._pts = None  # set again below from this estimate's inliers
        self._age += 1
        if pts is None or len(pts) < 6:
            return None
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=LK_WINDOW,
                                                  maxLevel=LK_LEVELS, criteria=LK_CRITERIA)
        ok = status.reshape(-1) == 1
        if ok.sum() < 6:
            return None
        affine, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0,
                                                      maxIters=RANSAC_ITERATIONS)
        # an estimate most tracked corners disagree with is noise (sensor noise, flicker, a
        # scene of moving people): no compensation beats a wrong one
        if (affine is None or inliers is None or inliers.sum() < MIN_INLIERS
                or inliers.sum() < MIN_INLIER_RATIO * ok.sum()):
            return None
        self._pts = nxt[ok][inliers.reshape(-1) == 1].reshape(-1, 1, 2)
        return affine

    def _kept_corners(self, boxes: np.ndarray | None) -> np.ndarray | None:
        """The last estimate's inlier corners (now in the previous image) outside this frame's
        people, or None when a fresh search is due."""
        pts = self._pts
        if pts is None or self._age >= REFRESH_FRAMES:
            return None
        if boxes is not None and len(pts):
            p = pts.reshape(-1, 2)
            inside = ((p[:, None, 0] >= boxes[None, :, 0]) & (p[:, None, 0] < boxes[None, :, 2])
                      & (p[:, None, 1] >= boxes[None, :, 1]) & (p[:, None, 1] < boxes[None, :, 3]))
            pts = pts[~inside.any(axis=1)]
        return pts if len(pts) >= max(MIN_INLIERS, MIN_KEPT_SHARE * self._found) else None

    def _box_mask(self, shape: tuple[int, int], boxes: np.ndarray | None) -> np.ndarray | None:
        """Corner-search mask of the working image: 0 inside ``boxes`` (working pixels)."""
        if boxes is None:
            return None
        h, w = shape
        if self._mask is None or self._mask.shape != shape:
            self._mask = np.empty(shape, np.uint8)
        mask = self._mask
        mask.fill(255)
        b = np.round(boxes).astype(int)
        np.clip(b, 0, [w, h, w, h], out=b)
        for x1, y1, x2, y2 in b.tolist():
            mask[y1:y2, x1:x2] = 0
        return mask

    def _corners(self, prev: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        """Up to ``max_corners`` Shi-Tomasi corners of ``prev``, spread out. On a large enough
        working image they are sought at half its size (a quarter of the cost; Lucas-Kanade
        then refines them at full working size, where their texture is still in its window)."""
        h, w = prev.shape
        if min(h, w) < CORNER_IMAGE_MIN:
            spacing = max(2.0, CORNER_SPACING * min(h, w))
            return cv2.goodFeaturesToTrack(prev, self.max_corners, 0.01, spacing, mask=mask,
                                           blockSize=3)
        half = cv2.resize(prev, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
        spacing = max(1.0, CORNER_SPACING * min(h, w) / 2)
        pts = cv2.goodFeaturesToTrack(half, self.max_corners, 0.01, spacing, mask=mask, blockSize=3)
        return None if pts is None else pts * 2.0 + 0.5


def make_cmc(method: str, scale: float = 0.5) -> CameraMotionEstimator | None:
    """Estimator for a config value; None for ``"none"``."""
    if method == "none":
        return None
    return CameraMotionEstimator(method, scale)
