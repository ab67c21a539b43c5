"""Write generated persons to a folder in the Market-1501 layout.

Generated crops have no identity. They are written as ``bounding_box_train/PPPP_cCs1_FFFFFF_00.jpg``
with one reserved person id (``GENERATED_PID``) so any Market-1501 reader lists them; the ReID
trainer then decides what label they carry (LSRO's uniform distribution, or one extra class).
A ``generated.json`` beside them records the checkpoint, kind, seed and count.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

GENERATED_PID = 9999
NUM_CAMERAS = 6


def market_name(pid: int, camera: int, frame: int) -> str:
    if not (0 <= pid <= 9999 and 1 <= camera <= 9 and 0 <= frame <= 999999):
        raise ValueError(f"market_name: pid {pid}, camera {camera} or frame {frame} out of the Market-1501 ranges")
    return f"{pid:04d}_c{camera}s1_{frame:06d}_00.jpg"


@torch.no_grad()
def generate_images(generator: torch.nn.Module, n: int, out_dir: str | os.PathLike, seed: int = 0,
                    batch_size: int = 64, pid: int = GENERATED_PID, output_size: tuple[int, int] | None = None,
                    quality: int = 95, meta: dict | None = None, progress: bool = True) -> list[Path]:
    """Sample ``n`` images (noise seeded by ``seed``) into ``out_dir/bounding_box_train``.

    Cameras cycle over 1..6 only so the names parse; ``output_size`` (H, W) resizes (e.g. to the
    ReID input size). Returns the written paths.
    """
    if n < 1:
        raise ValueError(f"generate_images: n must be >= 1, got {n}")
    folder = Path(out_dir) / "bounding_box_train"
    folder.mkdir(parents=True, exist_ok=True)
    nz = int(getattr(generator, "nz"))
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    rng = torch.Generator().manual_seed(int(seed))
    paths: list[Path] = []
    with tqdm(total=n, desc="generate", leave=False, disable=not progress) as bar:
        while len(paths) < n:
            b = min(batch_size, n - len(paths))
            z = torch.randn(b, nz, generator=rng)
            x = generator(z.to(device)).float().cpu()
            if output_size is not None and tuple(x.shape[-2:]) != tuple(output_size):
                x = torch.nn.functional.interpolate(x, size=tuple(output_size), mode="bilinear", align_corners=False)
            arr = ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
            for img in arr:
                k = len(paths)
                path = folder / market_name(pid, k % NUM_CAMERAS + 1, k)
                Image.fromarray(np.ascontiguousarray(img)).save(path, quality=quality)
                paths.append(path)
            bar.update(b)
    generator.train(was_training)
    info = {"count": n, "seed": int(seed), "pid": pid, "folder": str(folder)}
    info.update(meta or {})
    (Path(out_dir) / "generated.json").write_text(json.dumps(info, indent=1))
    return paths
