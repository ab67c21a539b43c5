"""Pure cores of the visualizer node (no ROS): the annotated image, RViz markers with their
lifecycle, 3D positions of people (depth or ground plane) and the PointCloud2 layout."""
from .annotate import RateMeter, TrailHistory, annotate_tracks
from .cloud import FIELDS as CLOUD_FIELDS
from .cloud import cloud_points
from .geometry import (METHOD_DEPTH, METHOD_GROUND, METHOD_NONE, CameraModel, VelocityEstimator, depth_to_metres,
                       ground_plane_positions, track_positions)
from .markers import MarkerBook, MarkerSpec
from .scene import Scene3D, TrackVisualizer, VisualizerSettings

__all__ = ["RateMeter", "TrailHistory", "annotate_tracks", "CLOUD_FIELDS", "cloud_points", "METHOD_DEPTH",
           "METHOD_GROUND", "METHOD_NONE", "CameraModel", "VelocityEstimator", "depth_to_metres",
           "ground_plane_positions", "track_positions", "MarkerBook", "MarkerSpec", "Scene3D", "TrackVisualizer",
           "VisualizerSettings"]
