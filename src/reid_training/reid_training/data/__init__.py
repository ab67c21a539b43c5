"""ReID data: dataset readers, synthetic persons, MOT crops, sampling, transforms, loaders.

torch is imported lazily (by the loaders and transforms when called), so the readers and the
synthetic generator work without it.
"""
from __future__ import annotations

from .datasets import LAYOUTS, detect_layout, load_dataset, parse_market_name, read_market_folder
from .loaders import ImageDataset, default_workers, make_eval_loader, make_train_loader, read_rgb
from .records import ImageRecord, ReIDDataset, Tracklet, make_dataset, relabel
from .sampler import PKSampler
from .transforms import IMAGENET_MEAN, IMAGENET_STD, ReIDTransform, build_transforms

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageDataset", "ImageRecord", "LAYOUTS", "PKSampler",
           "ReIDDataset", "ReIDTransform", "Tracklet", "build_transforms", "default_workers", "detect_layout",
           "load_dataset", "make_dataset", "make_eval_loader", "make_train_loader", "parse_market_name",
           "read_market_folder", "read_rgb", "relabel"]
