"""Pure multi-object tracking core (no ROS): Kalman filters, costs, assignment, tracks, strategies,
camera-motion compensation and the re-entry gallery.

Typical use::

    tracker = build_tracker("botsort")  # the preset config/trackers/botsort.yaml
    tracker = build_tracker({"strategy": "deepsort", "max_age": 60})  # preset + overrides
    snapshot = tracker.update(detections, frame=image)  # once per frame, also for empty frames
"""
from .assignment import linear_assignment
from .cmc import CMC_METHODS, CameraMotionEstimator, make_cmc
from .config import (RANGES, TRACKERS, TrackerConfig, config_from_parameters, get_strategy, load_preset,
                     preset_config, strategy_names)
from .costs import (GATED_COST, cosine_distance, fuse_motion, gate_cost, iou_distance, iou_matrix,
                    nearest_neighbor_distance, threshold_cost)
from .kalman_filter import (CHI2INV95, KALMAN_FILTERS, ConstantVelocityKalmanFilter,
                            KalmanFilterXYAH, KalmanFilterXYWH, make_kalman_filter, warp_boxes)
from .prediction import FrameDeadlines, StepClock, predicted_snapshot
from .reentry import ReentryGallery
from .strategies import (AppearanceStage, BotSortStrategy, ByteTrackStrategy, DeepOcSortStrategy,
                         DeepSortStrategy, IoUStage, MatchingCascade, MomentumStage, OcSortStrategy,
                         ProximityAppearanceStage, SortStrategy, Stage, Strategy, StrongSortStrategy)
from .track import FeatureGallery, Track
from .tracker import FrameContext, Tracker, build_tracker

__all__ = [
    "RANGES", "CHI2INV95", "CMC_METHODS", "GATED_COST", "KALMAN_FILTERS", "TRACKERS", "AppearanceStage",
    "BotSortStrategy", "ByteTrackStrategy", "CameraMotionEstimator",
    "ConstantVelocityKalmanFilter", "DeepOcSortStrategy", "DeepSortStrategy", "FeatureGallery",
    "FrameContext", "FrameDeadlines", "IoUStage", "KalmanFilterXYAH", "KalmanFilterXYWH", "MatchingCascade",
    "MomentumStage", "OcSortStrategy", "ProximityAppearanceStage", "ReentryGallery",
    "SortStrategy", "Stage", "StepClock", "Strategy", "StrongSortStrategy", "Track", "Tracker",
    "TrackerConfig", "build_tracker", "config_from_parameters", "cosine_distance", "fuse_motion",
    "gate_cost", "get_strategy", "iou_distance", "iou_matrix", "linear_assignment", "load_preset",
    "make_cmc", "make_kalman_filter", "nearest_neighbor_distance", "predicted_snapshot", "preset_config",
    "strategy_names", "threshold_cost", "warp_boxes",
]
