"""Validation families: data no default is tuned on as a whole, each with a dev and a test split.

Four families (docs/validation.md says what each is meant to catch):

- ``crowd``:        the second renderer (:mod:`reid_tracker_ros.mot.crowd`) at various sizes, frame
                    rates, densities, camera heights/tilts and backgrounds;
- ``real``:         real trajectories (TUD-Campus, TUD-Stadtmitte ground truth shipped inside the
                    ``motmetrics`` wheel) with the second renderer's people drawn along the boxes,
                    under several detector noise/score models (:mod:`reid_tracker_ros.mot.detnoise`);
- ``noappearance``: uninformative frames (plain grey or fresh noise: every crop alike) on real and
                    rendered trajectories;
- ``cammotion``:    pan, zoom and hand-held shake of a window over a larger rendered scene.

Splits: ``dev`` (tune here) and ``test`` (report here) differ in seeds and in settings; the real
trajectories are split by sequence: TUD-Campus in dev, TUD-Stadtmitte in test.

Use :func:`ensure_split` (generates what is missing or stale, returns the folders) or the CLI
``python -m reid_tracker_ros.mot.families OUT --split test``. Folders are
``<root>/<split>/<family>/<name>`` and carry a stamp so later runs reuse them.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from reid_tracker_ros.mot.crowd import CrowdConfig, render_along_boxes, render_sequence
from reid_tracker_ros.mot.detnoise import DETECTOR_MODELS, noisy_detections, write_detections
from reid_tracker_ros.mot.io import read_ground_truth, read_seqinfo

#: Bump when any generator output changes: cached folders with another stamp are regenerated.
FAMILIES_VERSION = 3  # 2: camera-motion visibility by rounded window bounds; 3: walking groups
STAMP = ".validation_stamp"
FAMILIES = ("crowd", "real", "noappearance", "cammotion")
SPLITS = ("dev", "test")
#: Real ground truth shipped in installed packages: name -> (motmetrics data folder, w, h, fps).
REAL_SOURCES = {"tud-campus": ("TUD-Campus", 640, 480, 25.0),
                "tud-stadtmitte": ("TUD-Stadtmitte", 640, 480, 25.0)}


@dataclass(frozen=True)
class SequenceSpec:
    """One sequence of a family/split: where its trajectories come from and how it is rendered."""

    family: str
    split: str
    name: str
    source: str                       # "crowd" or a key of REAL_SOURCES
    seed: int
    det_model: str
    crowd: dict = field(default_factory=dict)   # CrowdConfig overrides (source "crowd")
    image_mode: str = "render"        # render | grey | noise
    background: str = "plaza"         # for real trajectories

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r} (one of {FAMILIES})")
        if self.split not in SPLITS:
            raise ValueError(f"{self.name}: unknown split {self.split!r} (one of {SPLITS})")
        if self.source != "crowd" and self.source not in REAL_SOURCES:
            raise ValueError(f"{self.name}: unknown source {self.source!r}")
        if self.det_model not in DETECTOR_MODELS:
            raise ValueError(f"{self.name}: unknown detector model {self.det_model!r}")

    def stamp(self) -> str:
        return json.dumps({"version": FAMILIES_VERSION, **asdict(self)}, sort_keys=True)


def _crowd(family, split, name, seed, det, image_mode="render", **cfg) -> SequenceSpec:
    return SequenceSpec(family, split, name, "crowd", seed, det, dict(cfg), image_mode)


def _real(family, split, name, source, seed, det, image_mode="render", background="plaza") -> SequenceSpec:
    return SequenceSpec(family, split, name, source, seed, det, {}, image_mode, background)


#: The suite. Test: 2 sequences per family, 179-300 frames (about 1.8k frames in all).
SPECS: tuple[SequenceSpec, ...] = (
    # crowd: sizes, rates, densities, camera heights/tilts, backgrounds and detectors differ by split
    _crowd("crowd", "test", "CROWD-T1", 1101, "yolo", width=960, height=540, fps=25, frames=300, people=14,
           camera_height_m=4.0, tilt_deg=15, background="plaza", props=3),
    _crowd("crowd", "test", "CROWD-T2", 1102, "dpm", width=640, height=480, fps=15, frames=200, people=8,
           camera_height_m=1.8, tilt_deg=4, hfov_deg=55, background="grass", props=2, shadows=0.5),
    _crowd("crowd", "dev", "CROWD-D1", 2101, "frcnn", width=960, height=540, fps=30, frames=300, people=12,
           camera_height_m=3.0, tilt_deg=10, background="asphalt", props=2),
    _crowd("crowd", "dev", "CROWD-D2", 2102, "bursty", width=640, height=480, fps=10, frames=150, people=6,
           camera_height_m=6.0, tilt_deg=30, hfov_deg=70, background="indoor", props=4),
    _crowd("crowd", "dev", "CROWD-D3", 2103, "yolo", width=960, height=540, fps=20, frames=250, people=15,
           camera_height_m=2.2, tilt_deg=6, background="gravel", props=3),
    # added after the test split's first report: low frame rate at eye level (long occlusions
    # between people of one size), the kind where appearance cost Deep OC-SORT on CROWD-T2
    _crowd("crowd", "dev", "CROWD-D4-eyelevel-lowfps", 2104, "yolo", width=800, height=450, fps=12, frames=160,
           people=9, camera_height_m=1.6, tilt_deg=3, hfov_deg=60, background="plaza", props=1, shadows=0.4),
    # real trajectories, rendered people, several detector models; Campus = dev, Stadtmitte = test
    _real("real", "test", "REAL-T1-Stadtmitte-yolo", "tud-stadtmitte", 1201, "yolo", background="plaza"),
    _real("real", "test", "REAL-T2-Stadtmitte-dpm", "tud-stadtmitte", 1202, "dpm", background="asphalt"),
    _real("real", "dev", "REAL-D1-Campus-yolo", "tud-campus", 2201, "yolo", background="gravel"),
    _real("real", "dev", "REAL-D2-Campus-dpm", "tud-campus", 2202, "dpm", background="grass"),
    _real("real", "dev", "REAL-D3-Campus-frcnn", "tud-campus", 2203, "frcnn", background="indoor"),
    _real("real", "dev", "REAL-D4-Campus-bursty", "tud-campus", 2204, "bursty", background="plaza"),
    # no appearance: every crop alike (grey) or noise; real and rendered trajectories
    _real("noappearance", "test", "NOAPP-T1-Stadtmitte-noise", "tud-stadtmitte", 1301, "bursty",
          image_mode="noise"),
    _crowd("noappearance", "test", "NOAPP-T2-crowd-grey", 1302, "yolo", image_mode="grey", width=960, height=540,
           fps=25, frames=250, people=10, camera_height_m=3.5, tilt_deg=12, background="plaza"),
    _real("noappearance", "dev", "NOAPP-D1-Campus-noise", "tud-campus", 2301, "yolo", image_mode="noise"),
    _crowd("noappearance", "dev", "NOAPP-D2-crowd-grey", 2302, "dpm", image_mode="grey", width=640, height=480,
           fps=20, frames=200, people=8, camera_height_m=2.5, tilt_deg=8, background="asphalt"),
    # camera motion: pan / zoom / shake of a window over a wider scene
    _crowd("cammotion", "test", "CAM-T1-pan-shake", 1401, "yolo", width=960, height=540, fps=25, frames=250,
           people=10, camera_height_m=3.5, tilt_deg=12, background="plaza", canvas_scale=1.35, pan_px=260,
           shake_px=3.0),
    _crowd("cammotion", "test", "CAM-T2-zoom-handheld", 1402, "frcnn", width=640, height=480, fps=30, frames=250,
           people=8, camera_height_m=1.7, tilt_deg=5, background="gravel", canvas_scale=1.4, zoom=0.25,
           pan_px=80, shake_px=6.0),
    _crowd("cammotion", "dev", "CAM-D1-pan", 2401, "dpm", width=960, height=540, fps=20, frames=200, people=9,
           camera_height_m=4.5, tilt_deg=18, background="asphalt", canvas_scale=1.4, pan_px=320, shake_px=2.0),
    _crowd("cammotion", "dev", "CAM-D2-zoom-shake", 2402, "bursty", width=640, height=480, fps=25, frames=200,
           people=7, camera_height_m=2.0, tilt_deg=6, background="indoor", canvas_scale=1.35, zoom=0.3,
           shake_px=8.0),
    # added after the test split's first report: zoom + pan + hand-held shake at eye level and a
    # high frame rate, the kind where CAM-T2 showed losses (other seed, size, ground, detector)
    _crowd("cammotion", "dev", "CAM-D3-zoom-pan-handheld", 2403, "yolo", width=800, height=450, fps=30,
           frames=220, people=9, camera_height_m=1.6, tilt_deg=4, background="grass", canvas_scale=1.45,
           zoom=0.2, pan_px=100, shake_px=5.0),
)


def specs(split: str, families: Iterable[str] | None = None) -> list[SequenceSpec]:
    """The specs of one split, optionally only some families (in :data:`FAMILIES` order)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    fams = list(FAMILIES) if families is None else list(families)
    bad = [f for f in fams if f not in FAMILIES]
    if bad:
        raise ValueError(f"unknown families {bad}; choose from {FAMILIES}")
    return [s for f in fams for s in SPECS if s.split == split and s.family == f]


