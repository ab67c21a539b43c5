"""``reid-gan``: train a GAN on person crops, generate images, measure Frechet distances.

Examples::

    # the original project's command (python modification_gan/synthetic_generate.py --ngf 256 --ndf 64 --ema)
    reid-gan train --data /data/Market-1501-v15.09.15 --kind dcgan --ngf 256 --ndf 64 --ema
    # synthetic persons, WGAN-GP with spectral norm off, self-attention on, 256x128
    reid-gan train --data runs/gan/synth --synthetic 200 --kind wgan-gp --self-attention --size 256x128
    # N images in Market-1501 layout from the EMA generator
    reid-gan generate --ckpt runs/gan/train/last.pt --n 5000 --out runs/gan/generated
    # Frechet ReID Distance with our ReID model (and Inception FID when its weights are installed)
    reid-gan fid --real /data/Market/bounding_box_train --fake runs/gan/generated/bounding_box_train \\
        --reid-model runs/reid/train/checkpoint.pt

Multi-GPU: ``accelerate launch -m reid_training.gan.cli train ...`` (AMP on GPU unless --no-amp).
Resume: ``--resume auto`` continues from <out>/last.pt when it exists.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 128x64 (HxW), got {text!r}") from exc
    return h, w


def _reid_feature_fn(path: str, device: str):
    from ..data.transforms import IMAGENET_MEAN, IMAGENET_STD
    from ..engine import model_from_checkpoint
    from .frechet import reid_feature_fn

    model, _ = model_from_checkpoint(path)
    model.to(device)
    cfg = model.config
    return reid_feature_fn(model, (cfg.input_height, cfg.input_width), IMAGENET_MEAN, IMAGENET_STD, device)


def build_parser() -> argparse.ArgumentParser:
    from .trainer import GAN_KINDS, GANConfig

    d = GANConfig()
    p = argparse.ArgumentParser(prog="reid-gan", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a GAN on the training crops of a ReID dataset")
    t.add_argument("--data", required=True, help="dataset root (any layout reid_training.data reads)")
    t.add_argument("--synthetic", type=int, default=0, metavar="N_IDS",
                   help="first generate N_IDS synthetic identities into --data when it holds no dataset")
    t.add_argument("--kind", choices=GAN_KINDS, default=d.kind)
    t.add_argument("--size", type=_size, default=d.image_size, help="HxW: 64x32, 128x64 or 256x128")
    t.add_argument("--nz", type=int, default=d.nz)
    t.add_argument("--ngf", type=int, default=d.ngf)
    t.add_argument("--ndf", type=int, default=d.ndf)
    t.add_argument("--ema", action="store_true", help="keep an EMA of G and sample from it")
    t.add_argument("--ema-decay", type=float, default=d.ema_decay)
    t.add_argument("--spectral-norm", "--sn", action="store_true")
    t.add_argument("--self-attention", "--sa", action="store_true")
    t.add_argument("--loss", choices=("ns", "hinge", "wgan"), default=None, help="default: wgan for wgan-gp, else ns")
    t.add_argument("--n-critic", type=int, default=None, help="D steps per G step (default 5 for wgan-gp, else 1)")
    t.add_argument("--gp-weight", type=float, default=None, help="gradient penalty lambda (default 10 for wgan-gp)")
    t.add_argument("--lr-g", type=float, default=d.lr_g, help="TTUR: generator learning rate")
    t.add_argument("--lr-d", type=float, default=d.lr_d, help="TTUR: discriminator learning rate")
    t.add_argument("--kl-weight", type=float, default=d.kl_weight, help="VAE-GAN KL weight")
    t.add_argument("--recon-weight", type=float, default=d.recon_weight, help="VAE-GAN gamma")
    t.add_argument("--batch-size", "--bs", dest="batch_size", type=int, default=d.batch_size)
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--max-steps", type=int, default=None)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--no-amp", action="store_true")
    t.add_argument("--workers", type=int, default=0)
    t.add_argument("--frd-model", default=None, metavar="CKPT",
                   help="ReID checkpoint: track the Frechet ReID Distance per epoch")
    t.add_argument("--frd-samples", type=int, default=d.frd_samples)
    t.add_argument("--out", default="runs/gan/train")
    t.add_argument("--resume", default=None, help="checkpoint path, or 'auto' for <out>/last.pt when present")
    t.add_argument("--no-progress", action="store_true")

    g = sub.add_parser("generate", help="write N generated crops in Market-1501 layout")
    g.add_argument("--ckpt", required=True)
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--no-ema", action="store_true", help="use the live generator, not its EMA")
    g.add_argument("--size", type=_size, default=None, help="resize to HxW (default: the GAN's size)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--batch-size", type=int, default=64)

    f = sub.add_parser("fid", help="Frechet ReID Distance (and Inception FID when available) between folders")
    f.add_argument("--real", required=True)
    f.add_argument("--fake", required=True)
    f.add_argument("--reid-model", default=None, metavar="CKPT", help="ReID checkpoint for the FRD")
    f.add_argument("--max-images", type=int, default=2000)
    return p


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def cmd_train(a: argparse.Namespace) -> dict:
    from ..data import load_dataset
    from .images import PersonImageDataset
    from .trainer import GANConfig, train_gan

    root = Path(a.data)
    if a.synthetic and not (root / "bounding_box_train").is_dir():
        from ..data.synthetic import generate_synthetic_persons

        generate_synthetic_persons(root, num_ids=a.synthetic, height=a.size[0], width=a.size[1], seed=a.seed,
                                   progress=not a.no_progress)
    ds = load_dataset(root)
    images = PersonImageDataset([r.path for r in ds.train], a.size, progress=not a.no_progress)
    cfg = GANConfig(kind=a.kind, image_size=a.size, nz=a.nz, ngf=a.ngf, ndf=a.ndf, loss=a.loss,
                    spectral_norm=a.spectral_norm, self_attention=a.self_attention, ema=a.ema,
                    ema_decay=a.ema_decay, lr_g=a.lr_g, lr_d=a.lr_d, n_critic=a.n_critic, gp_weight=a.gp_weight,
                    kl_weight=a.kl_weight, recon_weight=a.recon_weight, batch_size=a.batch_size, epochs=a.epochs,
                    max_steps=a.max_steps, seed=a.seed, amp=not a.no_amp, num_workers=a.workers,
                    frd_samples=a.frd_samples)
    kwargs = {}
    if a.frd_model:
        g = torch.Generator().manual_seed(a.seed)
        idx = torch.randperm(len(images), generator=g)[: max(a.frd_samples, 2)]
        kwargs = {"feature_fn": _reid_feature_fn(a.frd_model, _device()), "frd_real": images.tensor()[idx]}
    trainer = train_gan(cfg, images, a.out, resume=a.resume, progress=not a.no_progress, **kwargs)
    last = trainer.history[-1] if trainer.history else {}
    return {"checkpoint": str(Path(a.out) / "last.pt"), "epochs": trainer.epoch, "steps": trainer.step, **last}


def cmd_generate(a: argparse.Namespace) -> dict:
    from .generate import generate_images
    from .trainer import load_generator

    g, cfg = load_generator(a.ckpt, use_ema=not a.no_ema, device=_device())
    paths = generate_images(g, a.n, a.out, seed=a.seed, batch_size=a.batch_size, output_size=a.size,
                            meta={"gan": cfg.kind, "checkpoint": str(a.ckpt), "ema": not a.no_ema})
    return {"count": len(paths), "folder": str(Path(a.out) / "bounding_box_train"), "gan": cfg.kind}


def cmd_fid(a: argparse.Namespace) -> dict:
    from .frechet import FRD_NAME, extract_features, frechet_from_features, inception_fid
    from .images import PersonImageDataset, list_images

    out: dict = {}
    if a.reid_model:
        fn = _reid_feature_fn(a.reid_model, _device())
        feats = []
        for folder in (a.real, a.fake):
            files = list_images(folder)[: a.max_images]
            ds = PersonImageDataset(files, (128, 64), flip=False)  # re-sized to the model's input by fn
            feats.append(extract_features(fn, ds.tensor().split(64)))
        out["frd"] = frechet_from_features(*feats)
        out["frd_name"] = FRD_NAME
    fid, note = inception_fid(a.real, a.fake, device=_device())
    out.update(inception_fid=fid, inception_fid_note=note)
    return out


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    result = {"train": cmd_train, "generate": cmd_generate, "fid": cmd_fid}[a.command](a)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
