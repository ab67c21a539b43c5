"""Where the package's data files are (config/, launch/, models/): no other imports, so every
module (cores, nodes, tools) can ask without pulling anything in."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = "reid_tracker_ros"


def package_share_dir() -> Path:
    """The installed share dir when it holds config/, else the source checkout."""
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory(PACKAGE))
        if (share / "config" / "default.yaml").is_file():
            return share
    except Exception:  # noqa: BLE001 - not installed / no ament index: fall back to the tree
        pass
    return Path(__file__).resolve().parents[1]  # src/reid_tracker_ros (config, launch are links)


def config_path(name_or_path: str | os.PathLike) -> Path:
    """A config file by path; a bare file name (no directory part) that is not in the current
    directory is looked up in the package's config/ directory."""
    path = Path(name_or_path)
    if path.is_file():
        return path.resolve()
    if path.parent == Path("."):
        candidate = package_share_dir() / "config" / path.name
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(f"config file not found: {name_or_path} (nor in {candidate.parent})")
    raise FileNotFoundError(f"config file not found: {name_or_path}")
