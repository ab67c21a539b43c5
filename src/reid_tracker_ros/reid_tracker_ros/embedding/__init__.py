"""Appearance-embedding cores (no ROS imports): crops, model metadata, inference backends.

onnxruntime / torch / tensorrt are imported only when a backend is built.
"""
from __future__ import annotations

from .backends import (Embedder, EmbeddingBackend, OnnxRuntimeBackend, TensorRTBackend, TorchBackend,
                       load_embedder)
from .default_model import default_model_path, resolve_embedder
from .crops import CropPreprocessor, crop_and_resize, pixel_boxes
from .metadata import ModelMetadata, metadata_path, read_metadata, write_metadata
from .tiny_model import TINY_MODEL_NAME, build_tiny_model, export_tiny_model

__all__ = ["CropPreprocessor", "Embedder", "EmbeddingBackend", "ModelMetadata", "OnnxRuntimeBackend",
           "TINY_MODEL_NAME", "TensorRTBackend", "TorchBackend", "build_tiny_model", "crop_and_resize", "default_model_path", "resolve_embedder",
           "export_tiny_model", "load_embedder", "metadata_path", "pixel_boxes",
           "read_metadata", "write_metadata"]
