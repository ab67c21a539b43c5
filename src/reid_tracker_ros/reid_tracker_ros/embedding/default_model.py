"""Which ReID model the embedder loads for the parameter value ``model``.

- ``none``: no appearance model (the tracker runs on motion only);
- ``default``: the project's trained default model, shipped in the package
  (``reid_tracker_ros/models/``): a MobileNetV2 trained on synthetic persons with
  ``reid_training`` (training command, metrics and timings in docs/reid.md; they are also in
  the model's metadata JSON);
- ``tiny-untrained``: the small UNTRAINED CNN of :mod:`.tiny_model`, exported to ONNX once into
  the cache (metadata ``trained: false``; fast, for tests of the plumbing);
- anything else: a path to an .onnx / .pt / .engine with its metadata JSON beside it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..detection.default_weights import default_cache_dir
from .backends import Embedder, load_embedder
from .metadata import metadata_path, read_metadata
from .tiny_model import TINY_MODEL_NAME, export_tiny_model

DEFAULT_MODEL_FILE = "reid_mobilenetv2_dr2k.onnx"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent.parent / "models"


def shipped_model_path() -> Path:
    """The trained default model inside the package; FileNotFoundError (naming the path and how
    to rebuild it) when the file or its metadata is missing, e.g. a checkout without it."""
    path = SHIPPED_MODEL_DIR / DEFAULT_MODEL_FILE
    for p in (path, metadata_path(path)):
        if not p.is_file():
            raise FileNotFoundError(
                f"default ReID model file missing: {p} (it ships with reid_tracker_ros; re-create it with "
                f"the training command in docs/reid.md, or set the embedder 'model' to 'tiny-untrained', "
                f"'none' or a model path)")
    return path


def tiny_model_path(cache_dir: Path | None = None) -> Path:
    """Path of the untrained tiny model, exported on first use (atomically: concurrent processes
    each export to a temporary folder and rename, so none ever reads a half-written file)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / f"{TINY_MODEL_NAME}.onnx"
    if target.is_file() and metadata_path(target).is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        exported = export_tiny_model(Path(tmp) / target.name)
        os.replace(metadata_path(exported), metadata_path(target))
        os.replace(exported, target)
    return target


def default_model_path(cache_dir: Path | None = None) -> Path:
    """The model ``default`` stands for: the shipped trained model. ``cache_dir`` is accepted
    for compatibility and unused (the shipped model needs no cache)."""
    return shipped_model_path()


def model_path_for(model: str) -> Path | None:
    """Model file for a node's ``model`` parameter value (None for ``none``)."""
    key = model.strip()
    if key.lower() == "none":
        return None
    if key.lower() == "default":
        return shipped_model_path()
    if key.lower() == TINY_MODEL_NAME:
        return tiny_model_path()
    return Path(key).expanduser()


def resolve_embedder(model: str, device: str = "auto", max_batch: int = 32) -> Embedder | None:
    """The Embedder for a node's ``model`` parameter (None for ``none``)."""
    path = model_path_for(model)
    return None if path is None else load_embedder(path, device=device, max_batch=max_batch)


def identity_threshold(model_name: str, model: str = "default") -> float | None:
    """The identity node's matching threshold for features of the model called ``model_name``
    (``extra.identity_threshold`` in its metadata JSON, chosen when the model was validated):
    looked up in the node's own ``model`` (a path or 'default') and in the shipped models.
    None when no metadata of that name carries one: distances differ between models, so a
    threshold chosen for one merges or splits people with another."""
    candidates = []
    try:
        path = model_path_for(model)
        if path is not None:
            candidates.append(path)
    except FileNotFoundError:
        pass
    candidates += sorted(SHIPPED_MODEL_DIR.glob("*.onnx"))
    for path in candidates:
        try:
            meta = read_metadata(path)
        except (FileNotFoundError, ValueError):
            continue
        value = meta.extra.get("identity_threshold")
        if meta.name == model_name and isinstance(value, (int, float)) and 0 < value <= 2:
            return float(value)
    return None
