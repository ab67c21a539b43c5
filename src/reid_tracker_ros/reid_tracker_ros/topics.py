"""Topic names of the graph, in one place. Relative names resolve inside a node's namespace
(a launch namespace or remapping moves them); the ``DEFAULT_*`` names are absolute defaults
of the camera's topics."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .tracking.config import config_from_parameters

IMAGE = "image"  # sensor_msgs/Image (or <image>/compressed with image_transport: compressed)
DECODED_IMAGE = "image_decoded"  # the detector's decoded frames when the input is compressed
CAMERA_INFO = "camera_info"
DEPTH = "depth"  # aligned depth image (visualizer, 3D positions)
PUBLIC_DETECTIONS = "public_detections"  # detector backend 'public' relays these
DETECTIONS = "detections"  # reid_msgs/DetectionArray
EMBEDDED_DETECTIONS = "embedded_detections"  # reid_msgs/EmbeddedDetectionArray
TRACKS = "tracks"  # reid_msgs/TrackArray
# identity node (absolute: every camera's tracker talks to the one identity node)
IDENTITY_SUMMARIES = "/identity/track_summaries"  # reid_msgs/TrackSummaryArray, from each tracker
IDENTITY_ASSIGNMENTS = "/identity/assignments"  # reid_msgs/IdentityAssignment, per summary
IDENTITY_SERVICES = {"list": "/identity/list", "forget": "/identity/forget", "enrol": "/identity/enrol"}
DIAGNOSTICS = "/diagnostics"  # diagnostic_msgs/DiagnosticArray from every node (the ROS convention)
# the visualizer's outputs
VISUALIZER_TOPICS = {"annotated_image": "tracks/annotated_image", "markers": "tracks/markers",
                     "poses": "tracks/poses", "points": "tracks/points"}

DEFAULT_IMAGE_TOPIC = "/camera/image_raw"
DEFAULT_CAMERA_INFO_TOPIC = "/camera/camera_info"
DEFAULT_PUBLIC_DETECTIONS_TOPIC = "/mot/public_detections"


def tracker_image_input(params: Mapping[str, Any]) -> str | None:
    """The image topic the tracker node subscribes to with these parameters, or None: it reads
    frames for camera-motion compensation (a preset with ``cmc`` other than ``none``) and to
    answer every camera frame (``prediction_budget_s`` > 0).
    The node and the graph (which counts image subscribers) both ask here."""
    if config_from_parameters(params).cmc == "none" and not params.get("prediction_budget_s", 0.0) > 0:
        return None
    return DECODED_IMAGE if params.get("image_transport", "raw") == "compressed" else IMAGE
