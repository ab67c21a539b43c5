"""Saving the identity gallery so that a crash never leaves a broken file.

:func:`save_atomic` writes the state to a temporary file next to the target, flushes and
fsyncs it, renames it over the target (atomic on POSIX) and fsyncs the folder: a reader sees
either the previous file or the new one, never half of one. :func:`load` names the file and
what is wrong with it instead of failing somewhere later.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
REQUIRED = ("dim", "next_id", "global_ids", "names", "cameras", "first_seen", "last_seen", "counts",
            "exemplars")


def save_atomic(path: str | Path, state: Mapping[str, np.ndarray]) -> Path:
    """Write ``state`` (arrays) to ``path`` (.npz) atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, format_version=np.array(FORMAT_VERSION), **state)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return path


def load(path: str | Path) -> dict[str, np.ndarray]:
    """The state saved at ``path``; ValueError naming the file if it is not a gallery."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"identity gallery {path} cannot be read: {exc}") from exc
    version = int(state.pop("format_version", -1))
    if version != FORMAT_VERSION:
        raise ValueError(f"identity gallery {path} has format version {version}, expected {FORMAT_VERSION}")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise ValueError(f"identity gallery {path} lacks {', '.join(missing)}")
    return state
