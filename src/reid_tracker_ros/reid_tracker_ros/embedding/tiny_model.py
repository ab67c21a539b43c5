"""A tiny, UNTRAINED ReID-shaped CNN for tests and the demo until a trained model ships.

Its features carry colour/texture statistics from random convolutions, nothing learned: they
let the whole pipeline (crops -> network -> tracker) run end to end and be tested, but they
are no re-identification model. Export is deterministic for a given seed and takes ~1-3 s.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from .metadata import IMAGENET_MEAN, IMAGENET_STD, ModelMetadata, write_metadata

TINY_MODEL_NAME = "tiny-untrained"
ONNX_OPSET = 17


def build_tiny_model(seed: int = 0, feature_dim: int = 128):
    """Four stride-2 conv blocks, global average pooling and a linear head to ``feature_dim``.

    Weights are drawn from ``seed`` without touching the global torch RNG state.
    """
    import torch
    from torch import nn

    class TinyReIDNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (3, 16, 32, 64, 128)
            layers: list[nn.Module] = []
            for cin, cout in zip(chans[:-1], chans[1:]):
                layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
            self.features = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(chans[-1], feature_dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.flatten(self.pool(self.features(x)), 1))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = TinyReIDNet()
    return model.eval()


def export_tiny_model(out_path: str | os.PathLike, seed: int = 0, input_hw: tuple[int, int] = (256, 128),
                      feature_dim: int = 128) -> Path:
    """Export the tiny model and write ``<out_path>.json`` metadata; returns ``out_path``.

    ``.onnx``: ONNX (opset 17) with a dynamic batch axis named ``batch``;
    ``.pt``: TorchScript (traced), for the torch backend.
    """
    import torch

    out_path = Path(out_path).expanduser()
    suffix = out_path.suffix.lower()
    if suffix not in (".onnx", ".pt"):
        raise ValueError(f"tiny model path must end in .onnx or .pt, got {out_path}")
    h, w = (int(v) for v in input_hw)
    if h < 16 or w < 16:
        raise ValueError(f"input_hw must be at least (16, 16), got {input_hw!r}")
    if int(feature_dim) <= 0:
        raise ValueError(f"feature_dim must be positive, got {feature_dim!r}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = build_tiny_model(seed, int(feature_dim))
    example = torch.zeros(2, 3, h, w)
    if suffix == ".onnx":
        with warnings.catch_warnings():  # the legacy (non-dynamo) exporter warns it is legacy
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(out_path), dynamo=False, opset_version=ONNX_OPSET,
                              input_names=["input"], output_names=["features"],
                              dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}})
        fmt, opset = "onnx", ONNX_OPSET
    else:
        with torch.no_grad(), warnings.catch_warnings():  # torch 2.9+ flags TorchScript as deprecated
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            traced = torch.jit.trace(model, example)
        traced.save(str(out_path))
        fmt, opset = "torchscript", None
    write_metadata(out_path, ModelMetadata(
        name=TINY_MODEL_NAME, input_height=h, input_width=w, feature_dim=int(feature_dim), format=fmt,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, opset=opset, trained=False,
        description="UNTRAINED random-weight CNN for tests and demos; not a re-identification model",
        extra={"seed": int(seed)}))
    return out_path
