"""Re-entry gallery: identities of deleted tracks, so a person who leaves and comes back keeps an id.

A tracker deletes a track after ``max_age`` frames without a match; whoever walks back in later
gets a new id (an identity switch in every metric). The gallery keeps a bounded set of appearance
features of each *confirmed* track at its deletion for ``max_age_s`` seconds; when a new track is
confirmed, its features are compared with the gallery and, if the best identity is close enough
(mean pairwise cosine distance), the new track takes the old id back and the entry is removed.

Its state is plain arrays (:meth:`ReentryGallery.state` / :meth:`from_state` / :meth:`merge`),
so the tracker nodes of several cameras can later share one gallery over a topic. Pure numpy.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..vectors import normalize_rows


@dataclass
class ReentryEntry:
    track_id: int
    features: np.ndarray  # (K, D) float32 unit rows
    timestamp: float  # seconds; when the track was deleted (the entry expires max_age_s later)


class ReentryGallery:
    """Appearance memory of deleted identities, bounded in time, features per id and ids."""

    def __init__(self, max_age_s: float = 60.0, threshold: float = 0.15, budget: int = 10,
                 capacity: int = 1000) -> None:
        if not max_age_s > 0:
            raise ValueError(f"re-entry max_age_s must be > 0, got {max_age_s}")
        if not 0.0 <= threshold <= 2.0:
            raise ValueError(f"re-entry threshold must be a cosine distance in [0, 2], got {threshold}")
        if budget < 1 or capacity < 1:
            raise ValueError(f"re-entry budget and capacity must be >= 1, got {budget}, {capacity}")
        self.max_age_s = float(max_age_s)
        self.threshold = float(threshold)
        self.budget = int(budget)
        self.capacity = int(capacity)
        self._entries: dict[int, ReentryEntry] = {}
        self.restored = 0  # ids handed back (for logs/benchmarks)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._entries

    @property
    def track_ids(self) -> list[int]:
        return list(self._entries)

    def add(self, track_id: int, features: np.ndarray, timestamp: float) -> bool:
        """Remember a deleted identity (its newest ``budget`` features); False if none usable."""
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2 or len(feats) == 0:
            return False
        feats = normalize_rows(feats[-self.budget:])
        feats = feats[np.any(feats != 0.0, axis=1)]
        if len(feats) == 0:
            return False
        if self._entries and len(feats) and feats.shape[1] != self.dim:
            raise ValueError(f"re-entry features of track {track_id} have dim {feats.shape[1]}, "
                             f"the gallery holds dim {self.dim}")
        self._entries.pop(int(track_id), None)  # re-insert: newest last
        self._entries[int(track_id)] = ReentryEntry(int(track_id), feats, float(timestamp))
        while len(self._entries) > self.capacity:  # drop the oldest identity
            self._entries.pop(next(iter(self._entries)))
        return True

    @property
    def dim(self) -> int | None:
        for e in self._entries.values():
            return e.features.shape[1]
        return None

    def expire(self, now: float) -> int:
        """Forget identities deleted more than ``max_age_s`` before ``now``; returns how many."""
        old = [k for k, e in self._entries.items() if now - e.timestamp > self.max_age_s]
        for k in old:
            del self._entries[k]
        return len(old)

    def distances(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (K,), distance (K,))``: mean pairwise cosine distance of ``features`` to each id.

        Mean over all pairs (= 1 - mean_a . mean_b of the unit rows) rather than the closest
        pair: one lucky pair among many must not hand an id to a stranger.
        """
        if not self._entries:
            return np.zeros(0, np.int64), np.zeros(0)
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.dim:
            raise ValueError(f"re-entry query must be (N, {self.dim}) features, got shape {feats.shape}")
        feats = normalize_rows(feats)
        if len(feats) == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        query = feats.mean(axis=0)
        ids = np.fromiter(self._entries, np.int64, len(self._entries))
        protos = np.stack([e.features.mean(axis=0) for e in self._entries.values()])
        return ids, np.clip(1.0 - protos @ query, 0.0, 2.0).astype(np.float64)

    def claim(self, features: np.ndarray, now: float, exclude: Iterable[int] = (),
              threshold: float | None = None) -> int | None:
        """Id of the closest remembered identity within the threshold (``threshold``, default the
        gallery's; removed from the gallery), or None. ``exclude``: ids that are alive right now
        and must not be handed out twice."""
        threshold = self.threshold if threshold is None else threshold
        self.expire(now)
        ids, dist = self.distances(features)
        if len(ids) == 0:
            return None
        banned = set(int(i) for i in exclude)
        order = np.argsort(dist, kind="stable")
        for k in order.tolist():
            if dist[k] > threshold:
                return None
            tid = int(ids[k])
            if tid not in banned:
                del self._entries[tid]
                self.restored += 1
                return tid
        return None

    # ------------------------------------------------------------------ message-friendly state
    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays: ``track_ids (K,) int64``, ``timestamps (K,) float64``, ``counts (K,)
        int32`` and ``features (sum(counts), D) float32`` (rows of entry k follow entry k-1)."""
        entries = list(self._entries.values())
        dim = self.dim or 0
        return {
            "track_ids": np.array([e.track_id for e in entries], np.int64),
            "timestamps": np.array([e.timestamp for e in entries], np.float64),
            "counts": np.array([len(e.features) for e in entries], np.int32),
            "features": (np.concatenate([e.features for e in entries]).astype(np.float32)
                         if entries else np.zeros((0, dim), np.float32)),
        }

    def merge(self, state: Mapping[str, np.ndarray]) -> int:
        """Add the entries of another gallery's :meth:`state`; for an id known to both, the newer
        timestamp wins. Returns how many entries were taken."""
        ids = np.asarray(state["track_ids"], np.int64).reshape(-1)
        stamps = np.asarray(state["timestamps"], np.float64).reshape(-1)
        counts = np.asarray(state["counts"], np.int64).reshape(-1)
        feats = np.asarray(state["features"], np.float32)
        if not (len(ids) == len(stamps) == len(counts)) or int(counts.sum()) != len(feats):
            raise ValueError(f"inconsistent re-entry state: {len(ids)} ids, {len(stamps)} timestamps, "
                             f"{len(counts)} counts summing to {int(counts.sum())}, {len(feats)} features")
        taken = 0
        start = 0
        for tid, ts, n in zip(ids.tolist(), stamps.tolist(), counts.tolist()):
            block, start = feats[start:start + n], start + n
            known = self._entries.get(tid)
            if known is not None and known.timestamp >= ts:
                continue
            taken += int(self.add(tid, block, ts))
        return taken

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], **params) -> "ReentryGallery":
        gallery = cls(**params)
        gallery.merge(state)
        return gallery
