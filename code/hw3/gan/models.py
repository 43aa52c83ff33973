"""The GAN's config and networks: the MLP GAN the assignment specifies and a small DCGAN variant.

Generative adversarial networks: Goodfellow et al. (2014), "Generative Adversarial Nets".

Specified model: G: z (100) -> 128 -> 784, ReLU then Tanh; D: 784 -> 128 -> 1, LeakyReLU(0.2) then
Sigmoid. D returns the logit; its sigmoid is folded into the loss (see `train`).

DCGAN variant: Radford, Metz & Chintala (2016), "Unsupervised Representation Learning with Deep
Convolutional GANs": strided (transposed) convolutions, BatchNorm in G, LeakyReLU in D.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .. import runs

IMAGE_SHAPE = (1, 28, 28)


@dataclass
class GANConfig(runs.RunConfig):
    experiment: ClassVar[str] = "gan"
    name: str = "spec"
    seed: int = 0
    arch: str = "mlp"  # "mlp" (the spec) or "dcgan" (small convolutional G and D)
    latent_dim: int = 100
    hidden_size: int = 128  # MLP: hidden units of G and D; DCGAN: channels at 7x7 (half at 14x14)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 64
    num_epochs: int = 50
    real_label: float = 1.0  # D's target for real images; 0.9 = one-sided label smoothing
    lr_d: float = 0.0  # D's learning rate when it differs from G's (two time-scale rule); 0 = lr
    ema: float = 0.0  # decay of an exponential moving average of G's weights, sampled instead of G; 0 = off
    loss: str = "bce"  # "bce": the non-saturating GAN loss; "hinge": the hinge loss (Lim & Ye 2017)
    spectral_norm: bool = False  # spectral normalization of D's layers (Miyato et al. 2018)
    train_subset: int = 0  # 0 = all 60,000 training digits
    num_grid: int = 64  # size of the fixed noise batch whose images are kept as progress grids
    num_eval: int = 10_000  # generated digits scored by the judge (against as many real digits)
    judge: str = "judge"  # judge run used for the metrics; "" skips evaluation
    val_every: int = 0  # log the sampler's validation FID every k epochs (and at the last); 0 = off. Logging only

    def quick(self):
        # DCGANs keep at most 32 channels: at full width their quick runs dominate the document tests
        hidden = min(self.hidden_size, 32) if self.arch == "dcgan" else self.hidden_size
        return dataclasses.replace(self, num_epochs=1, train_subset=2_000, num_eval=500, hidden_size=hidden)

    def progress_epochs(self) -> list[int]:
        """Epochs whose fixed-noise grid is kept: 1, 5, 10, ..., and the last."""
        return sorted({1, *range(5, self.num_epochs + 1, 5), self.num_epochs})


class MLPGenerator(nn.Module):
    """z (B, latent) -> Linear -> ReLU -> Linear -> Tanh -> image (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, hidden_size: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_size), nn.ReLU(),
                                 nn.Linear(hidden_size, 784), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *IMAGE_SHAPE)  # (B, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """image (B, 1, 28, 28) -> Linear -> LeakyReLU(0.2) -> Linear -> logit (B,); sigmoid lives in the loss."""

    def __init__(self, hidden_size: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden_size), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden_size, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # (B,)


class DCGANGenerator(nn.Module):
    """DCGAN-style (Radford et al. 2016): project to (C, 7, 7), two stride-2 transposed convs, BatchNorm + ReLU."""

    def __init__(self, latent_dim: int = 100, channels: int = 64):
        super().__init__()
        c = channels
        self.project = nn.Sequential(nn.Linear(latent_dim, c * 7 * 7, bias=False), nn.BatchNorm1d(c * 7 * 7),
                                     nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(),
            nn.ConvTranspose2d(c // 2, 1, 4, stride=2, padding=1), nn.Tanh(),
        )
        self.channels = c

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.channels, 7, 7)  # (B, C, 7, 7)
        return self.net(h)  # (B, C/2, 14, 14) -> (B, 1, 28, 28)


class DCGANDiscriminator(nn.Module):
    """Two stride-2 convs with LeakyReLU(0.2) and a linear logit. No BatchNorm, so real and fake may
    share one forward pass."""

    def __init__(self, channels: int = 64):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c // 2, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, C/2, 14, 14)
            nn.Conv2d(c // 2, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, C, 7, 7)
            nn.Flatten(), nn.Linear(c * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # (B,)


def build_models(config: GANConfig) -> tuple[nn.Module, nn.Module]:
    if config.arch == "mlp":
        G, D = MLPGenerator(config.latent_dim, config.hidden_size), MLPDiscriminator(config.hidden_size)
    elif config.arch == "dcgan":
        G, D = DCGANGenerator(config.latent_dim, config.hidden_size), DCGANDiscriminator(config.hidden_size)
    else:
        raise ValueError(f"unknown arch {config.arch!r} (expected 'mlp' or 'dcgan')")
    if config.spectral_norm:
        for name, layer in list(D.net.named_children()):
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                D.net.register_module(name, nn.utils.parametrizations.spectral_norm(layer))
    return G, D


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> [0, 1]."""
    return (images + 1).div(2).clamp(0, 1)
