"""Launch arguments that several launch files share, and the checks of their values, in one
place. No ``launch`` import: the launch files turn these into DeclareLaunchArgument actions."""
from __future__ import annotations

from .graph import DETECTOR_ALIASES

SHARED = {
    "config": ("default.yaml", "parameter YAML applied after config/default.yaml (a path, or a name in config/)"),
    "detector": ("", "detector backend override: ultralytics (alias yolo) | public (empty: the config's value)"),
    "tracker": ("", "tracker strategy override (empty: the config's value)"),
    "rviz": ("false", "true: start RViz with config/reid_tracker.rviz"),
    "dds_profile": ("robot", "Fast DDS profile: robot (shared memory + UDP) | local (shared memory only, "
                    "this computer) | env (keep FASTRTPS_DEFAULT_PROFILES_FILE from the environment)"),
}


def shared(*names: str) -> dict[str, tuple[str, str]]:
    """(default, description) of the named shared arguments, in the order given."""
    return {name: SHARED[name] for name in names}


def flag(name: str, value: str) -> bool:
    """A true/false launch argument (as its description says); RuntimeError naming it otherwise."""
    if value not in ("true", "false"):
        raise RuntimeError(f"{name}:={value} must be true or false")
    return value == "true"


def detector_backend(value: str) -> str | None:
    """The detector node backend for a ``detector:=`` value ('' keeps the config's)."""
    if value and value not in DETECTOR_ALIASES:
        raise RuntimeError(f"detector:={value} is not one of {sorted(DETECTOR_ALIASES)}")
    return DETECTOR_ALIASES[value] if value else None
