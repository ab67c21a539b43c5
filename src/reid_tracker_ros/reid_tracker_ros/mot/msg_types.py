"""rosbags type store for ROS 2 Jazzy plus our ``reid_msgs`` types (no ROS imports needed).

Bags are written and read with the pure-Python ``rosbags`` library so the converter and the
evaluator work without a rosbag2 install. The custom types are parsed from the real ``.msg``
files, and the definitions stored in a bag keep those files' text verbatim (comments included),
which is what rosbag2 itself records, so ``ros2 bag play`` / Foxglove on a robot see the same
schema as a bag recorded there.
"""
from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "reid_msgs"
_SEPARATOR = "=" * 80
# <repo>/src/reid_tracker_ros/reid_tracker_ros/mot/msg_types.py -> <repo>/src/reid_msgs/msg
_SOURCE_MSG_DIR = Path(__file__).resolve().parents[3] / PACKAGE / "msg"


def _installed_msg_dir() -> Path | None:
    """share/reid_msgs/msg of a sourced workspace, or None when ament/reid_msgs are absent."""
    try:
        from ament_index_python.packages import (  # noqa: PLC0415 (optional dependency)
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return None
    try:
        msg_dir = Path(get_package_share_directory(PACKAGE)) / "msg"
    except (PackageNotFoundError, LookupError, ValueError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        return None
    return msg_dir if any(msg_dir.glob("*.msg")) else None


def find_msg_dir() -> Path:
    """Folder holding ``reid_msgs/msg/*.msg``: the installed share dir first, else the source tree.

    The installed copy wins because it is what the running nodes were built against.
    """
    installed = _installed_msg_dir()
    if installed is not None:
        return installed
    if any(_SOURCE_MSG_DIR.glob("*.msg")):
        return _SOURCE_MSG_DIR
    raise FileNotFoundError(
        f"cannot find the {PACKAGE} message definitions: neither an installed package "
        f"(ament_index_python get_package_share_directory('{PACKAGE}') -> share/{PACKAGE}/msg; "
        f"source the workspace's install/setup.bash) nor the source folder {_SOURCE_MSG_DIR} "
        f"has *.msg files"
    )


@functools.lru_cache(maxsize=1)
def _custom_msg_texts() -> dict[str, str]:
    """``reid_msgs/msg/<Name>`` -> the .msg file's text, read once per process."""
    msg_dir = find_msg_dir()
    texts = {f"{PACKAGE}/msg/{p.stem}": p.read_text(encoding="utf-8") for p in sorted(msg_dir.glob("*.msg"))}
    return texts


@functools.lru_cache(maxsize=1)
def get_store() -> Typestore:
    """The process-wide Jazzy type store with ``reid_msgs`` registered (built on first use)."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict = {}
    for name, text in _custom_msg_texts().items():
        try:
            types.update(get_types_from_msg(text, name))
        except Exception as exc:  # rosbags raises its own parser errors; name the file
            raise ValueError(f"cannot parse message definition {name} from {find_msg_dir()}: {exc}") from exc
    store.register(types)
    return store


def message_definition(typename: str) -> str:
    """rosbag2-style concatenated definition of ``typename`` and all types it uses.

    Layout as rosbag2 writes it: the type's own text, then for every dependency a line of 80
    ``=``, ``MSG: pkg/Name`` and its text. ``reid_msgs`` parts are the original files; standard
    types (whose .msg text is not available here) use rosbags' generated equivalent.
    """
    store = get_store()
    texts = _custom_msg_texts()
    subdefs: dict[str, tuple[str, str]] = {}
    generated, _ = store.gendefhash(typename, subdefs, ros_version=2)

    def text_of(name: str, fallback: str) -> str:
        text = texts.get(name, fallback)
        return text if text.endswith("\n") else text + "\n"

    parts = [text_of(typename, generated)]
    for name, (sub_generated, _) in subdefs.items():
        short = name.replace("/msg/", "/")
        parts.append(f"{_SEPARATOR}\nMSG: {short}\n{text_of(name, sub_generated)}")
    return "".join(parts)


def rihs01(typename: str) -> str:
    """REP-2011 type hash (``RIHS01_...``) as the ROS 2 Jazzy tooling computes it."""
    return get_store().hash_rihs01(typename)
