"""GANs for synthetic person crops (DCGAN, VAE-GAN, WGAN-GP) and their use in ReID training.

- ``nets``: generator/discriminator/encoder for 64x32, 128x64, 256x128 crops; spectral norm and
  self-attention options.
- ``trainer``: ``GANConfig``, ``GANTrainer`` (checkpoint/resume, EMA, TTUR, AMP/accelerate,
  sample grids, TensorBoard, per-epoch Frechet ReID Distance), ``load_generator``.
- ``frechet``: Frechet distance, FRD on our ReID model's features, optional Inception FID.
- ``generate``: N samples into a Market-1501-layout folder.
- ``lsro``: LSRO label construction and ReID training with generated images.
"""
from .ema import EMA
from .frechet import FRD_NAME, frechet_distance, frechet_from_features, gaussian_stats, inception_fid
from .generate import GENERATED_PID, generate_images
from .losses import d_loss, g_loss, gradient_penalty, kl_divergence
from .nets import Discriminator, Encoder, Generator, SelfAttention
from .trainer import GAN_KINDS, GANConfig, GANTrainer, build_gan, load_generator, train_gan

__all__ = [
    "EMA", "FRD_NAME", "frechet_distance", "frechet_from_features", "gaussian_stats", "inception_fid",
    "GENERATED_PID", "generate_images", "d_loss", "g_loss", "gradient_penalty", "kl_divergence",
    "Discriminator", "Encoder", "Generator", "SelfAttention", "GAN_KINDS", "GANConfig", "GANTrainer",
    "build_gan", "load_generator", "train_gan",
]
