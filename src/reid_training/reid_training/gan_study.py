"""``make gan-study``: does training ReID with GAN images help, here?

One end-to-end comparison at a budget a 2-core CPU finishes in well under an hour:

1. synthetic persons in Market-1501 layout (``reid_training.data.synthetic``), disjoint
   train/test identities;
2. **baseline** ReID model (MobileNetV2 from the shipped ImageNet weights, CE + triplet +
   center loss, PK batches) trained on the real training images;
3. a GAN (DCGAN by default, EMA generator) trained on the same training crops, with the
   Frechet ReID Distance (FRD: Frechet distance on the baseline model's features) per epoch;
4. N generated crops written in Market-1501 layout;
5. **lsro**: the same ReID training with generated images in every batch carrying a uniform
   label distribution over the real identities; **extra**: the same, with the generated images
   as one additional class;
6. rank-1 / mAP of all three on the same held-out query/gallery identities.

All three ReID runs share the seed, initial weights, real batches (same PK sampler stream) and
iteration count; they differ only in the generated images appended to each batch. Nothing is
tuned on the test identities: every setting below is fixed before the run.
The last line printed is one JSON object (see ``main``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch


@dataclass
class StudyConfig:
    out: str = "runs/gan_study"
    seed: int = 0
    # data
    ids: int = 100  # half train, half test identities
    images_per_cam: int = 4
    cameras: int = 4
    height: int = 128
    width: int = 64
    # GAN
    gan: str = "wgan-gp"
    ngf: int = 32
    ndf: int = 32
    ema: bool = True
    gan_epochs: int = 25
    gan_batch: int = 32
    frd_samples: int = 256
    num_generated: int = 0  # 0 = as many as real training images
    # ReID
    backbone: str = "mobilenetv2"
    imagenet_init: bool = True
    reid_iters: int = 250
    p: int = 8
    k: int = 4
    gen_per_batch: int = 16
    workers: int = 1
    progress: bool = True


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _single_threaded_opencv() -> None:
    """Keep OpenCV's thread pool from ever starting in this process. Its pool threads do not
    survive the fork of DataLoader workers, and a worker that then touches the pool (the data
    loader's worker_init calls cv2.setNumThreads) blocks forever; the synthetic generator and the
    eval loaders use OpenCV in this process before the training loaders fork."""
    import cv2

    cv2.setNumThreads(1)


def make_data(cfg: StudyConfig) -> Path:
    """The synthetic dataset, generated once (re-used when it already exists with these parameters)."""
    from .data.synthetic import generate_synthetic_persons

    root = Path(cfg.out) / "data"
    stamp = root / "study_params.json"
    params = {k: getattr(cfg, k) for k in ("seed", "ids", "images_per_cam", "cameras", "height", "width")}
    if stamp.is_file() and json.loads(stamp.read_text()) == params:
        return root
    generate_synthetic_persons(root, num_ids=cfg.ids, images_per_id_per_cam=cfg.images_per_cam,
                               cameras=cfg.cameras, height=cfg.height, width=cfg.width, seed=cfg.seed,
                               progress=cfg.progress)
    stamp.write_text(json.dumps(params))
    return root


def train_reid(cfg: StudyConfig, dataset, mode: str, generated: list[Path] | None, out_dir: Path):
    """One ReID run; ``mode`` none | lsro | extra. Returns the trained model (eval mode)."""
    from torch.utils.data import DataLoader

    from .data import build_transforms, make_train_loader
    from .engine import TrainConfig, Trainer, set_seed
    from .gan.lsro import GeneratedAwareLoss, GeneratedImages, MixedLoader, classifier_classes
    from .models import build_model

    k_real = dataset.num_train_pids
    set_seed(cfg.seed)  # same initial backbone weights in every mode
    model = build_model(cfg.backbone, num_classes=classifier_classes(k_real, mode), input_hw=(cfg.height, cfg.width),
                        imagenet_init=cfg.imagenet_init and cfg.backbone == "mobilenetv2")
    criterion = GeneratedAwareLoss(k_real, model.feature_dim, mode=mode, epsilon=0.1, margin=0.3,
                                   center_weight=0.0005)
    real_loader = make_train_loader(dataset, p=cfg.p, k=cfg.k, height=cfg.height, width=cfg.width,
                                    workers=cfg.workers, seed=cfg.seed)
    gen_loader = None
    if mode != "none":
        if not generated:
            raise ValueError(f"mode {mode!r} needs generated images")
        transform = build_transforms(cfg.height, cfg.width, is_train=True, seed=cfg.seed + 17)
        gen_loader = DataLoader(GeneratedImages(generated, transform), batch_size=cfg.gen_per_batch, shuffle=True,
                                drop_last=True, num_workers=0,
                                generator=torch.Generator().manual_seed(cfg.seed + 23))
    loader = MixedLoader(real_loader, gen_loader, device="cuda" if torch.cuda.is_available() else None)
    tcfg = TrainConfig(epochs=10**6, max_iters=cfg.reid_iters, warmup_iters=min(100, cfg.reid_iters // 5),
                       out_dir=str(out_dir), seed=cfg.seed, progress=cfg.progress, tensorboard=True,
                       extra={"gan_study_mode": mode})
    Trainer(model, criterion, loader, tcfg).fit()
    return model.eval()


def evaluate(cfg: StudyConfig, model, dataset) -> dict:
    from .data import make_eval_loader
    from .engine import evaluate_model

    ql = make_eval_loader(dataset.query, cfg.height, cfg.width, workers=0)
    gl = make_eval_loader(dataset.gallery, cfg.height, cfg.width, workers=0)
    r = evaluate_model(model, ql, gl, metric="cosine", rerank=False)
    return {"rank1": round(r["rank1"], 4), "rank5": round(r["rank5"], 4), "mAP": round(r["mAP"], 4)}


def run_study(cfg: StudyConfig) -> dict:
    from .data import load_dataset
    from .data.transforms import IMAGENET_MEAN, IMAGENET_STD
    from .gan import GANConfig, frechet_from_features, generate_images, inception_fid, train_gan
    from .gan.frechet import extract_features, reid_feature_fn
    from .gan.images import PersonImageDataset

    t_start = time.time()
    _single_threaded_opencv()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t = time.time()
    root = make_data(cfg)
    dataset = load_dataset(root)
    _log(dataset.summary())
    timings["data"] = time.time() - t

    t = time.time()
    baseline_model = train_reid(cfg, dataset, "none", None, out / "reid_baseline")
    results = {"baseline": evaluate(cfg, baseline_model, dataset)}
    timings["reid_baseline"] = time.time() - t
    _log(f"baseline: {results['baseline']}")

    # GAN on the real training crops; FRD per epoch on the baseline model's features.
    t = time.time()
    gan_images = PersonImageDataset([r.path for r in dataset.train], (cfg.height, cfg.width), progress=cfg.progress)
    feature_fn = reid_feature_fn(baseline_model, (cfg.height, cfg.width), IMAGENET_MEAN, IMAGENET_STD)
    g = torch.Generator().manual_seed(cfg.seed)
    ref_idx = torch.randperm(len(gan_images), generator=g)[: max(cfg.frd_samples, 2)]
    frd_real = gan_images.tensor()[ref_idx]
    gcfg = GANConfig(kind=cfg.gan, image_size=(cfg.height, cfg.width), ngf=cfg.ngf, ndf=cfg.ndf, ema=cfg.ema,
                     epochs=cfg.gan_epochs, batch_size=cfg.gan_batch, seed=cfg.seed, frd_samples=cfg.frd_samples)
    trainer = train_gan(gcfg, gan_images, out / "gan", resume="auto", feature_fn=feature_fn, frd_real=frd_real,
                        progress=cfg.progress)
    timings["gan"] = time.time() - t

    t = time.time()
    n_gen = cfg.num_generated or len(dataset.train)
    gen_dir = out / "generated"
    generated = generate_images(trainer.sampler(), n_gen, gen_dir, seed=cfg.seed + 5, output_size=(cfg.height, cfg.width),
                                meta={"gan": cfg.gan, "checkpoint": str(out / "gan" / "last.pt"), "ema": cfg.ema},
                                progress=cfg.progress)
    # Quality of what was written (after JPEG), against real train crops and, for scale, between
    # real train and real test persons (different identities, same distribution).
    real_feats = extract_features(feature_fn, frd_real.split(64))
    gen_feats = extract_features(feature_fn, PersonImageDataset(generated[: cfg.frd_samples], (cfg.height, cfg.width),
                                                                progress=False).tensor().split(64))
    test_imgs = PersonImageDataset([r.path for r in dataset.gallery[: cfg.frd_samples]], (cfg.height, cfg.width),
                                   progress=False).tensor()
    test_feats = extract_features(feature_fn, test_imgs.split(64))
    frd = frechet_from_features(real_feats, gen_feats)
    frd_real_ref = frechet_from_features(real_feats, test_feats)
    fid, fid_note = inception_fid(root / "bounding_box_train", gen_dir / "bounding_box_train")
    timings["generate"] = time.time() - t

    for mode in ("lsro", "extra"):
        t = time.time()
        model = train_reid(cfg, dataset, mode, generated, out / f"reid_{mode}")
        results[mode] = evaluate(cfg, model, dataset)
        timings[f"reid_{mode}"] = time.time() - t
        _log(f"{mode}: {results[mode]}")

    summary = {
        **results,
        "frechet": round(frd, 4),
        "frechet_name": "Frechet ReID Distance (FRD), baseline-model features, generated vs real train crops",
        "frechet_real_train_vs_real_test": round(frd_real_ref, 4),
        "frd_per_epoch": [round(h["frd"], 4) for h in trainer.history if "frd" in h],
        "inception_fid": fid, "inception_fid_note": fid_note,
        "gan": cfg.gan,
        "num_generated": n_gen, "num_train_images": len(dataset.train), "num_train_ids": dataset.num_train_pids,
        "queries": len(dataset.query), "gallery": len(dataset.gallery),
        "seconds": {k: round(v, 1) for k, v in timings.items()} | {"total": round(time.time() - t_start, 1)},
        "config": asdict(cfg),
    }
    (out / "gan_study.json").write_text(json.dumps(summary, indent=1))
    return summary


def format_table(summary: dict) -> str:
    rows = [f"{'run':<10} {'rank-1':>8} {'rank-5':>8} {'mAP':>8}"]
    base = summary["baseline"]
    for name in ("baseline", "lsro", "extra"):
        r = summary[name]
        delta = "" if name == "baseline" else f"   (rank-1 {r['rank1'] - base['rank1']:+.4f}, mAP {r['mAP'] - base['mAP']:+.4f})"
        rows.append(f"{name:<10} {r['rank1']:>8.4f} {r['rank5']:>8.4f} {r['mAP']:>8.4f}{delta}")
    rows.append(f"GAN {summary['gan']}: FRD generated-vs-real {summary['frechet']:.4f} "
                f"(real train vs real test persons: {summary['frechet_real_train_vs_real_test']:.4f}); "
                f"FRD per epoch {summary['frd_per_epoch']}")
    rows.append(f"Inception FID: {summary['inception_fid'] if summary['inception_fid'] is not None else 'n/a'}"
                f" ({summary['inception_fid_note']})")
    rows.append(f"time: {summary['seconds']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    d = StudyConfig()
    p = argparse.ArgumentParser(prog="reid-gan-study", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=d.out)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--ids", type=int, default=d.ids, help="synthetic identities (half train, half test)")
    p.add_argument("--images-per-cam", type=int, default=d.images_per_cam)
    p.add_argument("--cameras", type=int, default=d.cameras)
    p.add_argument("--size", default=f"{d.height}x{d.width}", help="HxW of GAN images and ReID input")
    p.add_argument("--gan", choices=("dcgan", "vaegan", "wgan-gp"), default=d.gan)
    p.add_argument("--ngf", type=int, default=d.ngf)
    p.add_argument("--ndf", type=int, default=d.ndf)
    p.add_argument("--no-ema", action="store_true")
    p.add_argument("--gan-epochs", type=int, default=d.gan_epochs)
    p.add_argument("--gan-batch", type=int, default=d.gan_batch)
    p.add_argument("--frd-samples", type=int, default=d.frd_samples)
    p.add_argument("--num-generated", type=int, default=d.num_generated, help="0 = as many as real train images")
    p.add_argument("--backbone", default=d.backbone)
    p.add_argument("--no-imagenet-init", action="store_true")
    p.add_argument("--reid-iters", type=int, default=d.reid_iters)
    p.add_argument("--p", type=int, default=d.p)
    p.add_argument("--k", type=int, default=d.k)
    p.add_argument("--gen-per-batch", type=int, default=d.gen_per_batch)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    try:
        h, w = (int(v) for v in a.size.lower().split("x"))
    except ValueError:
        p.error(f"--size must look like 128x64, got {a.size!r}")
    cfg = StudyConfig(out=a.out, seed=a.seed, ids=a.ids, images_per_cam=a.images_per_cam, cameras=a.cameras,
                      height=h, width=w, gan=a.gan, ngf=a.ngf, ndf=a.ndf, ema=not a.no_ema, gan_epochs=a.gan_epochs,
                      gan_batch=a.gan_batch, frd_samples=a.frd_samples, num_generated=a.num_generated,
                      backbone=a.backbone, imagenet_init=not a.no_imagenet_init, reid_iters=a.reid_iters, p=a.p,
                      k=a.k, gen_per_batch=a.gen_per_batch, workers=a.workers, progress=not a.no_progress)
    summary = run_study(cfg)
    print(format_table(summary))
    print(json.dumps({k: summary[k] for k in ("baseline", "lsro", "extra", "frechet", "gan")}
                     | {"frechet_real_ref": summary["frechet_real_train_vs_real_test"],
                        "seconds": summary["seconds"]["total"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
