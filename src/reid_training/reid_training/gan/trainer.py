"""One trainer for the three GAN kinds the original project lists: DCGAN, VAE-GAN, WGAN-GP.

Kinds differ in objective and defaults, not in code path:
- ``dcgan``: non-saturating (or hinge) loss, BatchNorm D (none when spectral norm is on), 1 D step per G step.
- ``wgan-gp``: Wasserstein critic with gradient penalty (lambda 10), InstanceNorm critic (BatchNorm
  would couple the per-sample gradients the penalty constrains), ``n_critic`` = 5, Adam(0, 0.9).
- ``vaegan``: Larsen et al. 2016. Encoder E, decoder = generator G, discriminator D. E minimises
  KL + feature reconstruction (in D's mid-layer space), G minimises gamma * feature reconstruction
  + adversarial loss on reconstructions and prior samples, D separates real from both. With
  ``loss="wgan"`` and ``gp_weight>0`` it becomes the VAE-WGAN-GP variant the original mentions.

TTUR (Heusel et al. 2017): separate learning rates for G and D (defaults 1e-4 / 4e-4).
Every epoch: checkpoint (resumable), a sample grid PNG from a fixed noise batch (EMA generator
when ``ema``), optionally the Frechet ReID Distance, TensorBoard scalars and a history JSON.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .. import serialization
from . import losses as L
from .ema import EMA
from .frechet import extract_features, frechet_distance, gaussian_stats
from .nets import Discriminator, Encoder, Generator, check_image_size, reparameterize
from .runtime import Runtime

GAN_KINDS = ("dcgan", "vaegan", "wgan-gp")


@dataclass
class GANConfig:
    kind: str = "dcgan"
    image_size: tuple[int, int] = (128, 64)
    nz: int = 128
    ngf: int = 64
    ndf: int = 64
    nef: int | None = None  # VAE-GAN encoder width; defaults to ndf
    loss: str | None = None  # ns | hinge | wgan; None -> per-kind default
    spectral_norm: bool = False
    self_attention: bool = False
    ema: bool = False
    ema_decay: float = 0.999
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    beta1: float | None = None
    beta2: float | None = None
    n_critic: int | None = None
    gp_weight: float | None = None
    kl_weight: float = 1.0
    recon_weight: float = 1.0  # VAE-GAN gamma: weight of feature reconstruction in the decoder loss
    batch_size: int = 64
    epochs: int = 10
    max_steps: int | None = None  # cap on generator steps (all epochs together)
    seed: int = 0
    amp: bool = True  # mixed precision on GPU; ignored on CPU
    num_workers: int = 0
    sample_count: int = 32
    frd_samples: int = 256
    tensorboard: bool = True
    extra: dict = field(default_factory=dict)

    def resolved(self) -> "GANConfig":
        """Fill per-kind defaults and validate; returns a new config."""
        if self.kind not in GAN_KINDS:
            raise ValueError(f"GAN kind must be one of {GAN_KINDS}, got {self.kind!r}")
        check_image_size(tuple(self.image_size))
        wgan = self.kind == "wgan-gp"
        c = dataclasses.replace(self, image_size=(int(self.image_size[0]), int(self.image_size[1])))
        c.loss = self.loss or ("wgan" if wgan else "ns")
        if c.loss not in L.ADV_LOSSES:
            raise ValueError(f"loss must be one of {L.ADV_LOSSES}, got {c.loss!r}")
        c.n_critic = int(self.n_critic if self.n_critic is not None else (5 if wgan else 1))
        c.gp_weight = float(self.gp_weight if self.gp_weight is not None else (10.0 if wgan else 0.0))
        c.beta1 = float(self.beta1 if self.beta1 is not None else (0.0 if (wgan or self.spectral_norm) else 0.5))
        c.beta2 = float(self.beta2 if self.beta2 is not None else (0.9 if (wgan or self.spectral_norm) else 0.999))
        c.nef = int(self.nef or self.ndf)
        if c.n_critic < 1 or c.batch_size < 2 or c.epochs < 1:
            raise ValueError(f"need n_critic >= 1, batch_size >= 2, epochs >= 1; got {c.n_critic}, {c.batch_size}, {c.epochs}")
        if c.loss == "wgan" and c.gp_weight <= 0 and not c.spectral_norm:
            raise ValueError("loss='wgan' needs gp_weight > 0 or spectral_norm: an unconstrained critic diverges")
        return c

    @property
    def d_norm(self) -> str:
        if self.kind == "wgan-gp" or (self.gp_weight or 0) > 0:
            return "instance"
        return "none" if self.spectral_norm else "batch"


def build_gan(cfg: GANConfig) -> dict[str, nn.Module]:
    """Networks for ``cfg`` (resolved): {'G', 'D'} plus 'E' for the VAE-GAN."""
    cfg = cfg.resolved()
    nets: dict[str, nn.Module] = {
        "G": Generator(cfg.nz, cfg.ngf, cfg.image_size, cfg.self_attention, cfg.spectral_norm),
        "D": Discriminator(cfg.ndf, cfg.image_size, cfg.d_norm, cfg.spectral_norm, cfg.self_attention),
    }
    if cfg.kind == "vaegan":
        nets["E"] = Encoder(cfg.nz, cfg.nef, cfg.image_size)
    return nets


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _images_of(batch: Any) -> torch.Tensor:
    """Accept loaders yielding tensors, (images, ...) tuples or {'image'|'images': ...} dicts."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, dict):
        for key in ("image", "images", "img"):
            if key in batch:
                return batch[key]
        raise KeyError(f"batch dict has no image key: {sorted(batch)}")
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    raise TypeError(f"cannot find images in a batch of type {type(batch).__name__}")


