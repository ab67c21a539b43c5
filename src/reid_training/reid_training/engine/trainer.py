"""Training loop: accelerate (AMP on GPU, multi-GPU under ``accelerate launch`` with no code
change), checkpoint/resume, seeds, tqdm, TensorBoard scalars and a loss-curve PNG.

Batches may be tuples ``(images, pids, camids, ...)`` or dicts with ``image``/``pid`` keys,
so any loader from :mod:`reid_training.data` (or a user's) works unchanged.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from .. import serialization
from ..losses import ReIDLoss
from ..models import ModelConfig, ReIDModel
from ..models.reid_model import load_checkpoint

CHECKPOINT_VERSION = 1


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices) so runs repeat."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def unpack_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(images, pids, camids|None)`` from a tuple/list or dict batch."""
    if isinstance(batch, dict):
        images = batch.get("image", batch.get("images", batch.get("img")))
        pids = batch.get("pid", batch.get("pids", batch.get("label")))
        camids = batch.get("camid", batch.get("camids"))
    elif isinstance(batch, (tuple, list)) and len(batch) >= 2:
        images, pids = batch[0], batch[1]
        camids = batch[2] if len(batch) > 2 and torch.is_tensor(batch[2]) else None
    else:
        raise ValueError(f"unsupported batch type {type(batch).__name__}: expected (images, pids, ...) or a dict")
    if images is None or pids is None:
        raise ValueError(f"batch dict needs 'image' and 'pid' keys, got {sorted(batch)}")
    return images, torch.as_tensor(pids), (torch.as_tensor(camids) if camids is not None else None)


@dataclass
class TrainConfig:
    epochs: int = 60
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    warmup_iters: int = 200
    max_iters: int | None = None  # stop after this many iterations in total (time-boxed CPU runs)
    amp: bool = True  # fp16 autocast when a GPU is used; ignored on CPU
    out_dir: str = "runs/reid"
    checkpoint: str | None = None  # where to save; default <out_dir>/checkpoint.pt
    resume: str | None = None
    seed: int = 0
    eval_every: int = 0  # epochs; 0 = only at the end
    log_every: int = 10  # iterations between TensorBoard points
    tensorboard: bool = True
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # provenance stored in the checkpoint


def _make_accelerator(amp: bool):
    """An ``accelerate.Accelerator`` (it reads the ``accelerate launch`` environment itself), or
    None when accelerate is not installed (single device then)."""
    try:
        from accelerate import Accelerator
    except ImportError:
        return None
    mixed = "fp16" if amp and torch.cuda.is_available() else "no"
    return Accelerator(mixed_precision=mixed)


def save_checkpoint(path: str | os.PathLike, model: ReIDModel, optimizer=None, scheduler=None,
                    criterion: nn.Module | None = None, epoch: int = 0, iteration: int = 0,
                    history: dict | None = None, extra: dict | None = None) -> Path:
    """Atomic save (temp file + rename): an interrupted save never leaves a broken checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"version": CHECKPOINT_VERSION, "model_config": model.config.to_dict(), "model": model.state_dict(),
             "epoch": epoch, "iteration": iteration, "history": history or {}, "extra": extra or {}}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if criterion is not None:
        state["criterion"] = criterion.state_dict()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    serialization.save(state, tmp)
    os.replace(tmp, path)
    return path




def model_from_checkpoint(path: str | os.PathLike) -> tuple[ReIDModel, dict]:
    """Rebuild the model a checkpoint was saved from; returns ``(model in eval mode, checkpoint)``."""
    state = load_checkpoint(path)
    model = ReIDModel(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.eval(), state


def _lr_lambda(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warm-up then cosine decay to 1 % (per iteration)."""
    def f(it: int) -> float:
        if it < warmup:
            return (it + 1) / max(warmup, 1)
        progress = min(1.0, (it - warmup) / max(total - warmup, 1))
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))
    return f


