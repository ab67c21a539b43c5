"""Tracker configuration, in one place: the settings dataclass with its ranges, the strategy
registry and the presets (``config/trackers/<name>.yaml``), and the one mapping from node
parameters to the core's settings. Pure: imports nothing from the ROS side, so the node schema,
the graph, the tools and ``reid_training`` all read the same facts from here."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..paths import package_share_dir
from .cmc import CMC_METHODS

PRESET_DIR_ENV = "REID_TRACKER_PRESETS"  # a folder that overrides where presets are read from

# Allowed (min, max) of every numeric setting; the node parameter schema reads its ranges here.
RANGES: dict[str, tuple[float, float]] = {
    "n_init": (1, 100),
    "max_age": (0, 10000),
    "max_iou_distance": (0.0, 1.0),
    "max_cosine_distance": (0.0, 2.0),
    "nn_budget": (1, 10000),
    "ema_alpha": (0.0, 1.0),
    "min_score": (-1e9, 1e9),
    "appearance_weight": (0.0, 1.0),
    "high_score": (-1e9, 1e9),
    "low_score": (-1e9, 1e9),
    "new_track_score": (-1e9, 1e9),
    "second_iou_distance": (0.0, 1.0),
    "proximity_iou_distance": (0.0, 1.0),
    "delta_t": (1, 100),
    "inertia": (0.0, 10.0),
    "embedding_weight": (0.0, 10.0),
    "adaptive_weight": (0.0, 10.0),
    "lambda_iou": (0.0, 10.0),
    "lambda_mhd": (0.0, 10.0),
    "lambda_shape": (0.0, 10.0),
    "cmc_scale": (0.05, 1.0),
    "reentry_threshold": (0.0, 2.0),
    "reentry_max_age_s": (1e-3, 1e7),
    "reentry_budget": (1, 10000),
    "frame_rate": (1e-3, 1e4),
}
# the Kalman filter name is checked where the filter is made (make_kalman_filter names the valid ones)
CHOICES: dict[str, tuple[str, ...]] = {"cmc": CMC_METHODS}


@dataclass
class TrackerConfig:
    """Tracker settings shared by all strategies (a strategy ignores what it does not use)."""

    strategy: str = "sort"  # a registered strategy name (strategy_names())
    n_init: int = 3  # consecutive hits before a track is confirmed
    max_age: int = 30  # frames a confirmed track may stay unmatched (LOST) before deletion
    max_iou_distance: float = 0.7  # IoU matching accepts 1 - IoU <= this
    max_cosine_distance: float = 0.2  # appearance matching accepts a (fused) cost <= this
    nn_budget: int = 100  # appearance features remembered per track
    ema_alpha: float = 0.9  # EMA feature: ema = alpha * ema + (1 - alpha) * new
    min_score: float = 0.0  # detections scoring below this are dropped before tracking
    appearance_weight: float = 1.0  # appearance cost = w * cosine + (1 - w) * maha / gate
    gating: bool = True  # Mahalanobis chi-square gate on appearance matching
    report_lost: bool = True  # snapshot includes LOST tracks (predicted boxes)
    report_tentative: bool = False  # snapshot includes tentative tracks
    kalman_filter: str = "xyah"  # box parameterisation of the Kalman filter: "xyah" | "xywh"
    nsa: bool = False  # NSA Kalman: measurement noise scaled by (1 - detection confidence)
    # a track unmatched in the last frame is predicted with its size held (size velocities zeroed),
    # as ByteTrack's and BoT-SORT's filters do: worst dev family up by 0.3 to 2.4 HOTA for 7 of the
    # 8 presets, StrongSORT a tie (docs/validation.md)
    lost_keep_size: bool = True
    # stages that may match tentative tracks run for confirmed tracks first, then for tentative
    # ones on the detections left (strategies.confirmed_first; on in the SORT, DeepSORT,
    # StrongSORT, OC-SORT and Deep OC-SORT presets, docs/validation.md)
    tentative_last: bool = False
    # score split (ByteTrack, BoT-SORT, OC-SORT): first stage on high scores, second on the rest
    high_score: float = 0.5  # detections >= this are "high"; below it only the second stage sees them
    low_score: float = 0.1  # detections below this are ignored by score-split strategies
    new_track_score: float = 0.6  # score-split strategies start tracks only from detections >= this
    second_iou_distance: float = 0.5  # 1 - IoU accepted for low-score detections
    fuse_score: bool = False  # IoU similarity multiplied by the detection score (ByteTrack)
    with_appearance: bool = False  # ByteTrack: BoT-SORT's IoU/appearance fusion; BoostTrack: embeddings
    proximity_iou_distance: float = 0.5  # appearance only counts where 1 - IoU <= this (BoT-SORT)
    # OC-SORT
    delta_t: int = 3  # frames between the observations that give a track's direction (OCM)
    inertia: float = 0.2  # weight of the direction-consistency term (OCM)
    oru: bool = True  # observation-centric re-update after a gap (OC-SORT, Deep OC-SORT)
    embedding_weight: float = 0.5  # Deep OC-SORT: weight of appearance similarity in the cost
    adaptive_weight: float = 0.5  # Deep OC-SORT: extra weight where appearance is unambiguous
    # BoostTrack++ (embedding_weight weighs appearance there too, with_appearance switches it on)
    lambda_iou: float = 0.5  # weight of the confidence-scaled IoU term
    lambda_mhd: float = 0.25  # weight of the Mahalanobis similarity term
    lambda_shape: float = 0.25  # weight of the confidence-scaled shape similarity term
    dlo_boost: bool = True  # raise scores of detections that overlap a track's prediction (DLO)
    duo_boost: bool = True  # raise scores of detections far from every track (DUO)
    # camera-motion compensation: "none" | "sparse_flow" | "ecc" (needs frames in update())
    cmc: str = "none"
    cmc_scale: float = 0.5  # CMC runs on the grey image resized by this factor
    # re-entry gallery: deleted confirmed tracks can hand their id to a new look-alike track
    reentry: bool = False
    reentry_threshold: float = 0.15  # mean cosine distance accepted for giving an id back
    reentry_max_age_s: float = 60.0  # seconds a deleted identity is remembered
    reentry_budget: int = 10  # features kept per remembered identity
    frame_rate: float = 30.0  # converts frame counts to seconds when update() gets no timestamp
    # appearance calibrated per camera (tracking/appearance.py): thresholds and weight from
    # same-frame negatives and unambiguous positives; motion only until appearance proves useful
    calibrate_appearance: bool = True

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, _coerce(f.name, f.type, getattr(self, f.name)))
        bad = [k for k, (lo, hi) in RANGES.items()
               if np.isnan(getattr(self, k)) or not lo <= getattr(self, k) <= hi]
        bad += [k for k, allowed in CHOICES.items() if getattr(self, k) not in allowed]
        if self.low_score > self.high_score:
            bad.append("high_score")
        if bad:
            raise ValueError("tracker config out of range: " + ", ".join(
                f"{k}={getattr(self, k)!r} (allowed: {_allowed(k)})" for k in dict.fromkeys(bad)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "TrackerConfig":
        """Build from a plain mapping (YAML/ROS parameters); unknown keys are a ValueError."""
        d = dict(d or {})
        check_keys(d)
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, changes: Mapping[str, Any]) -> "TrackerConfig":
        """A copy with ``changes`` applied (checked like :meth:`from_dict`)."""
        check_keys(changes)
        return dataclasses.replace(self, **dict(changes))


FIELDS = tuple(f.name for f in dataclasses.fields(TrackerConfig))


def check_keys(d: Mapping[str, Any]) -> None:
    """The one unknown-key check: a typo in a preset or override must not pass silently."""
    unknown = sorted(set(d) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown tracker config key(s) {unknown}; valid keys: {sorted(FIELDS)}")


def _allowed(key: str) -> str:
    if key in CHOICES:
        return "|".join(CHOICES[key])
    if key == "high_score":
        return ">= low_score"
    lo, hi = RANGES[key]
    return f"[{lo:g}, {hi:g}]"


def _coerce(name: str, kind: Any, value: Any) -> Any:
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"tracker config {name!r} must be true/false, got {value!r}")
        return bool(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"tracker config {name!r} must be an integer, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"tracker config {name!r} must be a number, got {value!r}")
        return float(value)
    if kind == "str" and not isinstance(value, str):
        raise ValueError(f"tracker config {name!r} must be a string, got {value!r}")
    return value


# ---------------------------------------------------------------------- strategy registry
TRACKERS: dict[str, type] = {}  # name -> Strategy class, filled by @register_strategy


def register_strategy(cls: type) -> type:
    """Class decorator: makes a strategy selectable by its ``name`` (strategies.py)."""
    if cls.name in TRACKERS and TRACKERS[cls.name] is not cls:
        raise ValueError(f"two strategies are named {cls.name!r}")
    TRACKERS[cls.name] = cls
    return cls


def strategy_names() -> tuple[str, ...]:
    """Registered strategy names, in registration order."""
    return tuple(TRACKERS)


def get_strategy(name: str) -> type:
    """Registered strategy class by name (ValueError listing the valid names otherwise)."""
    try:
        return TRACKERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown tracker {name!r}; valid: {sorted(TRACKERS)}") from None


# ---------------------------------------------------------------------- presets
def preset_dirs() -> list[Path]:
    """Folders searched for ``<name>.yaml``, first match wins."""
    dirs = [Path(os.environ[PRESET_DIR_ENV])] if os.environ.get(PRESET_DIR_ENV) else []
    dirs.append(package_share_dir() / "config" / "trackers")
    dirs.append(Path(__file__).resolve().parents[2] / "config" / "trackers")
    return list(dict.fromkeys(dirs))


def preset_path(name: str) -> Path | None:
    for d in preset_dirs():
        path = d / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def load_preset(name: str) -> dict[str, Any]:
    """Settings of tracker ``name`` from its preset file; {} when it has none (then the
    TrackerConfig defaults apply). ValueError names the file when it is malformed."""
    path = preset_path(name)
    if path is None:
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a tracker preset must be a mapping of settings")
    strategy = doc.get("strategy", name)
    if strategy != name:
        raise ValueError(f"{path}: preset says strategy {strategy!r}, expected {name!r}")
    try:
        check_keys(doc)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return doc


def preset_config(name: str, overrides: Mapping[str, Any] | None = None) -> TrackerConfig:
    """The preset ``config/trackers/<name>.yaml`` with ``overrides`` on top."""
    get_strategy(name)
    merged = {**load_preset(name), **dict(overrides or {})}
    merged["strategy"] = name
    return TrackerConfig.from_dict(merged)


def resolve_config(spec: "str | TrackerConfig | Mapping[str, Any] | None") -> TrackerConfig:
    """A strategy name (its preset), a TrackerConfig (as is) or a dict (the preset of its
    ``strategy``, default ``sort``, overridden by the dict's other keys)."""
    if spec is None or isinstance(spec, Mapping):
        d = dict(spec or {})
        return preset_config(d.pop("strategy", TrackerConfig.strategy), d)
    if isinstance(spec, str):
        return preset_config(spec)
    if isinstance(spec, TrackerConfig):
        return spec
    raise ValueError(f"expected a tracker name, TrackerConfig or dict, got {type(spec).__name__}")


# ---------------------------------------------------------------------- node parameters
STRATEGY_PARAMETER = "tracker"  # the node parameter that selects the strategy


def config_from_parameters(params: Mapping[str, Any]) -> TrackerConfig:
    """The tracker node's parameters (or the same keys from YAML) -> the core's settings: the
    selected preset with every parameter that names a setting on top; the rest is ROS plumbing."""
    overrides = {k: v for k, v in params.items() if k in FIELDS and k != "strategy"}
    return preset_config(params[STRATEGY_PARAMETER], overrides)
