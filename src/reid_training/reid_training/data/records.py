"""Image records and the train/query/gallery split every reader returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence


@dataclass(frozen=True)
class ImageRecord:
    """One person image: file path, person id and camera id (0-based).

    ``pid`` follows the Market-1501 convention in query/gallery lists (0 = distractor that
    matches nobody); in ``ReIDDataset.train`` pids are relabelled to 0..N-1 for the classifier.
    """

    path: str
    pid: int
    camid: int


@dataclass(frozen=True)
class Tracklet:
    """Consecutive crops of one person in one camera, in time order (for video ReID)."""

    pid: int
    camid: int
    paths: tuple[str, ...]
    frames: tuple[int, ...] = ()


@dataclass
class ReIDDataset:
    """``train`` has relabelled pids 0..N-1; ``query``/``gallery`` keep the original pids so the
    same-pid-same-camera exclusion of the evaluation protocol sees the dataset's ids."""

    train: list[ImageRecord]
    query: list[ImageRecord]
    gallery: list[ImageRecord]
    name: str = "reid"
    train_pid_map: dict[int, int] = field(default_factory=dict)  # original pid -> label

    @property
    def num_train_pids(self) -> int:
        return len({r.pid for r in self.train})

    @property
    def num_train_cams(self) -> int:
        return len({r.camid for r in self.train})

    def summary(self) -> str:
        """One table, like the usual dataset printout: ids / images / cameras per split."""
        lines = [f"dataset {self.name}", f"  {'subset':<8} {'ids':>6} {'images':>8} {'cameras':>8}"]
        for split in ("train", "query", "gallery"):
            recs: list[ImageRecord] = getattr(self, split)
            lines.append(f"  {split:<8} {len({r.pid for r in recs}):>6} {len(recs):>8} "
                         f"{len({r.camid for r in recs}):>8}")
        return "\n".join(lines)


def relabel(records: Iterable[ImageRecord]) -> tuple[list[ImageRecord], dict[int, int]]:
    """Map the pids of ``records`` to 0..N-1 in sorted pid order (deterministic)."""
    records = list(records)
    mapping = {pid: i for i, pid in enumerate(sorted({r.pid for r in records}))}
    return [ImageRecord(r.path, mapping[r.pid], r.camid) for r in records], mapping


def make_dataset(train: Sequence[ImageRecord], query: Sequence[ImageRecord], gallery: Sequence[ImageRecord],
                 name: str) -> ReIDDataset:
    """A :class:`ReIDDataset` with the train pids relabelled."""
    train_rel, mapping = relabel(train)
    return ReIDDataset(train_rel, list(query), list(gallery), name, mapping)
