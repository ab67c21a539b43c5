"""Enrolling a named person from a folder of crops (one person per folder, jpg/png)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CROP_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_crops(folder: str | Path, limit: int = 256) -> list[np.ndarray]:
    """RGB crops of ``folder`` (sorted by name, at most ``limit``); ValueError naming the
    folder when it has none or a file cannot be decoded."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"enrolment folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in CROP_SUFFIXES)[:limit]
    if not files:
        raise ValueError(f"enrolment folder {folder} has no {'/'.join(CROP_SUFFIXES)} crops")
    crops = []
    for path in files:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"enrolment crop {path} cannot be decoded")
        crops.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return crops


def crop_features(embedder, crops: list[np.ndarray]) -> np.ndarray:
    """(N, D) features, one per whole crop, from an :class:`~..embedding.backends.Embedder`."""
    rows = [embedder.embed(c, np.array([[0.0, 0.0, c.shape[1], c.shape[0]]], np.float32))[0] for c in crops]
    feats = np.stack(rows).astype(np.float32)
    return feats[np.any(feats != 0.0, axis=1)]
