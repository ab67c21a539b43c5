"""Adversarial objectives, gradient penalty and the VAE terms.

``d_loss``/``g_loss`` take raw discriminator outputs (logits or critic scores):
- ``ns``: non-saturating GAN (Goodfellow et al. 2014), softplus form so it is stable in fp16/bf16;
- ``hinge``: hinge loss (Lim & Ye 2017; SAGAN and SN-GAN use it);
- ``wgan``: Wasserstein critic loss; pair it with ``gradient_penalty`` (Gulrajani et al. 2017).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ADV_LOSSES = ("ns", "hinge", "wgan")


def _check(kind: str) -> None:
    if kind not in ADV_LOSSES:
        raise ValueError(f"adversarial loss must be one of {ADV_LOSSES}, got {kind!r}")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator/critic loss to minimise, given its outputs on real and fake batches."""
    _check(kind)
    real, fake = real.float(), fake.float()
    if kind == "ns":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return fake.mean() - real.mean()


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss to minimise, given the discriminator outputs on its samples."""
    _check(kind)
    fake = fake.float()
    if kind == "ns":
        return F.softplus(-fake).mean()
    return -fake.mean()  # hinge and wgan generators both maximise the critic score


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, target: float = 1.0) -> torch.Tensor:
    """WGAN-GP term E[(||grad_x critic(x_hat)||_2 - target)^2] at random interpolates x_hat of
    real and fake. Computed in float32 with autocast off: squared gradient norms underflow in half."""
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ")
    device_type = real.device.type
    with torch.autocast(device_type=device_type, enabled=False):
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator,
                           device=real.device, dtype=torch.float32)
        x_hat = (alpha * real.detach().float() + (1.0 - alpha) * fake.detach().float()).requires_grad_(True)
        score = critic(x_hat)
        if isinstance(score, tuple):
            score = score[0]
        (grad,) = torch.autograd.grad(score.float().sum(), x_hat, create_graph=True)
        norm = grad.flatten(1).norm(2, dim=1)
        return ((norm - target) ** 2).mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return (-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def feature_reconstruction(feat_real: torch.Tensor, feat_recon: torch.Tensor) -> torch.Tensor:
    """VAE-GAN 'learned similarity' (Larsen et al. 2016): squared error between discriminator
    features of x and of its reconstruction, instead of pixel error (which blurs)."""
    return F.mse_loss(feat_recon.float(), feat_real.detach().float(), reduction="mean")
