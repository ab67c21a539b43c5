"""Person crops as GAN training data: [-1, 1] tensors at the GAN resolution.

The GAN normalisation differs from the ReID one (ImageNet mean/std, random erasing...), so the
GAN keeps its own small image dataset; it takes file lists from the ReID readers
(``reid_training.data.load_dataset``). Images are decoded once and held as uint8 (128x64x3 is
24 KB, so 10k crops are 240 MB): on a 2-core CPU decoding every epoch would dominate training.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def load_image(path: str | os.PathLike, image_size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 (H, W, 3) resized to ``image_size`` (H, W)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with Image.open(path) as im:
        im = im.convert("RGB").resize((int(image_size[1]), int(image_size[0])), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8).copy()


def to_gan_tensor(images_uint8: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) or (H, W, 3) uint8 -> float (N, 3, H, W) or (3, H, W) in [-1, 1]."""
    t = torch.as_tensor(images_uint8)
    t = t.permute(0, 3, 1, 2) if t.dim() == 4 else t.permute(2, 0, 1)
    return t.float().div(127.5).sub(1.0)


class PersonImageDataset(Dataset):
    """In-memory person crops; ``flip`` mirrors at random (people are left-right symmetric enough)."""

    def __init__(self, paths: Sequence[str | os.PathLike], image_size: tuple[int, int] = (128, 64),
                 flip: bool = True, progress: bool = True) -> None:
        paths = [Path(p) for p in paths]
        if not paths:
            raise ValueError("PersonImageDataset: empty list of image paths")
        self.paths = paths
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.flip = flip
        arr = np.stack([load_image(p, self.image_size) for p in tqdm(paths, desc="decode crops", leave=False,
                                                                    disable=not progress)])
        self.images = torch.from_numpy(arr)  # (N, H, W, 3) uint8

    @classmethod
    def from_tensor(cls, images: torch.Tensor, flip: bool = True) -> "PersonImageDataset":
        """From float images in [-1, 1] shaped (N, 3, H, W) (tests, in-memory data)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) images, got {tuple(images.shape)}")
        obj = cls.__new__(cls)
        obj.paths = []
        obj.image_size = (int(images.shape[2]), int(images.shape[3]))
        obj.flip = flip
        obj.images = ((images.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
        return obj

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> torch.Tensor:
        x = to_gan_tensor(self.images[index])
        if self.flip and torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x

    def tensor(self, n: int | None = None) -> torch.Tensor:
        """The first ``n`` images (all by default) as float [-1, 1], unflipped: FRD reference sets."""
        sel = self.images if n is None else self.images[:n]
        return to_gan_tensor(sel)


def list_images(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def dataset_image_paths(root: str | os.PathLike, split: str = "train") -> list[Path]:
    """Training crops of a ReID dataset through the ReID readers (Market-1501 layout and others)."""
    from reid_training.data import load_dataset

    ds = load_dataset(root)
    records: Iterable = getattr(ds, split)
    return [Path(r.path) for r in records]
