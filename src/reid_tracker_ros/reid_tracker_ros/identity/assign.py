"""Global identities for the tracks of many cameras: the identity node's core (pure numpy).

Every camera's tracker reports, now and then, the tracks it holds (confirmed ones) with a few
new appearance features each (:class:`TrackSummary`). A track that is linked to a global id
adds its views to that identity; a track that is not yet linked collects ``min_features``
features, is then compared with the gallery (its mean feature against every identity's
prototype) and takes the nearest identity within ``threshold``, else becomes a new identity.
Until a linked track has sent ``settle_features`` features the choice is provisional: with
every report its mean feature is compared again and the track moves to a nearer identity (an
identity it created itself and nobody else holds is then dropped), because the first views of
someone walking in are the least typical ones.

Views of a person cut by the image border (``TrackSummary.partial``) are never stored and never
make an identity, but a track that has nothing else may *join* an identity on them, so someone
walking in from the side gets their global id while still at the border instead of a few
frames later (each of those frames counts as another identity in a multi-camera IDF1). Its
whole views decide later: they move it to a nearer identity, or, when they match nobody, make
it a new one. Tracks of one report are assigned jointly
(Hungarian), and a track never takes an identity that another track of the *same camera*
holds at the moment (one person is one track per camera); other cameras may hold it (their
views may overlap).

A tracker restart is seen as a new ``session`` of its camera: that camera's links are
dropped (its track ids start again at 1) and its people are found again by appearance.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..vectors import normalize_rows
from .gallery import IdentityGallery

LARGE = 1e6


@dataclass(frozen=True)
class TrackSummary:
    """One track as a camera reports it: ``features`` (K, D) new views since its last report
    (K may be 0: the track is alive but sent nothing new)."""

    track_id: int
    features: np.ndarray
    quality: float = 1.0
    partial: np.ndarray | None = None  # (K,) bool: views cut by the image border (link only)


# allowed values of the identity node's settings: the one place (the node's parameter schema
# and IdentityConfig both check against these)
RANGES: dict[str, tuple[float, float]] = {
    "threshold": (0.0, 2.0),
    "min_features": (1, 1000),
    "settle_features": (1, 10000),
    "min_quality": (-1e9, 1e9),
    "exemplars": (1, 256),
    "max_identities": (1, 10 ** 8),
    "retention_s": (1e-3, 1e10),
    "index_from": (1, 10 ** 9),
    "candidates": (1, 1024),
}


@dataclass(frozen=True)
class IdentityConfig:
    """Settings of the identity node's core (``config/default.yaml``, node ``identity``)."""

    threshold: float = 0.04     # max cosine distance from a track to an identity's prototype
    min_features: int = 1       # features a track sends before it is given a global id
    settle_features: int = 20   # until then, a track's link is checked again with every report
    min_quality: float = 0.0    # features of reports with lower quality are not stored
    exemplars: int = 4          # features kept per identity
    max_identities: int = 100000
    retention_s: float = 86400.0  # an anonymous identity not seen this long is forgotten
    index_from: int = 5000      # identities from which an IVF index proposes candidates
    candidates: int = 8         # nearest identities considered per track

    def __post_init__(self) -> None:
        for name, (lo, hi) in RANGES.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"identity {name} must be in [{lo:g}, {hi:g}], got {value}")

    @classmethod
    def from_parameters(cls, params: Mapping) -> "IdentityConfig":
        """The fields of ``params`` (node parameters) that are settings of the core."""
        return cls(**{k: params[k] for k in RANGES if k in params})


@dataclass
class _CameraState:
    session: str = ""
    links: dict[int, int] = field(default_factory=dict)  # track id -> global id
    pending: dict[int, list[np.ndarray]] = field(default_factory=dict)  # unlinked track -> features
    probation: dict[int, list[np.ndarray]] = field(default_factory=dict)  # provisionally linked -> features
    created: dict[int, int] = field(default_factory=dict)  # track -> the identity it created (provisional)