class Trainer:
    """Fits a :class:`ReIDModel` with a :class:`ReIDLoss`.

    ``eval_fn(model) -> dict`` (optional) is called every ``eval_every`` epochs and at the end;
    its numeric values are logged and stored in the history.
    """

    def __init__(self, model: ReIDModel, criterion: ReIDLoss, train_loader: Iterable, config: TrainConfig,
                 eval_fn: Callable[[nn.Module], dict] | None = None) -> None:
        self.config = config
        self.out_dir = Path(config.out_dir)
        self.checkpoint_path = Path(config.checkpoint) if config.checkpoint else self.out_dir / "checkpoint.pt"
        self.eval_fn = eval_fn
        set_seed(config.seed)
        self.accelerator = _make_accelerator(config.amp)
        params = [p for p in model.parameters() if p.requires_grad] + list(criterion.parameters())
        self.optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        try:
            per_epoch = len(train_loader)  # type: ignore[arg-type]
        except TypeError:
            per_epoch = config.max_iters or 1000
        total = config.epochs * per_epoch
        if config.max_iters:
            total = min(total, config.max_iters)
        self.total_iters = max(total, 1)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(min(config.warmup_iters, self.total_iters // 4), self.total_iters))
        self.start_epoch, self.iteration = 0, 0
        self.history: dict[str, list] = {"iter": [], "loss": [], "parts": [], "eval": []}
        self.raw_model, self.criterion = model, criterion
        if config.resume:
            self._resume(config.resume)
        if self.accelerator is not None:
            self.model, self.criterion, self.optimizer, self.train_loader = self.accelerator.prepare(
                model, criterion, self.optimizer, train_loader)
            self.device = self.accelerator.device
        else:
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            self.model, self.train_loader = model.to(self.device), train_loader
            self.criterion = criterion.to(self.device)

    @property
    def is_main(self) -> bool:
        return self.accelerator is None or self.accelerator.is_main_process

    def _resume(self, path: str) -> None:
        state = load_checkpoint(path)
        self.raw_model.load_state_dict(state["model"])
        if "criterion" in state:
            self.criterion.load_state_dict(state["criterion"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        self.start_epoch = int(state.get("epoch", 0))
        self.iteration = int(state.get("iteration", 0))
        self.history = state.get("history") or self.history

    def _unwrapped(self) -> ReIDModel:
        return self.accelerator.unwrap_model(self.model) if self.accelerator is not None else self.model

    def save(self, epoch: int) -> Path | None:
        if not self.is_main:
            return None
        crit = self.accelerator.unwrap_model(self.criterion) if self.accelerator is not None else self.criterion
        return save_checkpoint(self.checkpoint_path, self._unwrapped(), self.optimizer, self.scheduler, crit, epoch,
                               self.iteration, self.history, {"train_config": asdict(self.config)})

    def _evaluate(self, writer, epoch: int) -> dict | None:
        if self.eval_fn is None or not self.is_main:
            return None
        model = self._unwrapped()
        was_training = model.training
        model.eval()
        with torch.no_grad():
            result = self.eval_fn(model)
        model.train(was_training)
        entry = {"epoch": epoch, "iteration": self.iteration, **result}
        self.history["eval"].append(entry)
        if writer is not None:
            for k, v in result.items():
                if isinstance(v, (int, float)):
                    writer.add_scalar(f"eval/{k}", v, self.iteration)
        return entry

    def fit(self) -> dict:
        """Train; returns the history (per-iteration losses, evaluations, timing)."""
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        writer = None
        if cfg.tensorboard and self.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(self.out_dir / "tensorboard"))
            except ImportError as exc:  # tensorboard is optional: say so once, train anyway
                print(f"note: TensorBoard logging off ({exc})", flush=True)
        bar = None
        if cfg.progress and self.is_main:
            from tqdm import tqdm

            bar = tqdm(total=self.total_iters, initial=min(self.iteration, self.total_iters), desc="train",
                       unit="it", dynamic_ncols=True)
        t0 = time.perf_counter()
        epoch = self.start_epoch
        done = self.iteration >= self.total_iters
        try:
            while epoch < cfg.epochs and not done:
                self.model.train()
                sampler = getattr(self.train_loader, "batch_sampler", None)
                for obj in (sampler, getattr(sampler, "sampler", None), getattr(self.train_loader, "sampler", None)):
                    if obj is not None and hasattr(obj, "set_epoch"):
                        obj.set_epoch(epoch)  # PK samplers / DistributedSampler reshuffle per epoch
                for batch in self.train_loader:
                    images, pids, _ = unpack_batch(batch)
                    if self.accelerator is None:
                        images, pids = images.to(self.device, non_blocking=True), pids.to(self.device)
                    else:
                        pids = pids.to(self.device)
                    loss, parts = self._step(images, pids)
                    self.iteration += 1
                    if self.is_main:
                        self.history["iter"].append(self.iteration)
                        self.history["loss"].append(loss)
                        self.history["parts"].append(parts)
                        if writer is not None and self.iteration % max(cfg.log_every, 1) == 0:
                            writer.add_scalar("train/loss", loss, self.iteration)
                            for k, v in parts.items():
                                writer.add_scalar(f"train/{k}", v, self.iteration)
                            writer.add_scalar("train/lr", self.scheduler.get_last_lr()[0], self.iteration)
                        if bar is not None:
                            bar.update(1)
                            bar.set_postfix(epoch=epoch, loss=f"{loss:.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
                    if self.iteration >= self.total_iters:
                        done = True
                        break
                epoch += 1
                if cfg.eval_every and epoch % cfg.eval_every == 0 and not done:
                    self._evaluate(writer, epoch)
                self.save(epoch)
            self.history["train_seconds"] = self.history.get("train_seconds", 0.0) + time.perf_counter() - t0
            final = self._evaluate(writer, epoch)
            if final is not None and bar is not None:
                bar.write("eval: " + json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                                 for k, v in final.items()}))
            self.save(epoch)
            if self.is_main:
                try:
                    plot_history(self.history, self.out_dir / "loss_curve.png")
                except ImportError as exc:
                    print(f"note: no loss curve PNG ({exc})", flush=True)
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
        return self.history

    def _step(self, images: torch.Tensor, pids: torch.Tensor) -> tuple[float, dict[str, float]]:
        self.optimizer.zero_grad(set_to_none=True)
        if self.accelerator is not None:
            with self.accelerator.autocast():
                logits, feats = self.model(images)
                loss, parts = self.criterion(logits, feats, pids)
            self.accelerator.backward(loss)
        else:
            logits, feats = self.model(images)
            loss, parts = self.criterion(logits, feats, pids)
            loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach()), parts


def plot_history(history: dict, path: str | os.PathLike) -> Path | None:
    """Loss curves (total and parts, smoothed) and evaluation points, as a PNG."""
    if not history.get("loss"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def smooth(v: list[float]) -> np.ndarray:
        v = np.asarray(v, np.float64)
        k = max(1, min(len(v) // 20, 50))
        return np.convolve(v, np.ones(k) / k, mode="valid") if len(v) >= k else v

    its = np.asarray(history["iter"])
    evals = history.get("eval") or []
    fig, axes = plt.subplots(1, 2 if evals else 1, figsize=(11 if evals else 6, 4), squeeze=False)
    ax = axes[0, 0]
    loss = smooth(history["loss"])
    ax.plot(its[len(its) - len(loss):], loss, label="total")
    names = sorted({k for p in history["parts"] for k in p})
    for name in names:
        vals = smooth([p.get(name, np.nan) for p in history["parts"]])
        ax.plot(its[len(its) - len(vals):], vals, label=name, alpha=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if evals:
        ax2 = axes[0, 1]
        for key in ("rank1", "mAP", "rank1_rerank", "mAP_rerank"):
            pts = [(e["iteration"], e[key]) for e in evals if isinstance(e.get(key), (int, float))]
            if pts:
                ax2.plot(*zip(*pts), marker="o", label=key)
        ax2.set_xlabel("iteration")
        ax2.set_ylim(0, 1)
        ax2.legend()
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
