"""Model metadata that travels with a ReID model file.

Naming convention: the metadata of ``<dir>/<file>`` is ``<dir>/<file>.json`` -- the full model
file name plus ``.json`` (``reid.onnx`` -> ``reid.onnx.json``, ``reid.engine`` ->
``reid.engine.json``), so an ONNX export and the TensorRT engine built from it can sit side
by side with their own metadata. Input size, normalisation and feature size live only here:
node parameters name a model file and never duplicate them.

The network input is RGB, float32, ``(N, 3, input_height, input_width)``, pixel values scaled
to [0, 1] and then normalised per channel: ``(x / 255 - mean) / std``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("onnx", "torchscript", "engine")
SCHEMA_VERSION = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelMetadata:
    """Everything needed to feed a ReID model and interpret its output."""

    name: str
    input_height: int
    input_width: int
    feature_dim: int
    format: str  # one of FORMATS
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    opset: int | None = None  # ONNX opset (informational)
    input_name: str = "input"
    output_name: str = "features"
    max_batch: int | None = None  # largest batch the file accepts (TensorRT profiles); None = any
    trained: bool = True
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # free-form provenance (dataset, commit...)

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return {"schema_version": SCHEMA_VERSION, **d}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> "ModelMetadata":
        """Build from parsed JSON; errors name ``source`` and the offending field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: metadata must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(f"{source}: unsupported schema_version {version!r} (expected {SCHEMA_VERSION})")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown metadata field(s) {unknown}; known: {sorted(known)}")
        missing = [k for k in ("name", "input_height", "input_width", "feature_dim", "format") if k not in data]
        if missing:
            raise ValueError(f"{source}: missing required metadata field(s) {missing}")
        for key in ("mean", "std"):
            if key in data:
                value = data[key]
                if not isinstance(value, (list, tuple)) or len(value) != 3:
                    raise ValueError(f"{source}: field {key!r} must be a list of 3 numbers, got {value!r}")
                data[key] = tuple(value)
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: {exc}") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(meta: ModelMetadata) -> None:
    if not isinstance(meta.name, str) or not meta.name:
        raise ValueError(f"field 'name' must be a non-empty string, got {meta.name!r}")
    for key in ("input_height", "input_width", "feature_dim"):
        value = getattr(meta, key)
        if not _is_int(value) or value <= 0:
            raise ValueError(f"field {key!r} must be a positive integer, got {value!r}")
    if meta.format not in FORMATS:
        raise ValueError(f"field 'format' must be one of {list(FORMATS)}, got {meta.format!r}")
    for key in ("mean", "std"):
        value = getattr(meta, key)
        if len(value) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                      and math.isfinite(v) for v in value):
            raise ValueError(f"field {key!r} must be 3 finite numbers, got {value!r}")
    if any(v <= 0 for v in meta.std):
        raise ValueError(f"field 'std' must be positive, got {meta.std!r}")
    for key in ("opset", "max_batch"):
        value = getattr(meta, key)
        if value is not None and (not _is_int(value) or value <= 0):
            raise ValueError(f"field {key!r} must be a positive integer or null, got {value!r}")
    for key in ("input_name", "output_name", "description"):
        if not isinstance(getattr(meta, key), str):
            raise ValueError(f"field {key!r} must be a string, got {getattr(meta, key)!r}")
    if not isinstance(meta.trained, bool):
        raise ValueError(f"field 'trained' must be true or false, got {meta.trained!r}")
    if not isinstance(meta.extra, dict):
        raise ValueError(f"field 'extra' must be an object, got {meta.extra!r}")


def metadata_path(model_path: str | os.PathLike) -> Path:
    """``reid.onnx`` -> ``reid.onnx.json`` (see the module docstring)."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".json")


def read_metadata(model_path: str | os.PathLike) -> ModelMetadata:
    """Read and validate the metadata JSON beside ``model_path``."""
    path = metadata_path(model_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"model metadata not found: {path} (every ReID model needs a '<model file>.json' "
            f"with name, input_height, input_width, feature_dim, format, mean, std)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: invalid JSON: {exc}") from exc
    return ModelMetadata.from_dict(data, source=str(path))


def write_metadata(model_path: str | os.PathLike, meta: ModelMetadata) -> Path:
    """Write ``meta`` beside ``model_path`` (atomically: temp file + rename); returns the path."""
    path = metadata_path(model_path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
