"""Pure multi-object tracking core (no ROS): Kalman filters, costs, assignment, tracks, strategies.

Typical use::

    tracker = build_tracker({"strategy": "deepsort", "max_age": 30})
    snapshot = tracker.update(detections)  # once per frame, also for empty frames
"""
from .assignment import linear_assignment
from .costs import (GATED_COST, cosine_distance, fuse_motion, gate_cost, iou_distance, iou_matrix,
                    nearest_neighbor_distance, normalize_rows, threshold_cost)
from .kalman_filter import (CHI2INV95, KALMAN_FILTERS, ConstantVelocityKalmanFilter,
                            KalmanFilterXYAH, make_kalman_filter)
from .strategies import (TRACKERS, AppearanceStage, DeepSortStrategy, IoUStage, MatchingCascade,
                         SortStrategy, Stage, Strategy, build_tracker, get_strategy)
from .track import FeatureGallery, Track
from .tracker import FrameContext, Tracker, TrackerConfig

__all__ = [
    "CHI2INV95", "GATED_COST", "KALMAN_FILTERS", "TRACKERS", "AppearanceStage",
    "ConstantVelocityKalmanFilter", "DeepSortStrategy", "FeatureGallery", "FrameContext",
    "IoUStage", "KalmanFilterXYAH", "MatchingCascade", "SortStrategy", "Stage", "Strategy", "Track",
    "Tracker", "TrackerConfig", "build_tracker", "cosine_distance", "fuse_motion", "gate_cost",
    "get_strategy", "iou_distance", "iou_matrix", "linear_assignment", "make_kalman_filter",
    "nearest_neighbor_distance", "normalize_rows", "threshold_cost",
]
