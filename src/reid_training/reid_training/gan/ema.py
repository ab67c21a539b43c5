"""Exponential moving average of generator weights (``--ema``).

Averaging G over the last few thousand steps smooths the oscillation of adversarial training;
samples from the averaged copy are usually cleaner (Karras et al. 2018, Yazici et al. 2019).
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow``, a frozen copy of ``model`` whose parameters track an EMA of the live ones.

    Buffers (BatchNorm running stats, spectral-norm power-iteration vectors) are copied, not
    averaged: they are statistics of the current weights. ``warmup`` lowers the decay early on
    (decay_t = min(decay, (1 + t) / (10 + t))) so the shadow does not sit on the random init.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.steps = 0
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        live = dict(model.named_parameters())
        for name, p in self.shadow.named_parameters():
            p.lerp_(live[name].detach().to(p.dtype), 1.0 - d)
        live_buffers = dict(model.named_buffers())
        for name, b in self.shadow.named_buffers():
            b.copy_(live_buffers[name])
        self.steps += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "warmup": self.warmup, "steps": self.steps, "shadow": self.shadow.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay = float(state["decay"])
        self.warmup = bool(state["warmup"])
        self.steps = int(state["steps"])
        self.shadow.load_state_dict(state["shadow"])
