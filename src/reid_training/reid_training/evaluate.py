"""Evaluate a ReID model on any Market-1501-layout folder (or MSMT17, or a MOT sequence).

    python -m reid_training.evaluate --data <folder> [--model default|<file.onnx>|<checkpoint.pt>]

Prints a table (rank-1/5/10 and mAP, without and with k-reciprocal re-ranking) and, as its
LAST line, one JSON object with at least ``rank1 rank5 rank10 mAP rank1_rerank mAP_rerank``
(fractions in [0, 1]), ``queries``, ``gallery`` and ``model``. Exit code 2 for a bad data
folder or model, with the reason on stderr.

Models: ``default`` is the embedder's default model; ``.onnx``/``.engine``/TorchScript files
need their ``<file>.json`` metadata (input size, mean/std) and run through the embedder's
backends, exactly as the tracker runs them; a ``.pt``/``.pth`` training checkpoint without
metadata is rebuilt by ``reid_training.models.build_from_checkpoint``. Cross-domain: any folder
works, the model never needs to have seen its identities; ``--data`` may also be a
MOTChallenge sequence with ``gt/gt.txt`` (its ground-truth crops are evaluated, see
:mod:`reid_training.data.mot_crops`).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .data import ImageRecord, load_dataset, make_eval_loader
from .metrics import RERANK_DEFAULTS, compute_distance, evaluate_rank, k_reciprocal_rerank, plot_cmc
from reid_tracker_ros.vectors import normalize_rows


class EvaluationError(Exception):
    """Bad input (data folder, model file): reported on stderr with exit code 2."""


class FeatureModel:
    """A batch function ``(B, 3, H, W) float32 normalised -> (B, D)`` plus its input spec."""

    def __init__(self, name: str, height: int, width: int, mean: Sequence[float], std: Sequence[float],
                 forward: Callable[[np.ndarray], np.ndarray], provider: str) -> None:
        self.name, self.height, self.width = name, int(height), int(width)
        self.mean, self.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
        self.forward, self.provider = forward, provider


def _from_embedder(embedder, name: str) -> FeatureModel:
    meta = embedder.metadata
    return FeatureModel(name or meta.name, meta.input_height, meta.input_width, meta.mean, meta.std,
                        embedder.backend.embed, embedder.provider)


def _from_checkpoint(path: Path, device: str) -> FeatureModel:
    try:
        from .models import build_from_checkpoint
    except ImportError as exc:
        raise EvaluationError(f"{path}: evaluating a training checkpoint needs "
                              f"reid_training.models.build_from_checkpoint, which is not available ({exc}); "
                              f"export the model to ONNX (with its .json metadata) and pass the .onnx instead") from exc
    import torch

    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    model = build_from_checkpoint(str(path))
    meta = getattr(model, "reid_meta", None)
    if not isinstance(meta, dict) or not {"input_height", "input_width", "mean", "std"} <= set(meta):
        raise EvaluationError(f"{path}: the checkpoint's model has no reid_meta dict with input_height, "
                              f"input_width, mean and std")
    model = model.to(dev).eval()

    def forward(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch).to(dev)).float().cpu().numpy()

    return FeatureModel(str(meta.get("name", path.stem)), meta["input_height"], meta["input_width"], meta["mean"],
                        meta["std"], forward, f"torch:{dev}")


def load_feature_model(spec: str, device: str = "auto", max_batch: int = 64) -> FeatureModel:
    """``default`` | model file with metadata (.onnx/.engine/TorchScript) | training checkpoint."""
    from reid_tracker_ros.embedding import load_embedder, resolve_embedder
    from reid_tracker_ros.embedding.metadata import metadata_path

    key = spec.strip()
    if key.lower() == "none":
        raise EvaluationError("--model none has no appearance features to evaluate")
    if key.lower() == "default":
        embedder = resolve_embedder("default", device=device, max_batch=max_batch)
        return _from_embedder(embedder, "")
    path = Path(key).expanduser()
    if not path.is_file():
        raise EvaluationError(f"model file not found: {path}")
    try:
        if metadata_path(path).is_file():
            return _from_embedder(load_embedder(path, device=device, max_batch=max_batch), "")
        if path.suffix.lower() in (".pt", ".pth", ".ckpt"):
            return _from_checkpoint(path, device)
        raise EvaluationError(f"{path}: no metadata file {metadata_path(path).name} beside the model "
                              f"(exported models need it; training checkpoints end in .pt/.pth)")
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        raise EvaluationError(f"cannot load model {path}: {exc}") from exc


def extract_features(model: FeatureModel, records: Sequence[ImageRecord], batch_size: int = 64,
                     workers: int | None = None, flip: bool = False, progress: bool = True,
                     desc: str = "features") -> np.ndarray:
    """(N, D) L2-normalised features of ``records`` (``flip``: average with the mirrored image)."""
    loader = make_eval_loader(records, model.height, model.width, batch_size, workers, model.mean, model.std)
    out: list[np.ndarray] = []
    it = loader
    if progress:
        from tqdm import tqdm

        it = tqdm(loader, desc=desc, unit="batch", leave=False)
    for images, *_ in it:
        x = images.numpy()
        f = np.asarray(model.forward(x), np.float32).reshape(len(x), -1)
        if flip:
            f = normalize_rows(f) + normalize_rows(np.asarray(model.forward(np.ascontiguousarray(x[..., ::-1])),
                                                          np.float32).reshape(len(x), -1))
        out.append(normalize_rows(f))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _mot_to_market(seq: Path, out: Path) -> Path:
    from .data.mot_crops import extract_mot_crops

    extract_mot_crops(seq, out, test_fraction=1.0, progress=False)
    return out


def _is_mot_sequence(path: Path) -> bool:
    return (path / "gt" / "gt.txt").is_file() and ((path / "img1").is_dir() or (path / "seqinfo.ini").is_file())


def evaluate_model(model: FeatureModel, query: Sequence[ImageRecord], gallery: Sequence[ImageRecord],
                   metric: str = "cosine", rerank: bool = True, k1: int = RERANK_DEFAULTS.k1,
                   k2: int = RERANK_DEFAULTS.k2, lambda_value: float = RERANK_DEFAULTS.lambda_value,
                   batch_size: int = 64, workers: int | None = None, flip: bool = False, progress: bool = True,
                   rerank_max: int = 8000) -> dict:
    """Metrics dict (see the module docstring) and ``cmc``/``cmc_rerank`` arrays for plotting."""
    t0 = time.perf_counter()
    qf = extract_features(model, query, batch_size, workers, flip, progress, "query")
    gf = extract_features(model, gallery, batch_size, workers, flip, progress, "gallery")
    extract_s = time.perf_counter() - t0
    q_pids = np.array([r.pid for r in query])
    g_pids = np.array([r.pid for r in gallery])
    q_cams = np.array([r.camid for r in query])
    g_cams = np.array([r.camid for r in gallery])
    q_g = compute_distance(qf, gf, metric)
    cmc, mAP = evaluate_rank(q_g, q_pids, g_pids, q_cams, g_cams)
    result = {"rank1": float(cmc[0]), "rank5": float(cmc[min(4, len(cmc) - 1)]),
              "rank10": float(cmc[min(9, len(cmc) - 1)]), "mAP": float(mAP),
              "rank1_rerank": None, "rank5_rerank": None, "rank10_rerank": None, "mAP_rerank": None,
              "queries": len(query), "gallery": len(gallery), "model": model.name, "provider": model.provider,
              "metric": metric, "feature_dim": int(qf.shape[1]), "flip": flip,
              "rerank_params": {"k1": int(k1), "k2": int(k2), "lambda": float(lambda_value)},
              "extract_s": round(extract_s, 2),
              "images_per_s": round((len(query) + len(gallery)) / max(extract_s, 1e-9), 1)}
    cmc_rr = None
    n_all = len(query) + len(gallery)
    if rerank and n_all > rerank_max:
        result["rerank_note"] = (f"re-ranking skipped: {n_all} images > --rerank-max {rerank_max} "
                                 f"(it needs O(N^2) memory)")
    elif rerank:
        t1 = time.perf_counter()
        rr = k_reciprocal_rerank(q_g, compute_distance(qf, qf, metric), compute_distance(gf, gf, metric),
                                 k1, k2, lambda_value)
        cmc_rr, mAP_rr = evaluate_rank(rr, q_pids, g_pids, q_cams, g_cams)
        result.update({"rank1_rerank": float(cmc_rr[0]), "rank5_rerank": float(cmc_rr[min(4, len(cmc_rr) - 1)]),
                       "rank10_rerank": float(cmc_rr[min(9, len(cmc_rr) - 1)]), "mAP_rerank": float(mAP_rr),
                       "rerank_s": round(time.perf_counter() - t1, 2)})
    result["cmc"], result["cmc_rerank"] = cmc, cmc_rr
    return result


def format_table(result: dict) -> str:
    def row(name: str, suffix: str) -> str:
        vals = [result.get(f"{k}{suffix}") for k in ("rank1", "rank5", "rank10", "mAP")]
        cells = ["   n/a" if v is None else f"{100 * v:6.1f}" for v in vals]
        return f"{name:<12}" + "".join(f"{c:>9}" for c in cells)

    head = f"{'':<12}{'rank-1':>9}{'rank-5':>9}{'rank-10':>9}{'mAP':>9}"
    return "\n".join([head, row("plain", ""), row("re-ranked", "_rerank")])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m reid_training.evaluate", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path,
                    help="Market-1501/DukeMTMC-reID/MSMT17 folder (query + gallery), or a MOT sequence with gt")
    ap.add_argument("--layout", default="auto", help="auto | market1501 | dukemtmcreid | msmt17")
    ap.add_argument("--model", default="default",
                    help="default | .onnx/.engine/TorchScript with .json | .pt checkpoint")
    ap.add_argument("--metric", default="cosine", choices=["cosine", "euclidean"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=None, help="loader processes (default: CPU cores, max 8)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (| tensorrt for .onnx)")
    ap.add_argument("--flip", action="store_true", help="average features with the mirrored image")
    ap.add_argument("--no-rerank", action="store_true")
    ap.add_argument("--k1", type=int, default=RERANK_DEFAULTS.k1, help="re-ranking neighbourhood")
    ap.add_argument("--k2", type=int, default=RERANK_DEFAULTS.k2, help="re-ranking query expansion")
    ap.add_argument("--lambda-value", type=float, default=RERANK_DEFAULTS.lambda_value,
                    help="re-ranking weight of the original distance")
    ap.add_argument("--rerank-max", type=int, default=8000,
                    help="skip re-ranking above this many query+gallery images (O(N^2) memory)")
    ap.add_argument("--max-queries", type=int, default=None, help="evaluate only the first N queries (quick look)")
    ap.add_argument("--cmc-plot", type=Path, default=None, help="write the CMC curves to this PNG")
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="reid_eval_") as tmp:
            data = args.data.expanduser()
            if data.is_dir() and _is_mot_sequence(data):
                print(f"{data} is a MOT sequence: evaluating its ground-truth crops", flush=True)
                data = _mot_to_market(data, Path(tmp) / "crops")
            try:
                dataset = load_dataset(data, args.layout, require_train=False)
            except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
                raise EvaluationError(str(exc)) from exc
            query = dataset.query[:args.max_queries] if args.max_queries else dataset.query
            model = load_feature_model(args.model, args.device, args.batch)
            print(f"model {model.name} ({model.provider}), input {model.height}x{model.width}; data {args.data} "
                  f"({dataset.name}): {len(query)} queries, {len(dataset.gallery)} gallery images", flush=True)
            result = evaluate_model(model, query, dataset.gallery, args.metric, not args.no_rerank, args.k1,
                                    args.k2, args.lambda_value, args.batch, args.workers, args.flip,
                                    not args.no_progress, args.rerank_max)
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cmc, cmc_rr = result.pop("cmc"), result.pop("cmc_rerank")
    if args.cmc_plot is not None:
        curves = {"plain": cmc} if cmc_rr is None else {"plain": cmc, "re-ranked": cmc_rr}
        result["cmc_plot"] = str(plot_cmc(curves, args.cmc_plot, title=f"CMC: {model.name} on {args.data.name}"))
    result.update({"data": str(args.data), "layout": dataset.name})
    print(format_table(result))
    if "rerank_note" in result:
        print(result["rerank_note"])
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