class GANTrainer:
    """Train a GAN on a dataset of images in [-1, 1] shaped (3, H, W) = cfg.image_size.

    ``feature_fn`` (images -> features, e.g. ``frechet.reid_feature_fn``) with ``frd_real``
    (a tensor of real images) enables the per-epoch Frechet ReID Distance.
    """

    def __init__(self, cfg: GANConfig, dataset: Dataset, out_dir: str | Path,
                 feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 frd_real: torch.Tensor | None = None, device: str | None = None,
                 use_accelerate: bool | None = None, progress: bool = True) -> None:
        self.cfg = cfg.resolved()
        if len(dataset) < self.cfg.batch_size:
            raise ValueError(f"dataset has {len(dataset)} images, fewer than batch_size {self.cfg.batch_size}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        seed_everything(self.cfg.seed)
        self.rt = Runtime(self.cfg.amp, use_accelerate, device, find_unused_parameters=self.cfg.kind == "vaegan")
        nets = build_gan(self.cfg)
        c = self.cfg
        self.opt_g = torch.optim.Adam(nets["G"].parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
        self.opt_d = torch.optim.Adam(nets["D"].parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))
        self.opt_e = torch.optim.Adam(nets["E"].parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2)) if "E" in nets else None
        loader_gen = torch.Generator().manual_seed(c.seed)
        loader = DataLoader(dataset, batch_size=c.batch_size, shuffle=True, drop_last=True,
                            num_workers=c.num_workers, generator=loader_gen, persistent_workers=c.num_workers > 0)
        self.loader_generator = loader_gen
        # EMA shadow lives outside accelerate: it is never trained, only averaged and sampled.
        self.ema = EMA(nets["G"], c.ema_decay) if c.ema else None
        objs = [nets["G"], nets["D"], self.opt_g, self.opt_d]
        if "E" in nets:
            objs += [nets["E"], self.opt_e]
        objs.append(loader)
        prepared = list(self.rt.prepare(*objs))
        self.G, self.D, self.opt_g, self.opt_d = prepared[:4]
        if "E" in nets:
            self.E, self.opt_e = prepared[4:6]
        else:
            self.E = None
        self.loader = prepared[-1]
        if self.ema is not None:
            self.ema.shadow.to(self.rt.device)
        self.fixed_noise = torch.randn(c.sample_count, c.nz, generator=torch.Generator().manual_seed(c.seed + 1))
        self.frd_noise = torch.randn(c.frd_samples, c.nz, generator=torch.Generator().manual_seed(c.seed + 2))
        self.gp_generator = None
        self.step = 0  # generator steps
        self.d_step = 0
        self.epoch = 0  # completed epochs
        self.history: list[dict] = []
        self.feature_fn = feature_fn
        self.frd_real_stats = None
        if feature_fn is not None and frd_real is not None:
            feats = extract_features(feature_fn, frd_real.split(64))
            self.frd_real_stats = gaussian_stats(feats)
        self.writer = None
        if c.tensorboard and self.rt.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.out_dir / "tb"))

    # ------------------------------------------------------------------ sampling
    def sampler(self) -> nn.Module:
        """The generator used for samples: the EMA shadow when enabled, else G (unwrapped)."""
        return self.ema.shadow if self.ema is not None else self.rt.unwrap(self.G)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        g = self.sampler()
        was_training = g.training
        g.eval()
        out = torch.cat([g(chunk.to(self.rt.device)).float().cpu() for chunk in z.split(128)])
        g.train(was_training)
        return out

    # ------------------------------------------------------------------ training steps
    def _d_step(self, real: torch.Tensor) -> dict[str, float]:
        c = self.cfg
        self.D.requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        b = real.shape[0]
        with torch.no_grad(), self.rt.autocast():
            if self.E is not None:
                mu, logvar = self.E(real)
                fake = torch.cat([self.G(reparameterize(mu, logvar)), self.G(torch.randn(b, c.nz, device=real.device))])
            else:
                fake = self.G(torch.randn(b, c.nz, device=real.device))
        with self.rt.autocast():
            d_real = self.D(real)
            d_fake = self.D(fake.detach())
            loss = L.d_loss(c.loss, d_real, d_fake)
        stats = {"d_loss": float(loss.detach())}
        if c.gp_weight > 0:
            gp = L.gradient_penalty(self.D, real, fake[:b])
            loss = loss + c.gp_weight * gp
            stats["gp"] = float(gp.detach())
        if c.loss == "wgan":
            stats["w_dist"] = float((d_real.float().mean() - d_fake.float().mean()).detach())
        self.rt.backward(loss)
        self.opt_d.step()
        self.d_step += 1
        return stats

    def _g_step(self, real: torch.Tensor) -> dict[str, float]:
        c = self.cfg
        b = real.shape[0]
        self.D.requires_grad_(False)  # G's step must not move D (and skips D's weight grads)
        self.opt_g.zero_grad(set_to_none=True)
        stats: dict[str, float] = {}
        if self.E is None:
            with self.rt.autocast():
                loss = L.g_loss(c.loss, self.D(self.G(torch.randn(b, c.nz, device=real.device))))
            self.rt.backward(loss)
            stats["g_loss"] = float(loss.detach())
        else:
            self.opt_e.zero_grad(set_to_none=True)
            with self.rt.autocast():
                mu, logvar = self.E(real)
                recon = self.G(reparameterize(mu, logvar))
                prior = self.G(torch.randn(b, c.nz, device=real.device))
                _, f_real = self.D(real, return_features=True)
                d_rec, f_rec = self.D(recon, return_features=True)
                d_prior = self.D(prior)
            kl = L.kl_divergence(mu, logvar)
            rec = L.feature_reconstruction(f_real, f_rec)
            adv = L.g_loss(c.loss, torch.cat([d_rec, d_prior]))
            enc_loss = c.kl_weight * kl + rec
            dec_loss = c.recon_weight * rec + adv
            # Each network gets only its own objective (Larsen et al.): E <- KL + rec, G <- gamma*rec + adv.
            self.rt.backward(enc_loss, inputs=[p for p in self.E.parameters()], retain_graph=True)
            self.rt.backward(dec_loss, inputs=[p for p in self.G.parameters()])
            self.opt_e.step()
            stats.update(g_loss=float(adv.detach()), kl=float(kl.detach()), recon=float(rec.detach()))
        self.opt_g.step()
        self.D.requires_grad_(True)
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.rt.unwrap(self.G))
        return stats

    # ------------------------------------------------------------------ epochs
    def train(self, epochs: int | None = None) -> list[dict]:
        """Train until ``epochs`` (default cfg.epochs) epochs are complete, resuming from self.epoch."""
        c = self.cfg
        target = int(epochs if epochs is not None else c.epochs)
        self.G.train()
        self.D.train()
        if self.E is not None:
            self.E.train()
        while self.epoch < target and not self._step_cap_reached():
            t0 = time.time()
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}
            # Per-epoch seed: a resumed run draws the same batches and noise as an uninterrupted one.
            self.loader_generator.manual_seed(c.seed * 1000 + self.epoch)
            torch.manual_seed(c.seed * 7919 + self.epoch)
            bar = tqdm(self.loader, desc=f"{c.kind} epoch {self.epoch + 1}/{target}", leave=False,
                       disable=not (self.progress and self.rt.is_main))
            for i, batch in enumerate(bar):
                real = _images_of(batch).to(self.rt.device, non_blocking=True)
                stats = self._d_step(real)
                if (i + 1) % c.n_critic == 0:
                    stats.update(self._g_step(real))
                for k, v in stats.items():
                    if not math.isfinite(v):
                        raise FloatingPointError(f"{c.kind}: non-finite {k}={v} at epoch {self.epoch}, step {self.step}")
                    sums[k] = sums.get(k, 0.0) + v
                    counts[k] = counts.get(k, 0) + 1
                if self.writer is not None and "g_loss" in stats:
                    for k, v in stats.items():
                        self.writer.add_scalar(f"train/{k}", v, self.step)
                bar.set_postfix({k: f"{v:.3f}" for k, v in stats.items()})
                if self._step_cap_reached():
                    break
            self.epoch += 1
            record = {"epoch": self.epoch, "step": self.step, "seconds": round(time.time() - t0, 2)}
            record.update({k: sums[k] / counts[k] for k in sums})
            if self.frd_real_stats is not None:
                record["frd"] = self.frechet_reid_distance()
                if self.writer is not None:
                    self.writer.add_scalar("quality/frd", record["frd"], self.epoch)
            self.history.append(record)
            if self.rt.is_main:
                self.save_samples(self.out_dir / "samples" / f"epoch_{self.epoch:03d}.png")
                self.save_checkpoint(self.out_dir / "last.pt")
                (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))
        if self.writer is not None:
            self.writer.flush()
        return self.history

    def _step_cap_reached(self) -> bool:
        return self.cfg.max_steps is not None and self.step >= self.cfg.max_steps

    def frechet_reid_distance(self) -> float:
        """FRD between the real reference images and frd_samples generated from a fixed noise batch."""
        if self.feature_fn is None or self.frd_real_stats is None:
            raise RuntimeError("frechet_reid_distance needs feature_fn and frd_real at construction")
        fake = self.sample(self.frd_noise)
        feats = extract_features(self.feature_fn, fake.split(64))
        return frechet_distance(*self.frd_real_stats, *gaussian_stats(feats))

    def save_samples(self, path: str | Path) -> Path:
        from torchvision.utils import save_image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        images = self.sample(self.fixed_noise)
        save_image(images, str(path), nrow=min(16, len(images)), normalize=True, value_range=(-1, 1))
        return path

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        state = {
            "format": "reid_training.gan/1",
            "config": dataclasses.asdict(self.cfg),
            "epoch": self.epoch, "step": self.step, "d_step": self.d_step,
            "G": self.rt.unwrap(self.G).state_dict(), "D": self.rt.unwrap(self.D).state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "fixed_noise": self.fixed_noise, "history": self.history,
        }
        if self.E is not None:
            state["E"] = self.rt.unwrap(self.E).state_dict()
            state["opt_e"] = self.opt_e.state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def save_checkpoint(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        serialization.save(self.state_dict(), tmp)
        tmp.replace(path)  # atomic: an interrupted save never leaves a half-written checkpoint
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Resume: networks, optimisers, EMA, counters and history from ``path``."""
        state = _load_state(path)
        saved = GANConfig(**_config_fields(state["config"])).resolved()
        for key in ("kind", "image_size", "nz", "ngf", "ndf", "spectral_norm", "self_attention", "ema"):
            if getattr(saved, key) != getattr(self.cfg, key):
                raise ValueError(f"checkpoint {path} has {key}={getattr(saved, key)!r}, trainer has {getattr(self.cfg, key)!r}")
        self.rt.unwrap(self.G).load_state_dict(state["G"])
        self.rt.unwrap(self.D).load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.E is not None:
            self.rt.unwrap(self.E).load_state_dict(state["E"])
            self.opt_e.load_state_dict(state["opt_e"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.fixed_noise = state["fixed_noise"]
        self.epoch, self.step, self.d_step = int(state["epoch"]), int(state["step"]), int(state["d_step"])
        self.history = list(state.get("history", []))


def _config_fields(raw: dict) -> dict:
    names = {f.name for f in dataclasses.fields(GANConfig)}
    out = {k: v for k, v in raw.items() if k in names}
    if "image_size" in out:
        out["image_size"] = tuple(out["image_size"])
    return out


def _load_state(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GAN checkpoint not found: {path}")
    state = serialization.load(path, "GAN checkpoint")
    if not isinstance(state, dict) or state.get("format") != "reid_training.gan/1":
        raise ValueError(f"{path} is not a reid_training GAN checkpoint")
    return state


def load_generator(path: str | Path, use_ema: bool = True, device: str = "cpu") -> tuple[Generator, GANConfig]:
    """The generator from a trainer checkpoint (its EMA shadow when saved and ``use_ema``), in eval mode."""
    state = _load_state(path)
    cfg = GANConfig(**_config_fields(state["config"])).resolved()
    g = Generator(cfg.nz, cfg.ngf, cfg.image_size, cfg.self_attention, cfg.spectral_norm)
    if use_ema and "ema" in state:
        g.load_state_dict(state["ema"]["shadow"])
    else:
        g.load_state_dict(state["G"])
    return g.to(device).eval(), cfg


def train_gan(cfg: GANConfig, dataset: Dataset, out_dir: str | Path, resume: str | Path | None = None,
              **trainer_kwargs: Any) -> GANTrainer:
    """Build a trainer, optionally resume from a checkpoint (``'auto'`` = out_dir/last.pt if present), train."""
    trainer = GANTrainer(cfg, dataset, out_dir, **trainer_kwargs)
    if resume == "auto":
        resume = trainer.out_dir / "last.pt"
        resume = resume if resume.is_file() else None
    if resume is not None:
        trainer.load_checkpoint(resume)
    trainer.train()
    return trainer