class IdentityAssigner:
    """Links (camera, track id) to global ids; owns the :class:`IdentityGallery`."""

    def __init__(self, config: IdentityConfig, dim: int, gallery: IdentityGallery | None = None) -> None:
        self.config = config
        self.gallery = gallery or IdentityGallery(dim, config.exemplars, config.max_identities,
                                                  config.retention_s, config.index_from)
        if self.gallery.dim != dim:
            raise ValueError(f"gallery holds dim {self.gallery.dim} features, the assigner was given {dim}")
        self.cameras: dict[str, _CameraState] = {}
        self.created = 0
        self.linked = 0
        self.relinked = 0

    @property
    def dim(self) -> int:
        return self.gallery.dim

    def mapping(self, camera: str) -> dict[int, int]:
        cam = self.cameras.get(camera)
        return dict(cam.links) if cam else {}

    def assign(self, camera: str, session: str, stamp: float, summaries: Iterable[TrackSummary]
               ) -> dict[int, int]:
        """Process one report of ``camera``; returns ``{track id: global id (0: not yet)}``
        for every track in it. Tracks of the camera missing from the report have ended."""
        cfg = self.config
        cam = self.cameras.setdefault(camera, _CameraState(session))
        if cam.session != session:  # the tracker restarted: its track ids mean nothing now
            cam.links.clear()
            cam.pending.clear()
            cam.probation.clear()
            cam.created.clear()
            cam.session = session
        summaries = list(summaries)
        alive = {int(s.track_id) for s in summaries}
        for table in (cam.links, cam.pending, cam.probation, cam.created):
            for tid in [t for t in table if t not in alive]:
                del table[tid]
        gone = set(self.gallery.expire(stamp))
        queries: list[tuple[int, np.ndarray]] = []
        early: list[tuple[int, np.ndarray]] = []
        rechecks: list[int] = []
        for s in summaries:
            tid = int(s.track_id)
            feats = np.asarray(s.features, np.float32).reshape(-1, self.dim)
            if s.quality < cfg.min_quality:
                feats = feats[:0]
            partial = feats[:0]
            if s.partial is not None and len(s.partial) == len(feats) and np.any(s.partial):
                partial, feats = feats[np.asarray(s.partial, bool)], feats[~np.asarray(s.partial, bool)]
            gid = cam.links.get(tid)
            if gid is not None and (gid in gone or gid not in self.gallery):
                for table in (cam.links, cam.probation, cam.created):  # forgotten (retention, privacy):
                    table.pop(tid, None)  # found again like a new track
                gid = None
            if gid is None:
                held = cam.pending.setdefault(tid, [])
                held.extend(feats)
                del held[:-cfg.settle_features]
                if len(held) >= cfg.min_features:
                    queries.append((tid, np.stack(held)))
                elif len(partial):  # only views cut by the border so far: may join, not found
                    early.append((tid, partial))
            elif tid in cam.probation:
                views = cam.probation[tid]
                views.extend(feats)
                own = cam.created.get(tid) == gid
                # a provisional link adds views only to an identity the track made itself
                self.gallery.update(gid, feats if own else feats[:0], stamp, camera)
                if len(views) >= cfg.settle_features:
                    if not own:
                        self.gallery.update(gid, np.stack(views[-cfg.exemplars:]), stamp, camera)
                    del cam.probation[tid]
                    cam.created.pop(tid, None)
                elif len(feats):
                    rechecks.append(tid)
            else:
                self.gallery.update(gid, feats, stamp, camera)
        if queries:
            self._link(cam, camera, stamp, queries)
        if early:
            self._link(cam, camera, stamp, early, create=False)
        if rechecks:
            self._recheck(cam, rechecks, camera, stamp)
        return {int(s.track_id): cam.links.get(int(s.track_id), 0) for s in summaries}

    def _recheck(self, cam: _CameraState, tids: list[int], camera: str, stamp: float) -> None:
        """Move provisionally linked tracks to a nearer identity, where there is one now (one
        search for all of them)."""
        means = normalize_rows(np.stack([np.mean(cam.probation[t], axis=0) for t in tids]))
        gids, dist = self.gallery.search(means, self.config.candidates + 1)
        for i, tid in enumerate(tids):
            self._move(cam, tid, gids[i], dist[i], camera, stamp)

    def _move(self, cam: _CameraState, tid: int, gids: np.ndarray, dist: np.ndarray, camera: str, stamp: float
              ) -> None:
        cfg = self.config
        current = cam.links[tid]
        own = cam.created.get(tid) == current
        held = {g for t, g in cam.links.items() if t != tid}
        where = np.flatnonzero(gids == current)
        d_current = float(dist[where[0]]) if len(where) else np.inf
        limit = cfg.threshold if own else min(cfg.threshold, d_current)  # the joined identity must be beaten
        for g, d in zip(gids.tolist(), dist.tolist()):
            if g <= 0 or g == current or g in held or g not in self.gallery:
                continue
            if d < limit:
                cam.links[tid] = g
                cam.created.pop(tid, None)
                if own and current in self.gallery and not any(
                        current in c.links.values() for c in self.cameras.values()):
                    self.gallery.forget(current)
                    self.created -= 1
                self.relinked += 1
                return
            break  # the nearest eligible identity decides
        if not own and d_current > cfg.threshold:
            # joined on views cut by the border, and its whole views match nobody: a new person
            gid = self.gallery.add(np.stack(cam.probation[tid]), stamp, camera)
            cam.links[tid] = cam.created[tid] = gid
            self.created += 1
            self.relinked += 1

    def _link(self, cam: _CameraState, camera: str, stamp: float,
              queries: list[tuple[int, np.ndarray]], create: bool = True) -> None:
        cfg = self.config
        means = normalize_rows(np.stack([f.mean(axis=0) for _, f in queries]))
        gids, dist = self.gallery.search(means, cfg.candidates)
        held = set(cam.links.values())  # one person is one track per camera
        columns = sorted({int(g) for g in gids.ravel() if g > 0 and int(g) not in held})
        cost = np.full((len(queries), max(len(columns), 1)), LARGE)
        if columns:
            col = {g: j for j, g in enumerate(columns)}
            for i in range(len(queries)):
                ok = [k for k in range(gids.shape[1]) if int(gids[i, k]) in col]
                if not ok:
                    continue
                cost[i, [col[int(gids[i, k])] for k in ok]] = dist[i, ok]
        rows, cols = linear_sum_assignment(cost)
        taken: dict[int, int] = {}
        for i, j in zip(rows.tolist(), cols.tolist()):
            if columns and cost[i, j] <= cfg.threshold:
                taken[i] = columns[j]
        for i, (tid, feats) in enumerate(queries):
            if i in taken and not create:  # partial views: a provisional link, nothing stored
                cam.links[tid] = taken[i]
                cam.probation[tid] = []
                self.linked += 1
                continue
            if not create:
                continue
            if i in taken:
                gid = taken[i]  # provisional until settled: its views are added then
                self.gallery.update(gid, feats if len(feats) >= cfg.settle_features else feats[:0], stamp, camera)
                self.linked += 1
            else:
                gid = self.gallery.add(feats, stamp, camera)
                self.created += 1
                cam.created[tid] = gid
            cam.links[tid] = gid
            cam.pending.pop(tid, None)
            if len(feats) < cfg.settle_features:
                cam.probation[tid] = list(feats)
            else:
                cam.created.pop(tid, None)

    def forget(self, gid: int) -> bool:
        """Forget an identity everywhere (privacy): gallery entry and every link to it."""
        for cam in self.cameras.values():
            for tid in [t for t, g in cam.links.items() if g == gid]:
                del cam.links[tid]
        return self.gallery.forget(gid)

    def enrol(self, name: str, features: np.ndarray, stamp: float) -> int:
        """A named identity from features of a person's crops; an existing name gains views."""
        if not name:
            raise ValueError("enrolment needs a name")
        gid = self.gallery.gid_by_name(name)
        if gid is not None:
            self.gallery.update(gid, features, stamp)
            return gid
        return self.gallery.add(features, stamp, name=name)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, np.ndarray]:
        """The gallery's state plus every camera's links (so a restarted identity node goes on
        with trackers that kept running)."""
        rows = [(c, s.session, t, g) for c, s in self.cameras.items() for t, g in s.links.items()]
        out = self.gallery.state()
        out["link_cameras"] = np.array([r[0] for r in rows], dtype=np.str_) if rows else np.zeros(0, "U1")
        out["link_sessions"] = np.array([r[1] for r in rows], dtype=np.str_) if rows else np.zeros(0, "U1")
        out["link_tracks"] = np.array([r[2] for r in rows], np.int64)
        out["link_gids"] = np.array([r[3] for r in rows], np.int64)
        return out

    @classmethod
    def from_state(cls, config: IdentityConfig, state: Mapping[str, np.ndarray]) -> "IdentityAssigner":
        gallery = IdentityGallery.from_state(state, exemplars=config.exemplars,
                                             max_identities=config.max_identities,
                                             retention_s=config.retention_s, index_from=config.index_from)
        out = cls(config, gallery.dim, gallery)
        for c, s, t, g in zip(state.get("link_cameras", ()), state.get("link_sessions", ()),
                              state.get("link_tracks", ()), state.get("link_gids", ())):
            if int(g) in gallery:
                cam = out.cameras.setdefault(str(c), _CameraState(str(s)))
                cam.links[int(t)] = int(g)
        return out
