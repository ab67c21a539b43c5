"""Checkpoints that run no code when loaded.

``torch.load(..., weights_only=False)`` unpickles arbitrary objects, so a checkpoint from
elsewhere could run any code on load. Every checkpoint here is read with ``weights_only=True``
(tensors and plain containers only) and written with what it carries besides tensors turned
into plain types (:func:`plain`), so our own files always load that way.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path, PurePath
from typing import Any

import torch


def plain(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays, paths and other non-plain leaves turned into numbers,
    lists and strings (tensors, dicts, lists, tuples, str, numbers, bool, None kept)."""
    if isinstance(obj, torch.Tensor) or obj is None or type(obj) in (bool, int, float, str):
        return obj
    for kind in (bool, int, float, str):  # subclasses: numpy.float64 is a float, an IntEnum an int
        if isinstance(obj, kind):
            return kind(obj)
    if isinstance(obj, dict):
        return {plain(k) if not isinstance(k, (str, int)) else k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = [plain(v) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy scalars and arrays
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(plain(v) for v in obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint: use tensors, dicts, lists, str or "
                    "numbers")


def save(obj: dict, path: str | os.PathLike) -> None:
    """``torch.save`` of ``plain(obj)``."""
    torch.save(plain(obj), str(path))


def load(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` on CPU. A file holding pickled objects (code that
    would run on load) is refused with an error that names the file; nothing in it runs."""
    path = Path(path)
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if "Unsupported global" in line]
        first = lines[0].split(" was not")[0].replace("WeightsUnpickler error: ", "") if lines else "not weights only"
        raise ValueError(f"{path}: refused to load this {what}: it holds pickled Python objects beyond tensors "
                         f"and plain types, which could run code on load ({first}). Re-save it with tensors, "
                         "dicts, lists, str and numbers only.") from None
