"""Using a stored GAN: load its generator, sample, interpolate in latent space (lerp and slerp,
Shoemake 1985; White 2016 for GAN latents), read its stored nearest training digits, write samples to a file."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import runs, utils
from .models import IMAGE_SHAPE, GANConfig, build_models
from .train import generate, noise


def load_generator(run: runs.Run | str, device="cpu") -> nn.Module:
    """The generator of a stored run (a Run or a run name under results/gan/), in eval mode."""
    if isinstance(run, str):
        run = runs.load_run(GANConfig.experiment, run)
    G, _ = build_models(run.config)
    return run.load_weights("generator", G, device=device)


def sample(G: nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """n images (n, 1, 28, 28) in [0, 1] from a seeded latent batch."""
    device = next(G.parameters()).device
    latent_dim = _latent_dim(G)
    return generate(G, noise(n, latent_dim, seed, device))


def _latent_dim(G: nn.Module) -> int:
    first = next(m for m in G.modules() if isinstance(m, nn.Linear))
    return first.in_features


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): z0, z1 (latent,), t (T,) -> (T, latent)."""
    omega = torch.arccos(torch.clamp(F.cosine_similarity(z0, z1, dim=0), -1.0, 1.0))
    if omega.abs() < 1e-6:  # (nearly) parallel: slerp degenerates to lerp
        return torch.lerp(z0[None], z1[None], t[:, None])
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega)[:, None] * z0 + torch.sin(t * omega)[:, None] * z1) / so


def midpoint_norm_ratio(num_pairs: int = 4, latent_dim: int = 100, seed: int = 0) -> float:
    """Mean norm of the straight-line midpoints of the pairs `interpolations` uses, over their endpoints' mean
    norm. Gaussian codes concentrate near the sphere of radius sqrt(latent_dim); lerp cuts inside it."""
    z = noise(2 * num_pairs, latent_dim, seed).view(num_pairs, 2, -1)  # (P, 2, latent)
    return (z.mean(1).norm(dim=1).mean() / z.norm(dim=2).mean()).item()


def interpolations(G: nn.Module, num_pairs: int = 4, steps: int = 10, seed: int = 0) -> dict[str, torch.Tensor]:
    """Images along linear and spherical paths between seeded latent pairs: each (pairs, steps, 1, 28, 28)."""
    device = next(G.parameters()).device
    z = noise(2 * num_pairs, _latent_dim(G), seed, device).view(num_pairs, 2, -1)  # (P, 2, latent)
    t = torch.linspace(0, 1, steps, device=device)  # (T,)
    lin = torch.stack([torch.lerp(p[0][None], p[1][None], t[:, None]) for p in z])  # (P, T, latent)
    sph = torch.stack([slerp(p[0], p[1], t) for p in z])  # (P, T, latent)
    out = {}
    for name, codes in (("linear", lin), ("spherical", sph)):
        out[name] = generate(G, codes.flatten(0, 1)).view(num_pairs, steps, *IMAGE_SHAPE)
    return out


def stored_nearest(run: runs.Run) -> dict[str, torch.Tensor]:
    """The run's generated digits, their nearest training digits (pixel space) and the distances, as stored
    at training time (`train.nearest_training`): showing them needs no data set."""
    return run.load_tensors("nearest")


def sample_to_file(run_name: str, n: int, out: Path, seed: int = 0, png: Path | None = None,
                   device="cpu") -> torch.Tensor:
    """Write n samples of a stored run as a float tensor (n, 1, 28, 28) in [0, 1] (`torch.save`), optionally a PNG grid."""
    G = load_generator(run_name, device=utils.get_device(device))
    images = sample(G, n, seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(images, out)
    if png:
        from torchvision.utils import save_image

        Path(png).parent.mkdir(parents=True, exist_ok=True)
        save_image(images, png, nrow=math.ceil(math.sqrt(n)), padding=2, pad_value=1.0)
    return images