def sequence_dir(root: str | Path, spec: SequenceSpec) -> Path:
    return Path(root) / spec.split / spec.family / spec.name


def is_current(seq_dir: str | Path, spec: SequenceSpec) -> bool:
    """Whether ``seq_dir`` is a complete folder generated from ``spec`` by this version."""
    seq_dir = Path(seq_dir)
    stamp = seq_dir / STAMP
    if not (stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == spec.stamp()):
        return False
    if not ((seq_dir / "gt" / "gt.txt").is_file() and (seq_dir / "det" / "det.txt").is_file()):
        return False
    try:
        info = read_seqinfo(seq_dir)
    except (OSError, ValueError):
        return False
    return len(list((seq_dir / "img1").glob("*.jpg"))) == info.seq_length


def real_ground_truth(source: str) -> np.ndarray:
    """Ground-truth rows of a real sequence shipped in the motmetrics wheel (not imported:
    its code needs numpy < 2; only its data folder is read)."""
    if source not in REAL_SOURCES:
        raise ValueError(f"unknown real source {source!r}; choose one of {sorted(REAL_SOURCES)}")
    spec = importlib.util.find_spec("motmetrics")
    if spec is None or not spec.origin:
        raise FileNotFoundError("the real family needs the motmetrics package (requirements.txt) for "
                                "its TUD-Campus / TUD-Stadtmitte ground truth")
    path = Path(spec.origin).parent / "data" / REAL_SOURCES[source][0] / "gt.txt"
    gt = read_ground_truth(path)
    gt[:, 6] = 1.0
    return gt


