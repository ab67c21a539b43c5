"""Tracker presets: ``config/trackers/<name>.yaml``, one per strategy, plain ``key: value`` of
:class:`~reid_tracker_ros.tracking.tracker.TrackerConfig` fields.

Why files: a tracker is a strategy plus its tuned settings (thresholds, Kalman variant, CMC);
users pick one by name and override the common thresholds (node parameters) on top. The files
are looked up in the installed package share (``share/reid_tracker_ros/config/trackers``) and
then in the source tree.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

PRESET_DIR_ENV = "REID_TRACKER_PRESETS"  # a folder that overrides where presets are read from


def preset_dirs() -> list[Path]:
    """Folders searched for ``<name>.yaml``, first match wins."""
    dirs = []
    if os.environ.get(PRESET_DIR_ENV):
        dirs.append(Path(os.environ[PRESET_DIR_ENV]))
    try:
        from ..config import package_share_dir

        dirs.append(package_share_dir() / "config" / "trackers")
    except Exception:  # noqa: BLE001 - config helpers unavailable: the source tree still works
        pass
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
    return doc
