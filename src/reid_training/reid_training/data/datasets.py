"""Readers for the Market-1501, DukeMTMC-reID and MSMT17 folder layouts.

Market-1501 / DukeMTMC-reID (and our synthetic data and MOT crops)::

    <root>/bounding_box_train/0002_c1s1_000451_03.jpg   pid 2, camera 1 (Duke: 0001_c2_f0046182.jpg)
    <root>/bounding_box_test/...                         gallery
    <root>/query/...

MSMT17 (V1 or V2)::

    <root>/train/ or mask_train_v2/   images, listed by list_train.txt and list_val.txt
    <root>/test/  or mask_test_v2/    images, listed by list_query.txt and list_gallery.txt
    list lines: ``0000/0000_000_01_0303morning_0015_0.jpg 0`` (path, pid); camera = 3rd field

Standard protocol: pid -1 ("junk": bad crops) is dropped everywhere; pid 0 ("distractor") is
kept in the gallery only, where it matches no query. Camera ids are returned 0-based. The root
may also be the folder that holds the dataset folder (e.g. the parent of Market-1501-v15.09.15).
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from .records import ImageRecord, ReIDDataset, make_dataset

LOG = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
MARKET_DIRS = ("bounding_box_train", "bounding_box_test")
MSMT_LISTS = ("list_train.txt", "list_val.txt", "list_query.txt", "list_gallery.txt")
_NAME = re.compile(r"^(-?\d+)_c(\d+)")
_LAYOUT_ALIASES = {"market1501": "market1501", "market": "market1501", "market-1501": "market1501",
                   "dukemtmcreid": "dukemtmcreid", "duke": "dukemtmcreid", "dukemtmc-reid": "dukemtmcreid",
                   "msmt17": "msmt17", "msmt": "msmt17"}
LAYOUTS = ("auto", "market1501", "dukemtmcreid", "msmt17")


def parse_market_name(name: str) -> tuple[int, int]:
    """``0002_c1s1_000451_03.jpg`` -> ``(2, 0)``: (pid, 0-based camera id). Also Duke names."""
    m = _NAME.match(name)
    if m is None:
        raise ValueError(f"cannot parse person id and camera from file name {name!r} "
                         f"(expected Market-1501 style '<pid>_c<cam>...', e.g. 0002_c1s1_000451_03.jpg)")
    cam = int(m.group(2))
    if cam < 1:
        raise ValueError(f"camera number must be >= 1 in file name {name!r}")
    return int(m.group(1)), cam - 1


def _images(folder: Path) -> list[Path]:
    with os.scandir(folder) as it:
        return sorted(Path(e.path) for e in it if e.is_file() and e.name.lower().endswith(IMAGE_EXTS))


def read_market_folder(folder: str | os.PathLike, split: str = "gallery") -> list[ImageRecord]:
    """Records of one Market-style image folder, junk (-1) dropped; distractors (0) kept only
    when ``split == "gallery"``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    records = []
    for path in _images(folder):
        pid, camid = parse_market_name(path.name)
        if pid == -1 or (pid == 0 and split != "gallery"):
            continue
        if pid < -1:
            raise ValueError(f"negative person id {pid} in {path} (only -1 marks junk images)")
        records.append(ImageRecord(str(path), pid, camid))
    return records


def _locate(root: Path, markers: tuple[str, ...]) -> Path | None:
    """``root`` or a direct subfolder of it that holds all ``markers``."""
    if all((root / m).exists() for m in markers):
        return root
    try:
        subs = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return None
    hits = [s for s in subs if all((s / m).exists() for m in markers)]
    return hits[0] if len(hits) == 1 else None


def _guess_market_or_duke(root: Path) -> str:
    for sub in ("query", "bounding_box_test"):
        for path in _images(root / sub)[:20]:
            if re.match(r"^-?\d+_c\d+_f\d+", path.name):
                return "dukemtmcreid"
            if re.match(r"^-?\d+_c\d+s\d+_", path.name):
                return "market1501"
    return "market1501"


def _load_market_style(root: Path, name: str, require_train: bool) -> ReIDDataset:
    needed = MARKET_DIRS if require_train else MARKET_DIRS[1:]
    missing = [d for d in needed if not (root / d).is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} is not a {name} folder: missing {', '.join(d + '/' for d in missing)} "
                                f"(expected {', '.join(d + '/' for d in MARKET_DIRS)})")
    train = read_market_folder(root / "bounding_box_train", "train") if (root / "bounding_box_train").is_dir() else []
    query = read_market_folder(root / "query", "query")
    gallery = read_market_folder(root / "bounding_box_test", "gallery")
    _check_nonempty(root, name, train if require_train else None, query, gallery)
    return make_dataset(train, query, gallery, name)


