"""Pictures of tracking results: a contact sheet of frames with boxes and ids (pure, OpenCV).

Reads a MOTChallenge sequence folder and a results file, so it works the same for our
tracker's output, another tracker's or the ground truth.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..mot.io import frame_paths, read_results, read_seqinfo
from ..visualization.colours import id_colour


def annotate(image_bgr: np.ndarray, rows: np.ndarray, label: str = "") -> np.ndarray:
    """Draw (frame, id, left, top, w, h, ...) rows on a copy of the image."""
    out = image_bgr.copy()
    thick = max(1, round(out.shape[0] / 270))
    for _, tid, x, y, w, h in rows[:, :6]:
        colour = id_colour(int(tid))
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, thick)
        cv2.putText(out, str(int(tid)), (int(x), max(12, int(y) - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35 * thick + 0.2, colour, thick, cv2.LINE_AA)
    if label:
        cv2.putText(out, label, (8, 24 * thick), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thick + 0.2, (255, 255, 255),
                    thick + 1, cv2.LINE_AA)
    return out


def contact_sheet(seq_dir: str | Path, results_file: str | Path, out_path: str | Path, frames: int = 6,
                  columns: int = 3, tile_width: int = 480) -> Path:
    """Write a grid of ``frames`` evenly spaced frames with the results drawn on them."""
    info = read_seqinfo(seq_dir)
    paths = frame_paths(info)
    results = read_results(results_file)
    picks = np.linspace(1, info.seq_length, frames + 2).round().astype(int)[1:-1]
    tile_h = round(tile_width * info.im_height / info.im_width)
    tiles = []
    for f in picks:
        img = cv2.imread(str(paths[f - 1])) if paths[f - 1].is_file() else None
        if img is None:
            img = np.zeros((info.im_height, info.im_width, 3), np.uint8)
        tiles.append(cv2.resize(annotate(img, results[results[:, 0] == f], f"frame {f}"), (tile_width, tile_h),
                                interpolation=cv2.INTER_AREA))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[r:r + columns]) for r in range(0, len(tiles), columns)])
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_path), grid):
        raise OSError(f"could not write {out_path}")
    return out_path
