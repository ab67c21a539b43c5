"""The global identity gallery: everyone seen by any camera, bounded in size and time.

Each identity keeps up to ``exemplars`` appearance features (float16, the newest view always
among them, the rest kept diverse: a new feature replaces the most similar stored one) and a
prototype, the normalised mean of its exemplars, against which queries are scored (mean
cosine distance, as the re-entry gallery does: one lucky pair must not hand an id to a
stranger). Prototypes sit in one matrix searched by :class:`~.index.PrototypeIndex`.

Bounds: ``max_identities`` in total (the least recently seen anonymous identity goes first),
``retention_s`` after an identity was last seen (named identities, enrolled on purpose, are
kept until forgotten). State is plain arrays (:meth:`state` / :meth:`from_state`) for saving.
Pure numpy; no ROS.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..vectors import normalize_rows
from .index import PrototypeIndex


@dataclass(frozen=True)
class IdentityInfo:
    """What the list service reports about one identity."""

    global_id: int
    name: str
    first_seen: float
    last_seen: float
    cameras: tuple[str, ...]
    exemplars: int


class IdentityGallery:
    """Appearance memory of global identities; vectorised lookup; plain-array state."""

    def __init__(self, dim: int, exemplars: int = 4, max_identities: int = 100000,
                 retention_s: float = 86400.0, index_from: int = 5000) -> None:
        if dim < 1 or exemplars < 1 or max_identities < 1:
            raise ValueError(f"identity gallery needs dim, exemplars and max_identities >= 1, got {dim}, "
                             f"{exemplars}, {max_identities}")
        if not retention_s > 0:
            raise ValueError(f"identity retention_s must be > 0 seconds, got {retention_s}")
        self.dim = int(dim)
        self.exemplars = int(exemplars)
        self.max_identities = int(max_identities)
        self.retention_s = float(retention_s)
        self.index = PrototypeIndex(self.dim, index_from=index_from)
        cap = 64
        self._proto = np.zeros((cap, self.dim), np.float32)
        self._ex = np.zeros((cap, self.exemplars, self.dim), np.float16)
        self._count = np.zeros(cap, np.int32)
        self._used = np.zeros(cap, bool)
        self._gid = np.zeros(cap, np.int64)
        self._first = np.zeros(cap, np.float64)
        self._last = np.zeros(cap, np.float64)
        self._row: dict[int, int] = {}  # global id -> row
        self._names: dict[int, str] = {}
        self._cameras: dict[int, set[str]] = {}
        self._free: list[int] = list(range(cap - 1, -1, -1))
        self.next_id = 1

    # ------------------------------------------------------------------ bookkeeping
    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, gid: int) -> bool:
        return int(gid) in self._row

    @property
    def global_ids(self) -> list[int]:
        return sorted(self._row)

    def name(self, gid: int) -> str:
        return self._names.get(int(gid), "")

    def gid_by_name(self, name: str) -> int | None:
        for gid, n in self._names.items():
            if n == name:
                return gid
        return None

    def info(self, gid: int) -> IdentityInfo:
        r = self._row[int(gid)]
        return IdentityInfo(int(gid), self.name(gid), float(self._first[r]), float(self._last[r]),
                            tuple(sorted(self._cameras.get(int(gid), ()))), int(self._count[r]))

    def identities(self) -> list[IdentityInfo]:
        return [self.info(g) for g in self.global_ids]

    def last_seen(self, gid: int) -> float:
        return float(self._last[self._row[int(gid)]])

    @property
    def nbytes(self) -> int:
        """Bytes held by the gallery's arrays (capacity, not only rows in use)."""
        return sum(a.nbytes for a in (self._proto, self._ex, self._count, self._used, self._gid, self._first,
                                      self._last))

    def _grow(self, need: int = 1) -> None:
        old = len(self._used)
        new = min(max(2 * old, 64, old + need), max(self.max_identities + 1, old + need))
        self._proto = np.concatenate([self._proto, np.zeros((new - old, self.dim), np.float32)])
        self._ex = np.concatenate([self._ex, np.zeros((new - old, self.exemplars, self.dim), np.float16)])
        for name in ("_count", "_used", "_gid", "_first", "_last"):
            arr = getattr(self, name)
            setattr(self, name, np.concatenate([arr, np.zeros(new - old, arr.dtype)]))
        self._free.extend(range(new - 1, old - 1, -1))

    def _check(self, features: np.ndarray) -> np.ndarray:
        feats = np.asarray(features, np.float32)
        if feats.ndim == 1:
            feats = feats[None]
        if feats.ndim != 2 or feats.shape[1] != self.dim:
            raise ValueError(f"identity features must be (N, {self.dim}), got shape {feats.shape}")
        feats = normalize_rows(feats)
        return feats[np.any(feats != 0.0, axis=1)]

    # ------------------------------------------------------------------ changes
    def add(self, features: np.ndarray, stamp: float, camera: str = "", name: str = "",
            global_id: int | None = None) -> int:
        """A new identity from ``features`` (N, D); returns its global id (``global_id`` to
        restore a known one). Makes room by forgetting the least recently seen anonymous one."""
        feats = self._check(features)
        if len(feats) == 0:
            raise ValueError("a new identity needs at least one non-zero feature")
        gid = self.next_id if global_id is None else int(global_id)
        if gid in self._row:
            raise ValueError(f"global id {gid} exists already")
        while len(self._row) >= self.max_identities:
            if self._evict_one() is None:
                raise ValueError(f"identity gallery full: {self.max_identities} named identities")
        if not self._free:
            self._grow()
        r = self._free.pop()
        self._used[r] = True
        self._gid[r] = gid
        self._first[r] = self._last[r] = float(stamp)
        self._count[r] = 0
        self._row[gid] = r
        if name:
            self._names[gid] = str(name)
        self._cameras[gid] = {camera} if camera else set()
        self.next_id = max(self.next_id, gid + 1)
        self._store(r, feats)
        self.index.add_row(r)
        return gid

    def add_many(self, features: np.ndarray, stamp: float, camera: str = "") -> np.ndarray:
        """New anonymous identities from ``features`` (N, K, D), K <= ``exemplars``: row i's K
        views become identity i; returns the N new global ids. The same gallery as N calls of
        :meth:`add`, in a few array writes: filling or restoring 100k identities one by one is
        minutes of Python. Evicts nothing: the gallery must have room for all N."""
        feats = np.asarray(features, np.float32)
        if feats.ndim != 3 or feats.shape[2] != self.dim or not 1 <= feats.shape[1] <= self.exemplars:
            raise ValueError(f"identity features must be (N, K <= {self.exemplars}, {self.dim}), "
                             f"got shape {feats.shape}")
        n, k = feats.shape[:2]
        if len(self._row) + n > self.max_identities:
            raise ValueError(f"identity gallery has room for {self.max_identities - len(self._row)} more "
                             f"identities, not {n}")
        feats = normalize_rows(feats.reshape(n * k, self.dim)).reshape(n, k, self.dim)
        if not np.any(feats != 0.0, axis=2).all():
            raise ValueError("a new identity needs non-zero features")
        if len(self._free) < n:
            self._grow(n - len(self._free))
        rows = np.array(self._free[len(self._free) - n:][::-1], np.int64)
        del self._free[len(self._free) - n:]
        gids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self._used[rows], self._gid[rows], self._count[rows] = True, gids, k
        self._first[rows] = self._last[rows] = float(stamp)
        self._ex[rows] = 0.0
        self._ex[rows, :k] = feats
        self._proto[rows] = normalize_rows(self._ex[rows, :k].astype(np.float32).mean(axis=1))
        self._row.update(zip(gids.tolist(), rows.tolist()))
        self._cameras.update((g, {camera} if camera else set()) for g in gids.tolist())
        self.next_id += n
        for r in rows.tolist():
            self.index.add_row(r)
        return gids

    def update(self, gid: int, features: np.ndarray, stamp: float, camera: str = "") -> None:
        """Add views of a known identity and mark it seen at ``stamp``."""
        r = self._row[int(gid)]
        self._last[r] = max(self._last[r], float(stamp))
        if camera:
            self._cameras[int(gid)].add(camera)
        feats = self._check(features)
        if len(feats):
            self._store(r, feats)

    def _store(self, r: int, feats: np.ndarray) -> None:
        ex = self._ex[r]
        for f in feats:
            n = int(self._count[r])
            if n < self.exemplars:
                ex[n] = f
                self._count[r] = n + 1
            else:  # the newest view replaces the most similar stored one: views stay diverse
                ex[int(np.argmax(ex.astype(np.float32) @ f))] = f
        n = int(self._count[r])
        self._proto[r] = normalize_rows(ex[:n].astype(np.float32).mean(axis=0, keepdims=True))[0]
        self.index.moved_row(r)

    def set_name(self, gid: int, name: str) -> None:
        if int(gid) not in self._row:
            raise KeyError(f"no identity {gid}")
        if name:
            self._names[int(gid)] = name
        else:
            self._names.pop(int(gid), None)

    def forget(self, gid: int) -> bool:
        """Remove an identity and every feature of it (privacy); False if unknown."""
        r = self._row.pop(int(gid), None)
        if r is None:
            return False
        self._used[r] = False
        self._proto[r] = 0.0
        self._ex[r] = 0.0
        self._count[r] = 0
        self._names.pop(int(gid), None)
        self._cameras.pop(int(gid), None)
        self._free.append(r)
        self.index.clear_row(r)
        return True

    def _evict_one(self) -> int | None:
        """Forget the least recently seen anonymous identity (one array pass, not a Python loop
        over a full gallery of up to ``max_identities``); None when all are named."""
        last = np.where(self._used, self._last, np.inf)
        last[[self._row[g] for g in self._names]] = np.inf
        r = int(np.argmin(last))
        if not np.isfinite(last[r]):
            return None
        gid = int(self._gid[r])
        self.forget(gid)
        return gid

    def expire(self, now: float) -> list[int]:
        """Forget anonymous identities not seen for more than ``retention_s``; their ids."""
        rows = np.flatnonzero(self._used & (now - self._last > self.retention_s))
        gone = [int(self._gid[r]) for r in rows if int(self._gid[r]) not in self._names]
        for gid in gone:
            self.forget(gid)
        return gone

    # ------------------------------------------------------------------ lookup
    def search(self, queries: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """``(global ids (Q, k), cosine distance (Q, k))`` of each query's ``k`` nearest
        prototypes, nearest first; id 0 / distance inf pad when fewer are stored.
        ``queries``: (Q, D) features (normalised here)."""
        q = np.asarray(queries, np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"identity queries must be (Q, {self.dim}), got shape {q.shape}")
        rows, sims = self.index.search(self._proto, self._used, normalize_rows(q), k)
        gids = np.where(rows >= 0, self._gid[np.maximum(rows, 0)], 0)
        dist = np.where(rows >= 0, np.clip(1.0 - sims, 0.0, 2.0), np.inf)
        return gids, dist

    def distances(self, queries: np.ndarray, gids: list[int]) -> np.ndarray:
        """(Q, len(gids)) cosine distances of queries to the given identities' prototypes."""
        q = normalize_rows(np.asarray(queries, np.float32).reshape(-1, self.dim))
        rows = np.fromiter((self._row[int(g)] for g in gids), np.int64, len(gids))
        return np.clip(1.0 - q @ self._proto[rows].T, 0.0, 2.0)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays, enough to rebuild the gallery (see :meth:`from_state`)."""
        gids = np.array(self.global_ids, np.int64)
        rows = np.array([self._row[int(g)] for g in gids], np.int64)
        cams = ["\x1f".join(sorted(self._cameras.get(int(g), ()))) for g in gids]
        return {
            "dim": np.array(self.dim, np.int64),
            "next_id": np.array(self.next_id, np.int64),
            "global_ids": gids,
            "names": np.array([self.name(g) for g in gids], dtype=np.str_) if len(gids) else np.zeros(0, "U1"),
            "cameras": np.array(cams, dtype=np.str_) if len(gids) else np.zeros(0, "U1"),
            "first_seen": self._first[rows],
            "last_seen": self._last[rows],
            "counts": self._count[rows].astype(np.int32),
            "exemplars": self._ex[rows] if len(rows) else np.zeros((0, self.exemplars, self.dim), np.float16),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], **params) -> "IdentityGallery":
        dim = int(np.asarray(state["dim"]))
        gids = np.asarray(state["global_ids"], np.int64)
        ex = np.asarray(state["exemplars"])
        counts = np.asarray(state["counts"], np.int64)
        n = len(gids)
        for key in ("names", "cameras", "first_seen", "last_seen"):
            if len(state[key]) != n:
                raise ValueError(f"inconsistent identity state: {n} ids but {len(state[key])} {key}")
        if ex.shape[:1] != (n,) or (n and ex.shape[2] != dim) or len(counts) != n:
            raise ValueError(f"inconsistent identity state: {n} ids, exemplars of shape {ex.shape}, dim {dim}")
        params.setdefault("exemplars", ex.shape[1] if n else 4)
        gallery = cls(dim, **params)
        for i in range(n):
            feats = ex[i, :max(0, min(int(counts[i]), ex.shape[1]))].astype(np.float32)
            gid = gallery.add(feats, float(state["first_seen"][i]), name=str(state["names"][i]),
                              global_id=int(gids[i]))
            r = gallery._row[gid]
            gallery._last[r] = float(state["last_seen"][i])
            cams = str(state["cameras"][i])
            gallery._cameras[gid] = set(cams.split("\x1f")) if cams else set()
        gallery.next_id = max(gallery.next_id, int(np.asarray(state["next_id"])))
        return gallery
