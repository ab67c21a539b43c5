"""Identity gallery: assignment time per frame at 1k, 10k and 100k stored identities (no ROS).

The identity node's core (:class:`~reid_tracker_ros.identity.IdentityAssigner`) is filled with
N synthetic identities shaped like the shipped ReID model's features: 1280-dim unit vectors in a
narrow cone (a common direction plus a per-identity offset: two identities ``--spread`` apart
in cosine distance, nearest neighbours a little closer), each stored from 2 views that sit
``--noise`` from the identity's centre. A frame is one camera's report of 10 live tracks, each
with one new view of a stored person: 8 settled tracks (they only add their view) and 2 whose
link is still provisional or new (each searches the gallery); the worst case is a tracker
restart every ``settle_features`` reports, so all 10 tracks are new at once and then search
with every report until they settle. ``IdentityAssigner.assign`` is timed per frame with the
default config (exact search below ``index_from`` identities, faiss IVF candidates above) and
with exact search forced; the IVF's one-off build, its recall@1 against exact search, and the
memory are reported. Last line: one JSON object.

    python -m reid_tracker_ros.tools.bench_identity [--sizes 1000 10000 100000] [--dim 1280]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator

import numpy as np

from ..identity import HAVE_FAISS, IdentityAssigner, IdentityConfig, IdentityGallery, PrototypeIndex, TrackSummary
from ..vectors import normalize_rows

TRACKS = 10
TARGET_MS = 5.0  # the target: assignment under 5 ms per frame with 100k identities


def spread_out(base: np.ndarray, distance: float, rng: np.random.Generator) -> np.ndarray:
    """Unit rows about ``distance`` (cosine) from ``base`` rows: an isotropic offset of norm
    t (nearly orthogonal in high dim) gives cos = 1 / sqrt(1 + t^2)."""
    t = np.sqrt(1.0 / (1.0 - distance) ** 2 - 1.0)
    noise = rng.standard_normal(base.shape, np.float32) * np.float32(t / np.sqrt(base.shape[-1]))
    return normalize_rows((base + noise).reshape(-1, base.shape[-1])).reshape(base.shape)


def identity_centres(n: int, dim: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """(n, dim) centres in a narrow cone: each ``spread`` / 2 from a common direction, so two
    of them are about ``spread`` apart (their offsets are nearly orthogonal)."""
    axis = normalize_rows(rng.standard_normal((1, dim), np.float32))
    return spread_out(np.broadcast_to(axis, (n, dim)), spread / 2, rng)


def fill(centres: np.ndarray, config: IdentityConfig, noise: float, rng: np.random.Generator,
         index_from: int, slack: int = 10000, chunk: int = 5000) -> IdentityGallery:
    """A gallery holding every centre as an identity from 2 noisy views (bulk, in chunks)."""
    from tqdm import tqdm

    n, dim = centres.shape
    gallery = IdentityGallery(dim, config.exemplars, n + slack, config.retention_s, index_from)
    for i in tqdm(range(0, n, chunk), desc=f"fill {n}", unit="chunk", file=sys.stderr, leave=False):
        c = centres[i:i + chunk]
        gallery.add_many(spread_out(np.repeat(c[:, None], 2, axis=1), noise, rng), 0.0, camera="gallery")
    return gallery


def frames(centres: np.ndarray, count: int, searching: int, settle: int, noise: float, seed: int
           ) -> Iterator[tuple[str, list[TrackSummary]]]:
    """``(session, summaries)`` of one camera, 10 live tracks with one new view each.

    ``searching`` < 10: tracks live ``settle * 10 / searching`` reports, staggered, so that
    ``searching`` of them are in their first ``settle`` reports (new or provisional: they
    search) and the rest are settled. ``searching`` == 10: the tracker restarts every
    ``settle`` reports, all 10 tracks new at once."""
    rng = np.random.default_rng(seed)
    n = len(centres)
    restart = searching >= TRACKS
    life = settle if restart else max(settle * TRACKS // searching, settle + 1)
    step = 0 if restart else life // TRACKS
    people: dict[int, int] = {}  # track id -> index of its person
    for f in range(count):
        tids = []
        for slot in range(TRACKS):
            gen = (f + slot * step) // life  # the slot's current track: a new id when it begins
            tid = gen * TRACKS + slot + 1
            if tid not in people:
                people[tid] = int(rng.integers(n))
            tids.append(tid)
        feats = spread_out(centres[[people[t] for t in tids]], noise, rng)
        session = f"s{f // settle}" if restart else "s0"
        yield session, [TrackSummary(t, feats[i:i + 1]) for i, t in enumerate(tids)]


def time_frames(assigner: IdentityAssigner, camera: str, stream: list, warmup: int) -> np.ndarray:
    """Milliseconds of each ``assign`` after the first ``warmup`` frames."""
    out = []
    for i, (session, summaries) in enumerate(stream):
        t0 = time.perf_counter()
        assigner.assign(camera, session, 1.0 + i / 30.0, summaries)
        out.append(1e3 * (time.perf_counter() - t0))
    return np.array(out[warmup:])


def recall_at_1(gallery: IdentityGallery, exact: PrototypeIndex, queries: np.ndarray, k: int
                ) -> tuple[float, np.ndarray]:
    """(fraction of queries whose exact nearest identity the gallery's own search (top ``k``,
    as the assigner asks) returns first, the exact nearest identities)."""
    got, _ = gallery.search(queries, k)
    own, gallery.index = gallery.index, exact
    try:
        want, _ = gallery.search(queries, 1)
    finally:
        gallery.index = own
    return float((got[:, 0] == want[:, 0]).mean()), want[:, 0]


def bench_size(n: int, args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    rng = np.random.default_rng(args.seed + n)
    config = IdentityConfig(index_from=args.index_from)
    centres = identity_centres(n, args.dim, args.spread, rng)
    t0 = time.perf_counter()
    gallery = fill(centres, config, args.noise, rng, args.index_from)
    fill_s = time.perf_counter() - t0
    exact = PrototypeIndex(args.dim, index_from=10 ** 9)
    # nearest other identity of a sample (exact): how crowded the synthetic cone is
    sample = rng.choice(n, min(n, 500), replace=False)
    default, gallery.index = gallery.index, exact
    _, nn = gallery.search(centres[sample], 2)
    gallery.index = default

    t0 = time.perf_counter()
    gallery.search(centres[:1], config.candidates)  # builds the IVF when the gallery is large
    build_s = time.perf_counter() - t0 if gallery.index.indexed else 0.0

    queries = spread_out(centres[(ids := rng.choice(n, args.queries))], args.noise, rng)
    recall, exact_ids = recall_at_1(gallery, exact, queries, config.candidates)
    true_ids = gallery.global_ids  # filled in order: centre i is identity true_ids[i]
    correct = float((exact_ids == np.asarray(true_ids)[ids]).mean())

    settle, warm = config.settle_features, 2 * config.settle_features
    runs = {}
    plan = [("frame", 2, args.frames, False), ("worst", TRACKS, args.frames, False),
            ("exact_frame", 2, args.exact_frames, True), ("exact_worst", TRACKS, args.exact_frames, True)]
    for name, searching, count, forced in tqdm(plan, desc=f"{n} identities", unit="run", file=sys.stderr):
        stream = list(frames(centres, count + warm, searching, settle, args.noise, args.seed + len(runs)))
        if forced:
            gallery.index = exact  # the IVF is not searched again after this
        runs[name] = time_frames(IdentityAssigner(config, args.dim, gallery), f"cam_{name}", stream, warm)
    indexed = bool(default.indexed)
    memory = gallery.nbytes + gallery.index.nbytes  # the gallery's arrays and the IVF's reduced copy
    row = {"identities": n, "indexed": indexed, "build_s": round(build_s, 3), "fill_s": round(fill_s, 2),
           "recall_at_1": round(recall, 4), "exact_correct": round(correct, 4),
           "nn_distance_p50": round(float(np.median(nn[:, 1])), 4), "memory_mb": round(memory / 2 ** 20, 1),
           "rss_mb": round(rss_mb(), 1)}
    for name, ms in runs.items():
        row[f"{name}_ms_p50"] = round(float(np.percentile(ms, 50)), 3)
        row[f"{name}_ms_p95"] = round(float(np.percentile(ms, 95)), 3)
    row["meets_5ms"] = row["frame_ms_p95"] < TARGET_MS
    del gallery, default, centres
    gc.collect()
    return row


def rss_mb() -> float:
    """Resident memory of this process now (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        return 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="stored identities")
    ap.add_argument("--dim", type=int, default=1280, help="feature dimension (the shipped model: 1280)")
    ap.add_argument("--frames", type=int, default=300, help="timed frames per run, default config")
    ap.add_argument("--exact-frames", type=int, default=100, help="timed frames per run, exact search forced")
    ap.add_argument("--queries", type=int, default=1000, help="queries for the IVF's recall@1")
    ap.add_argument("--index-from", type=int, default=IdentityConfig.index_from,
                    help="identities from which the IVF index is used (the config's index_from)")
    ap.add_argument("--spread", type=float, default=0.065, help="typical cosine distance between two identities")
    ap.add_argument("--noise", type=float, default=0.01, help="cosine distance of a view from its identity")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if min(args.sizes) < TRACKS or args.dim < 2 or min(args.frames, args.exact_frames, args.queries) < 1:
        raise SystemExit(f"bench_identity: --sizes must be >= {TRACKS}, --dim >= 2, --frames, --exact-frames "
                         f"and --queries >= 1")
    rows = [bench_size(n, args) for n in args.sizes]
    head = (f"{'identities':>10} {'index':>5} {'frame p50/p95 ms':>17} {'worst p50/p95 ms':>17} "
            f"{'exact frame/worst p50':>21} {'build s':>7} {'recall@1':>8} {'memory MB':>9}  < {TARGET_MS:g} ms")
    print(f"dim {args.dim}, faiss {'yes' if HAVE_FAISS else 'no'}, index from {args.index_from} identities; "
          f"a frame: {TRACKS} tracks, 2 searching (worst: all {TRACKS})")
    print(head)
    for r in rows:
        print(f"{r['identities']:>10} {'ivf' if r['indexed'] else 'exact':>5} "
              f"{r['frame_ms_p50']:>8.2f}/{r['frame_ms_p95']:<8.2f} "
              f"{r['worst_ms_p50']:>8.2f}/{r['worst_ms_p95']:<8.2f} "
              f"{r['exact_frame_ms_p50']:>10.2f}/{r['exact_worst_ms_p50']:<10.2f} {r['build_s']:>7.2f} "
              f"{r['recall_at_1']:>8.3f} {r['memory_mb']:>9.0f}  {'yes' if r['meets_5ms'] else 'NO'}")
    print(json.dumps({"dim": args.dim, "sizes": {str(r.pop("identities")): r for r in rows}, "faiss": HAVE_FAISS,
                      "index_from": args.index_from, "target_ms": TARGET_MS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
