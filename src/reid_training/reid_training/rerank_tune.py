"""Choose k-reciprocal re-ranking settings by their worst case over DEV sets and models.

    python -m reid_training.rerank_tune --data DEV1 DEV2 ... --model default other.onnx ... [--cache DIR]

Re-ranking helps on average and can still lower rank-1 on a set where every query has only a
few true matches (k1 larger than the true neighbourhood pulls impostors in). So each setting of
the grid is scored by its *worst* rank-1 change (re-ranked minus plain) over every (model, set)
pair; the winner maximises that worst case, ties broken by the worst mAP change and then the mean
mAP change. Run it on dev sets only; put the result in
``reid_training.metrics.rerank.RERANK_DEFAULTS`` and report on the test sets. Last line: one JSON
object (``best`` and the full ``grid``).
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from .metrics import RERANK_DEFAULTS, compute_distance, evaluate_rank, k_reciprocal_parts

K1_GRID = (4, 6, 8, 10, 13, 16, 20)
K2_GRID = (1, 2, 3, 4, 6)
LAMBDA_GRID = (0.1, 0.3, 0.5, 0.7, 0.9)


def _features(model_spec: str, data: Path, cache: Path | None) -> dict:
    """Query/gallery features, pids and cameras of one (model, set) pair (cached as .npz)."""
    from .data import load_dataset
    from .evaluate import extract_features, load_feature_model

    key = hashlib.sha1(f"{Path(model_spec).resolve() if model_spec != 'default' else 'default'}|"
                       f"{data.resolve()}".encode()).hexdigest()[:16]
    path = cache / f"{key}.npz" if cache is not None else None
    if path is not None and path.is_file():
        return dict(np.load(path))
    ds = load_dataset(data, require_train=False)
    model = load_feature_model(model_spec, "auto")
    out = {"qf": extract_features(model, ds.query, workers=0, progress=False),
           "gf": extract_features(model, ds.gallery, workers=0, progress=False),
           "qp": np.array([r.pid for r in ds.query]), "gp": np.array([r.pid for r in ds.gallery]),
           "qc": np.array([r.camid for r in ds.query]), "gc": np.array([r.camid for r in ds.gallery])}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out


def sweep(pairs: Sequence[dict], k1s: Sequence[int] = K1_GRID, k2s: Sequence[int] = K2_GRID,
          lambdas: Sequence[float] = LAMBDA_GRID) -> list[dict]:
    """Per grid point: rank-1 and mAP change (re-ranked minus plain) on every pair, plus worst/mean."""
    base, dists = [], []
    for f in pairs:
        q_g = compute_distance(f["qf"], f["gf"], "cosine")
        cmc, m = evaluate_rank(q_g, f["qp"], f["gp"], f["qc"], f["gc"])
        base.append((float(cmc[0]), float(m)))
        dists.append((q_g, compute_distance(f["qf"], f["qf"], "cosine"), compute_distance(f["gf"], f["gf"], "cosine")))
    rows = []
    for k1, k2 in itertools.product(k1s, k2s):
        if k2 > k1:
            continue
        parts = [k_reciprocal_parts(*d, k1, k2) for d in dists]
        for lam in lambdas:
            d_r1, d_map = [], []
            for f, (jac, orig), (r1, m) in zip(pairs, parts, base):
                cmc, mp = evaluate_rank((1 - lam) * jac + lam * orig, f["qp"], f["gp"], f["qc"], f["gc"])
                d_r1.append(float(cmc[0]) - r1)
                d_map.append(float(mp) - m)
            rows.append({"k1": k1, "k2": k2, "lambda": lam, "d_rank1": [round(v, 4) for v in d_r1],
                         "d_mAP": [round(v, 4) for v in d_map], "worst_d_rank1": round(min(d_r1), 4),
                         "worst_d_mAP": round(min(d_map), 4), "mean_d_mAP": round(float(np.mean(d_map)), 4)})
    return rows


def best_setting(rows: Sequence[dict]) -> dict:
    """The row with the best worst-case rank-1 change (then worst mAP change, then mean mAP change)."""
    if not rows:
        raise ValueError("best_setting: empty grid")
    return max(rows, key=lambda r: (r["worst_d_rank1"], r["worst_d_mAP"], r["mean_d_mAP"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reid_training.rerank_tune", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", required=True, type=Path, help="DEV Market-1501-layout folders")
    ap.add_argument("--model", nargs="+", default=["default"], help="default | .onnx with .json | .pt")
    ap.add_argument("--cache", type=Path, default=None, help="folder for cached features (.npz)")
    args = ap.parse_args(argv)
    names, pairs = [], []
    for m in args.model:
        for d in args.data:
            print(f"features: {m} on {d}", file=sys.stderr, flush=True)
            pairs.append(_features(m, d.expanduser(), args.cache))
            names.append(f"{Path(m).stem}@{d.name}")
    rows = sweep(pairs)
    best = best_setting(rows)
    current = next((r for r in rows if (r["k1"], r["k2"], r["lambda"]) ==
                    (RERANK_DEFAULTS.k1, RERANK_DEFAULTS.k2, RERANK_DEFAULTS.lambda_value)), None)
    for label, r in (("current default", current), ("best worst case", best)):
        if r is not None:
            print(f"{label}: k1 {r['k1']} k2 {r['k2']} lambda {r['lambda']}: worst rank-1 change "
                  f"{r['worst_d_rank1']:+.4f}, worst mAP change {r['worst_d_mAP']:+.4f}, mean mAP change "
                  f"{r['mean_d_mAP']:+.4f}")
    print(json.dumps({"pairs": names, "best": best, "current": current, "grid": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