def _check_nonempty(root: Path, name: str, train, query, gallery) -> None:
    empty = [s for s, recs in (("train", train), ("query", query), ("gallery", gallery))
             if recs is not None and not recs]
    if empty:
        raise ValueError(f"{root} ({name}): no usable images in split(s) {empty} "
                         f"(junk pid -1 images do not count)")


def _read_msmt_list(list_file: Path, image_dir: Path) -> list[ImageRecord]:
    records = []
    for lineno, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValueError(f"{list_file}:{lineno}: expected '<image path> <pid>', got {line!r}")
        rel, pid_text = parts
        fields = Path(rel).name.split("_")
        try:
            pid, camid = int(pid_text), int(fields[2]) - 1
        except (ValueError, IndexError):
            raise ValueError(f"{list_file}:{lineno}: cannot parse pid/camera from {line!r} "
                             f"(expected e.g. '0000/0000_000_01_0303morning_0015_0.jpg 0')") from None
        if pid < 0:  # MSMT17 has no junk ids; skip them like Market's if a converted list has any
            continue
        records.append(ImageRecord(str(image_dir / rel), pid, camid))
    return records


def _msmt_dir(root: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((root / c for c in candidates if (root / c).is_dir()), None)


def _load_msmt17(root: Path, require_train: bool) -> ReIDDataset:
    needed = MSMT_LISTS if require_train else MSMT_LISTS[2:]
    missing = [f for f in needed if not (root / f).is_file()]
    train_dir = _msmt_dir(root, ("train", "mask_train_v2"))
    test_dir = _msmt_dir(root, ("test", "mask_test_v2"))
    if require_train and train_dir is None:
        missing.append("train/ (or mask_train_v2/)")
    if test_dir is None:
        missing.append("test/ (or mask_test_v2/)")
    if missing:
        raise FileNotFoundError(f"{root} is not an MSMT17 folder: missing {', '.join(missing)}")
    train: list[ImageRecord] = []
    if train_dir is not None and all((root / f).is_file() for f in MSMT_LISTS[:2]):
        # the usual protocol trains on train + val
        train = (_read_msmt_list(root / "list_train.txt", train_dir)
                 + _read_msmt_list(root / "list_val.txt", train_dir))
    query = _read_msmt_list(root / "list_query.txt", test_dir)
    gallery = _read_msmt_list(root / "list_gallery.txt", test_dir)
    for recs in (train[:1], query[:1], gallery[:1]):
        if recs and not Path(recs[0].path).is_file():
            raise FileNotFoundError(f"{root}: MSMT17 list names {recs[0].path}, which does not exist")
    _check_nonempty(root, "msmt17", train if require_train else None, query, gallery)
    return make_dataset(train, query, gallery, "msmt17")


def detect_layout(root: str | os.PathLike) -> tuple[str, Path]:
    """``(layout, dataset folder)`` for ``root``; raises with what was looked for."""
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"dataset path is not a folder: {root}")
    found = _locate(root, ("list_query.txt", "list_gallery.txt"))
    if found is not None:
        return "msmt17", found
    found = _locate(root, ("query", "bounding_box_test"))
    if found is not None:
        return _guess_market_or_duke(found), found
    try:
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())[:12]
    except OSError:
        entries = []
    raise FileNotFoundError(
        f"no ReID dataset layout recognised in {root}: expected Market-1501/DukeMTMC-reID folders "
        f"({', '.join(d + '/' for d in MARKET_DIRS)}) or MSMT17 files ({', '.join(MSMT_LISTS)} with "
        f"train/ and test/), here or in one subfolder; found {entries or 'nothing'}")


def load_dataset(root: str | os.PathLike, layout: str = "auto", require_train: bool = True) -> ReIDDataset:
    """Read a ReID dataset folder.

    ``layout``: ``auto`` | ``market1501`` | ``dukemtmcreid`` | ``msmt17`` (aliases ``market``,
    ``duke``, ``msmt``). ``require_train=False`` accepts evaluation-only folders (query and
    gallery, no training split): cross-domain evaluation on any folder in this layout.
    """
    key = layout.strip().lower()
    if key != "auto" and key not in _LAYOUT_ALIASES:
        raise ValueError(f"unknown dataset layout {layout!r}; choose one of {LAYOUTS}")
    root = Path(root).expanduser()
    if key == "auto":
        key, folder = detect_layout(root)
    else:
        key = _LAYOUT_ALIASES[key]
        if not root.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {root}")
        markers = ("list_query.txt",) if key == "msmt17" else ("query",)
        folder = _locate(root, markers) or root
    if key == "msmt17":
        return _load_msmt17(folder, require_train)
    return _load_market_style(folder, key, require_train)
