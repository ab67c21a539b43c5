"""Which ReID model the embedder loads for the parameter value ``model``.

- ``none``: no appearance model (the tracker runs on motion only);
- ``default``: the project's default model. Until a trained ReID model ships, that is the
  small UNTRAINED CNN of :mod:`.tiny_model`, exported to ONNX once into the cache (its
  metadata says ``trained: false`` and the node warns about it);
- anything else: a path to an .onnx / .pt / .engine with its metadata JSON beside it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..detection.default_weights import default_cache_dir
from .backends import Embedder, load_embedder
from .metadata import metadata_path
from .tiny_model import TINY_MODEL_NAME, export_tiny_model


def default_model_path(cache_dir: Path | None = None) -> Path:
    """Path of the default model, exported on first use (atomically: concurrent processes
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


def resolve_embedder(model: str, device: str = "auto", max_batch: int = 32) -> Embedder | None:
    """The Embedder for a node's ``model`` parameter (None for ``none``)."""
    key = model.strip()
    if key.lower() == "none":
        return None
    path = default_model_path() if key.lower() == "default" else Path(key).expanduser()
    return load_embedder(path, device=device, max_batch=max_batch)
