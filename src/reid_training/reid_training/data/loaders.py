"""torch Dataset over image records and the train/eval DataLoaders.

Loading keeps the CPU busy without oversubscribing it: ``workers`` processes decode and augment
(persistent across epochs, so no restart per epoch), each limited to one OpenCV/torch thread,
while the main process runs the model. Building a loader with workers makes OpenCV
single-threaded in the calling process (see :func:`_loader_kwargs`: forked workers would
otherwise deadlock on OpenCV's thread pool).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import cv2
import numpy as np

from .records import ImageRecord, ReIDDataset
from .sampler import PKSampler
from .transforms import IMAGENET_MEAN, IMAGENET_STD, build_transforms


def read_rgb(path: str) -> np.ndarray:
    """uint8 RGB image; FileNotFoundError names the path when it cannot be read."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class ImageDataset:
    """``dataset[i] -> (image tensor (3, H, W), pid, camid, index)`` over :class:`ImageRecord`."""

    def __init__(self, records: Sequence[ImageRecord], transform: Callable[[np.ndarray], object]) -> None:
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        r = self.records[index]
        return self.transform(read_rgb(r.path)), r.pid, r.camid, index


def _loader_kwargs(workers: int) -> dict:
    import torch

    workers = max(int(workers), 0)
    kw: dict = dict(num_workers=workers, pin_memory=torch.cuda.is_available())
    if workers > 0:
        # Forked workers inherit OpenCV's thread pool with its condition variables still "in use"
        # by parent threads that do not exist in the child: the child's first pool operation
        # then waits forever. Shrinking the pool in the parent before forking avoids that (the
        # parent only feeds the model; decoding and augmenting happen in the workers, one core
        # each; torch already runs its workers with one thread).
        cv2.setNumThreads(1)
        kw.update(persistent_workers=True, prefetch_factor=4)
    return kw


def default_workers() -> int:
    """Loader worker processes: the CPU cores this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def make_train_loader(dataset: ReIDDataset | Sequence[ImageRecord], p: int = 16, k: int = 4, height: int = 256,
                      width: int = 128, workers: int | None = None, seed: int = 0, flip_p: float = 0.5,
                      pad: int = 10, erasing_p: float = 0.5, mean: Sequence[float] = IMAGENET_MEAN,
                      std: Sequence[float] = IMAGENET_STD,
                      randomizer: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None):
    """DataLoader of P x K batches ``(images (P*K, 3, H, W), pids, camids, indices)`` with train
    augmentation (``randomizer``: domain randomisation, e.g.
    :data:`reid_training.data.domain_randomization.STANDARD`). ``dataset``: a :class:`ReIDDataset` (its relabelled ``train`` split) or records.
    The batch sampler is ``loader.batch_sampler`` (a :class:`PKSampler`; call ``set_epoch``)."""
    import torch.utils.data

    records = dataset.train if isinstance(dataset, ReIDDataset) else list(dataset)
    if not records:
        raise ValueError("make_train_loader: no training records (is the dataset's train split empty?)")
    transform = build_transforms(height, width, True, flip_p, pad, erasing_p, mean, std, seed, randomizer)
    sampler = PKSampler.from_records(records, p, k, seed)
    return torch.utils.data.DataLoader(ImageDataset(records, transform), batch_sampler=sampler,
                                       **_loader_kwargs(default_workers() if workers is None else workers))


def make_eval_loader(records: Sequence[ImageRecord], height: int = 256, width: int = 128, batch_size: int = 64,
                     workers: int | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                     std: Sequence[float] = IMAGENET_STD):
    """DataLoader over ``records`` in order (no augmentation), batches of ``batch_size``."""
    import torch.utils.data

    if batch_size < 1:
        raise ValueError(f"make_eval_loader: batch_size must be >= 1, got {batch_size}")
    transform = build_transforms(height, width, False, mean=mean, std=std)
    kw = _loader_kwargs(default_workers() if workers is None else workers)
    kw["persistent_workers"] = False  # one pass: no reason to keep the processes
    return torch.utils.data.DataLoader(ImageDataset(list(records), transform), batch_size=batch_size,
                                       shuffle=False, drop_last=False, **kw)