def generate(root: str | Path, spec: SequenceSpec, progress: bool = True) -> Path:
    """Generate one sequence folder (overwriting any stale one) and stamp it."""
    import shutil

    folder = sequence_dir(root, spec)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if spec.source == "crowd":
        cfg = CrowdConfig(image_mode=spec.image_mode, **spec.crowd)
        seq, gt = render_sequence(folder.parent, spec.name, cfg, seed=spec.seed, progress=progress)
        size = (cfg.width, cfg.height)
    else:
        _, w, h, fps = REAL_SOURCES[spec.source]
        seq, gt = render_along_boxes(folder.parent, spec.name, real_ground_truth(spec.source), w, h, fps,
                                     seed=spec.seed, background=spec.background, image_mode=spec.image_mode,
                                     progress=progress)
        size = (w, h)
    det = noisy_detections(gt, model=spec.det_model, rng=np.random.default_rng(spec.seed + 17), image_size=size)
    write_detections(seq / "det" / "det.txt", det)
    (seq / STAMP).write_text(spec.stamp() + "\n", encoding="utf-8")
    return seq


def ensure_split(root: str | Path, split: str = "test", families: Iterable[str] | None = None,
                 progress: bool = True, force: bool = False) -> list[Path]:
    """Folders of one split under ``root``, generating those missing or stale; in spec order."""
    out = []
    for spec in specs(split, families):
        folder = sequence_dir(root, spec)
        if force or not is_current(folder, spec):
            if progress:
                print(f"generating {spec.family}/{spec.split} sequence {folder} ...", file=sys.stderr, flush=True)
            generate(root, spec, progress=progress)
        out.append(folder)
    return out


def family_of(seq_dir: str | Path) -> str | None:
    """The family a generated folder belongs to (from its stamp), None for other folders."""
    stamp = Path(seq_dir) / STAMP
    if not stamp.is_file():
        return None
    try:
        return json.loads(stamp.read_text(encoding="utf-8")).get("family")
    except json.JSONDecodeError:
        return None


def by_family(folders: Iterable[str | Path]) -> dict[str, list[Path]]:
    """Group sequence folders by family (folders without a stamp go under ``"other"``)."""
    out: dict[str, list[Path]] = {}
    for folder in folders:
        out.setdefault(family_of(folder) or "other", []).append(Path(folder))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Generate (or reuse) the validation suite's folders and print their paths.")
    ap.add_argument("out", type=Path, help="root folder (sequences go to OUT/<split>/<family>/<name>)")
    ap.add_argument("--split", choices=SPLITS, default="test")
    ap.add_argument("--families", nargs="*", choices=FAMILIES, default=None)
    ap.add_argument("--force", action="store_true", help="regenerate even if current")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    args = ap.parse_args(argv)
    for path in ensure_split(args.out, args.split, args.families, progress=not args.quiet, force=args.force):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
