"""Public (given) detections: no inference, only filtering and box conversion.

Used when the detector backend is ``"public"``: the MOTChallenge detections travel with the
data (bag or ``det.txt``), so this core only drops low-score and degenerate boxes and converts
``tlwh`` to the cores' ``xyxy`` convention. Keeping it a separate object (not a
:class:`DetectorBackend`) makes it impossible to call it on an image by mistake.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import Detections, tlwh_to_xyxy, valid_box_mask


class PublicDetections:
    """Filter for given detections.

    ``min_score``: keep detections with ``score >= min_score``. The default (-inf) keeps all:
    MOT16/17 DPM public detections have scores outside [0, 1] (even negative), so any
    threshold is dataset specific and must be chosen explicitly.
    ``min_height``: drop boxes shorter than this many pixels (0 keeps all valid boxes).
    Boxes with non-finite values or non-positive width/height are always dropped.
    """

    name = "public"

    def __init__(self, min_score: float = -math.inf, min_height: float = 0.0) -> None:
        self.min_score = float(min_score)
        self.min_height = float(min_height)
        if math.isnan(self.min_score):
            raise ValueError("min_score must be a number, got NaN")
        if not self.min_height >= 0.0:
            raise ValueError(f"min_height must be >= 0, got {min_height!r}")

    def keep_mask(self, boxes_xyxy: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows to keep (vectorised; NaN rows are never kept)."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(len(boxes))
        keep = valid_box_mask(boxes, scores)
        with np.errstate(invalid="ignore"):
            return keep & (boxes[:, 3] - boxes[:, 1] >= self.min_height) & (scores >= self.min_score)

    def filter(self, detections: Detections) -> Detections:
        """Filter detections whose boxes are already xyxy (e.g. from a DetectionArray)."""
        return detections.subset(self.keep_mask(detections.boxes, detections.scores))

    def from_tlwh(self, tlwh: np.ndarray, scores: np.ndarray,
                  class_ids: np.ndarray | None = None) -> Detections:
        """Convert ``(N, 4)`` tlwh rows (MOT ``det.txt`` / ROS messages) to filtered xyxy
        detections. ``class_ids`` defaults to -1 (unknown), as MOT public detections have none."""
        boxes = tlwh_to_xyxy(tlwh)
        n = len(boxes)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(scores) != n:
            raise ValueError(f"got {n} boxes but {len(scores)} scores")
        if class_ids is None:
            class_ids = np.full(n, -1, dtype=np.int64)
        else:
            class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
            if len(class_ids) != n:
                raise ValueError(f"got {n} boxes but {len(class_ids)} class ids")
        keep = self.keep_mask(boxes, scores)
        return Detections(boxes[keep], scores[keep], class_ids[keep])
