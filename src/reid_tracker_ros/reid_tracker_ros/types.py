"""Plain data types shared by the pure cores (no ROS imports).

Conventions used everywhere in the cores:
- boxes are float arrays of shape (N, 4) in ``xyxy`` pixels: (x1, y1, x2, y2), origin at the
  image's top-left corner, x right, y down. MOT files and ROS messages use ``tlwh``
  (left, top, width, height); convert with :func:`tlwh_to_xyxy` / :func:`xyxy_to_tlwh`.
- embeddings are float32 (N, D), one L2-normalised row per detection.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class TrackState(IntEnum):
    """Lifecycle state; values match ``reid_msgs/Track`` constants."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


def tlwh_to_xyxy(tlwh: np.ndarray) -> np.ndarray:
    """(N, 4) left/top/width/height -> (N, 4) x1/y1/x2/y2 (new float array)."""
    tlwh = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    out = tlwh.copy()
    out[:, 2:] += tlwh[:, :2]
    return out


def xyxy_to_tlwh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) x1/y1/x2/y2 -> (N, 4) left/top/width/height (new float array)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    out = xyxy.copy()
    out[:, 2:] -= xyxy[:, :2]
    return out


def valid_box_mask(boxes_xyxy: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """Rows every core can use: finite coordinates (and score), positive width and height.
    The one definition of a usable box, shared by the nodes' input checks, the public
    detection filter and the tracker."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    keep = np.isfinite(boxes).all(axis=1)
    if scores is not None:
        keep &= np.isfinite(np.asarray(scores, dtype=np.float64).reshape(len(boxes)))
    with np.errstate(invalid="ignore"):
        keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return keep


@dataclass
class Detections:
    """Detections of one image. ``embeddings`` is None when no appearance model ran."""

    boxes: np.ndarray  # (N, 4) float xyxy pixels
    scores: np.ndarray  # (N,) float
    class_ids: np.ndarray  # (N,) int; -1 = unknown
    embeddings: np.ndarray | None = None  # (N, D) float32, rows L2-normalised

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        n = len(self.boxes)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(n)
        self.class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(n)
        if self.embeddings is not None:
            emb = np.asarray(self.embeddings, dtype=np.float32)
            dim = emb.shape[-1] if emb.ndim == 2 else (emb.size // n if n else 0)
            self.embeddings = emb.reshape(n, dim)

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, embedding_dim: int | None = None) -> "Detections":
        emb = None if embedding_dim is None else np.zeros((0, embedding_dim), np.float32)
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), emb)

    def subset(self, index: np.ndarray) -> "Detections":
        """Rows selected by a boolean mask or integer index (copies)."""
        emb = None if self.embeddings is None else self.embeddings[index]
        return Detections(self.boxes[index], self.scores[index], self.class_ids[index], emb)


@dataclass
class TrackSnapshot:
    """Output of a tracker for one frame: one row per reported track."""

    track_ids: np.ndarray  # (M,) int64
    boxes: np.ndarray  # (M, 4) float xyxy
    scores: np.ndarray  # (M,) float
    class_ids: np.ndarray  # (M,) int
    states: np.ndarray  # (M,) uint8 TrackState values
    ages: np.ndarray  # (M,) frames since creation
    hits: np.ndarray  # (M,) matched frames
    frames_since_update: np.ndarray  # (M,)
    velocities: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (M, 2) px/frame
    global_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (M,) 0: none / unknown

    def __len__(self) -> int:
        return len(self.track_ids)

    def display_ids(self) -> np.ndarray:
        """(M,) the id a person is shown and coloured by: the global id where the identity node
        gave one, else the track id."""
        if len(self.global_ids) != len(self):
            return np.asarray(self.track_ids, np.int64)
        return np.where(self.global_ids > 0, self.global_ids, self.track_ids).astype(np.int64)

    @classmethod
    def empty(cls) -> "TrackSnapshot":
        z = np.zeros(0)
        return cls(z.astype(np.int64), np.zeros((0, 4)), z, z.astype(np.int64), z.astype(np.uint8),
                   z.astype(np.int64), z.astype(np.int64), z.astype(np.int64), np.zeros((0, 2)))
