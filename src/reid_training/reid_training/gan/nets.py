"""Generators, discriminators and the VAE-GAN encoder for person crops.

One DCGAN-style layout serves all three GAN kinds, so a comparison between them changes the
objective, not the architecture. Person crops are 2:1 (height:width): the networks start or end
at a 4x2 map and double per stage, so 128x64 has five stages and 256x128 six.

Options the original project cites for stability: spectral normalisation (Miyato et al. 2018)
and a self-attention block (Zhang et al. 2018, SAGAN) at one mid resolution.
"""
from __future__ import annotations

import math
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

SUPPORTED_SIZES = ((64, 32), (128, 64), (256, 128))


def check_image_size(image_size: tuple[int, int]) -> int:
    """Number of x2 stages between the 4x2 base map and ``image_size`` (H, W); raises on odd sizes."""
    h, w = int(image_size[0]), int(image_size[1])
    if (h, w) not in SUPPORTED_SIZES:
        raise ValueError(f"image_size {image_size!r} unsupported: use one of {SUPPORTED_SIZES} (H, W)")
    return int(round(math.log2(h // 4)))


def _maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    return _sn(module) if enabled else module


def _channels(base: int, n_stages: int, stage: int, cap: int = 8) -> int:
    """Width at ``stage`` (0 = 4x2 map): ``base * 2**k`` shrinking towards the image, capped at ``cap*base``
    so ``--ngf 256`` at 256x128 stays a few thousand channels rather than 8k."""
    return base * min(2 ** (n_stages - 1 - stage), cap)


class SelfAttention(nn.Module):
    """SAGAN self-attention: every position attends to all others, so a generator can keep
    head/torso/legs coherent across the crop. ``gamma`` starts at 0: the block begins as identity."""

    def __init__(self, channels: int, use_sn: bool = False) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"SelfAttention needs >= 8 channels, got {channels}")
        inner = max(channels // 8, 1)
        self.query = _maybe_sn(nn.Conv2d(channels, inner, 1, bias=False), use_sn)
        self.key = _maybe_sn(nn.Conv2d(channels, inner, 1, bias=False), use_sn)
        self.value = _maybe_sn(nn.Conv2d(channels, channels // 2, 1, bias=False), use_sn)
        self.out = _maybe_sn(nn.Conv2d(channels // 2, channels, 1, bias=False), use_sn)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, HW)
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, HW, HW)
        v = self.value(x).flatten(2)  # (B, C/2, HW)
        o = torch.bmm(v, attn.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.out(o)


class Generator(nn.Module):
    """z (B, nz) -> image (B, 3, H, W) in [-1, 1]. Transposed-conv stages with BatchNorm + ReLU
    (DCGAN); also the VAE-GAN decoder."""

    def __init__(self, nz: int = 128, ngf: int = 64, image_size: tuple[int, int] = (128, 64),
                 self_attention: bool = False, spectral_norm: bool = False, attn_height: int = 32) -> None:
        super().__init__()
        n = check_image_size(image_size)
        self.nz, self.image_size = int(nz), (int(image_size[0]), int(image_size[1]))
        c0 = _channels(ngf, n, 0)
        self.project = _maybe_sn(nn.Linear(nz, c0 * 4 * 2), spectral_norm)
        self.c0 = c0
        layers: list[nn.Module] = [nn.BatchNorm2d(c0), nn.ReLU(inplace=True)]
        height = 4
        for stage in range(1, n):
            cin, cout = _channels(ngf, n, stage - 1), _channels(ngf, n, stage)
            layers += [_maybe_sn(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), spectral_norm),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            height *= 2
            if self_attention and height == attn_height:
                layers.append(SelfAttention(cout, spectral_norm))
        layers += [_maybe_sn(nn.ConvTranspose2d(_channels(ngf, n, n - 1), 3, 4, 2, 1), spectral_norm), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"Generator expects z of shape (B, {self.nz}), got {tuple(z.shape)}")
        x = self.project(z).view(z.shape[0], self.c0, 4, 2)
        return self.body(x)


class _DownTrunk(nn.Module):
    """Stride-2 conv stages from the image down to a 4x2 map; shared by D, the critic and the encoder."""

    def __init__(self, nd: int, image_size: tuple[int, int], norm: str, spectral_norm: bool,
                 self_attention: bool, attn_height: int) -> None:
        super().__init__()
        n = check_image_size(image_size)
        stages: list[nn.Module] = []
        cin, height = 3, int(image_size[0])
        for stage in range(n):
            cout = nd * min(2 ** stage, 8)
            block: list[nn.Module] = [_maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=(norm == "none" or stage == 0)),
                                                spectral_norm)]
            if stage > 0:
                block += _norm_layer(norm, cout)
            block.append(nn.LeakyReLU(0.2, inplace=True))
            height //= 2
            if self_attention and height == attn_height:
                block.append(SelfAttention(cout, spectral_norm))
            stages.append(nn.Sequential(*block))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.out_channels = cin
        self.n = n

    def forward(self, x: torch.Tensor, feature_stage: int) -> tuple[torch.Tensor, torch.Tensor]:
        feat = x
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == feature_stage:
                feat = x
        return x, feat


def _norm_layer(norm: str, channels: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "instance":
        # WGAN-GP penalises per-sample gradients, which BatchNorm couples across the batch.
        return [nn.InstanceNorm2d(channels, affine=True)]
    if norm == "none":
        return []
    raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {norm!r}")


class Discriminator(nn.Module):
    """Image -> one logit (or critic score). ``forward(x, return_features=True)`` also returns an
    intermediate feature map: the VAE-GAN reconstructs in this space instead of pixels."""

    def __init__(self, ndf: int = 64, image_size: tuple[int, int] = (128, 64), norm: str = "batch",
                 spectral_norm: bool = False, self_attention: bool = False, attn_height: int = 16,
                 feature_stage: int | None = None) -> None:
        super().__init__()
        self.trunk = _DownTrunk(ndf, image_size, norm, spectral_norm, self_attention, attn_height)
        # Default feature layer: the 3rd-to-last stage (16x8 at 128x64): mid-level parts, not pixels.
        self.feature_stage = self.trunk.n - 3 if feature_stage is None else int(feature_stage)
        self.head = _maybe_sn(nn.Conv2d(self.trunk.out_channels, 1, (4, 2)), spectral_norm)
        _init_weights(self)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        h, feat = self.trunk(x, self.feature_stage)
        logit = self.head(h).flatten(1).squeeze(1)
        return (logit, feat) if return_features else logit


class Encoder(nn.Module):
    """VAE-GAN encoder: image -> (mu, logvar) of q(z|x)."""

    def __init__(self, nz: int = 128, nef: int = 64, image_size: tuple[int, int] = (128, 64)) -> None:
        super().__init__()
        self.trunk = _DownTrunk(nef, image_size, "batch", False, False, 0)
        flat = self.trunk.out_channels * 4 * 2
        self.mu = nn.Linear(flat, nz)
        self.logvar = nn.Linear(flat, nz)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.trunk(x, -1)
        h = h.flatten(1)
        # Clamp: an early exploding logvar makes exp() overflow to inf and the KL term NaN.
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def _init_weights(module: nn.Module) -> None:
    """DCGAN initialisation N(0, 0.02). Under spectral norm the raw weight lives in
    ``parametrizations.weight.original``; that is the tensor to initialise."""

    def init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            params = getattr(m, "parametrizations", None)
            target = params.weight.original if params is not None and hasattr(params, "weight") else m.weight
            nn.init.normal_(target, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    module.apply(init)
