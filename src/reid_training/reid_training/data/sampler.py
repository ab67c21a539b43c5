"""P x K identity sampling: every batch holds P identities with K images each.

Why: batch-hard triplet and center losses need several images of each identity in a batch
(positives) and several identities (negatives); a plain shuffle gives almost no positives.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

import numpy as np

try:  # a torch Sampler when torch is there (DataLoader/accelerate accept it), a plain class otherwise
    from torch.utils.data import Sampler as _Base
except ImportError:  # pragma: no cover - torch is a dependency of reid_training
    _Base = object  # type: ignore[assignment,misc]


class PKSampler(_Base):  # type: ignore[misc]
    """Batch sampler yielding lists of ``p * k`` dataset indices: ``p`` distinct pids, ``k``
    indices each, identities grouped (``k`` consecutive entries share a pid).

    Per epoch every identity's images are shuffled and cut into groups of ``k``; an identity
    with fewer than ``k`` images is filled up by drawing its images again (with replacement),
    one with many images contributes several groups. Batches then draw ``p`` distinct
    identities among those with the most groups left (ties at random), so each image is used
    about once per epoch and no batch ever repeats an identity.
    Identities with fewer than ``min_instances`` images are ignored. ``set_epoch(e)`` changes
    the shuffle deterministically (like DistributedSampler); ``len()`` is batches per epoch.
    """

    def __init__(self, pids: Sequence[int], p: int, k: int, seed: int = 0, min_instances: int = 1) -> None:
        if p < 1 or k < 1:
            raise ValueError(f"PKSampler: p and k must be >= 1, got p={p}, k={k}")
        by_pid: dict[int, list[int]] = defaultdict(list)
        for i, pid in enumerate(pids):
            by_pid[int(pid)].append(i)
        self.index_by_pid = {pid: np.asarray(ix) for pid, ix in sorted(by_pid.items()) if len(ix) >= min_instances}
        if len(self.index_by_pid) < p:
            raise ValueError(f"PKSampler: need at least p={p} identities with >= {min_instances} images, "
                             f"got {len(self.index_by_pid)}")
        self.p, self.k, self.seed, self.epoch = int(p), int(k), int(seed), 0
        self._len = self._count_batches()

    @classmethod
    def from_records(cls, records, p: int, k: int, seed: int = 0, min_instances: int = 1) -> "PKSampler":
        """Sampler over a list of :class:`ImageRecord` (their ``pid`` field)."""
        return cls([r.pid for r in records], p, k, seed, min_instances)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _groups(self, rng: np.random.Generator) -> dict[int, list[np.ndarray]]:
        groups = {}
        for pid, ix in self.index_by_pid.items():
            ix = rng.permutation(ix)
            if len(ix) < self.k:
                ix = np.concatenate([ix, rng.choice(ix, self.k - len(ix), replace=True)])
            n = len(ix) // self.k
            groups[pid] = [ix[j * self.k:(j + 1) * self.k] for j in range(n)]
        return groups

    def _count_batches(self) -> int:
        """Batches per epoch. The draw below always takes identities with the most groups left,
        so this count depends only on the group counts and ``len()`` is exact."""
        left = np.array([max(len(ix), self.k) // self.k for ix in self.index_by_pid.values()])
        n = 0
        while (left > 0).sum() >= self.p:
            left[np.argsort(-left, kind="stable")[:self.p]] -= 1
            n += 1
        return n

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch]))
        groups = self._groups(rng)
        pids = list(groups)
        left = np.array([len(groups[pid]) for pid in pids])
        for _ in range(self._len):
            # the p identities with the most groups left, ties broken at random: uses up
            # frequent identities evenly instead of leaving them for single-identity batches
            chosen = np.argsort(-(left + rng.random(len(left)) * 0.5))[:self.p]
            batch: list[int] = []
            for c in rng.permutation(chosen):
                left[c] -= 1
                batch.extend(int(i) for i in groups[pids[c]][left[c]])
            yield batch

    def __len__(self) -> int:
        return self._len
