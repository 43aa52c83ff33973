"""Shared pieces of the theory experiments: MNIST as float tensors, deterministic splits, a minimal
training epoch and evaluation, parameter counting, and image transforms (shifts, affine jitter).

Everything works on in-memory tensors: the experiments are small enough that a `DataLoader` would
only add overhead on a CPU.
"""

from __future__ import annotations

import functools
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from .. import utils


def single_threaded(train_fn):
    """Run a training function `fn(config, run, device)` with one intra-op thread on the CPU.

    These models are small: their matrix products are too short for a second thread to help, and on
    shared cores the synchronisation between threads costs several times the work itself (measured:
    one thread trains the small CNNs about 3x faster than two while other jobs run). The thread count
    used is recorded in the run's metrics.
    """

    @functools.wraps(train_fn)
    def wrapper(config, run, device):
        if torch.device(device).type != "cpu":
            return train_fn(config, run, device)
        with utils.cpu_threads(1):
            result = train_fn(config, run, device)
            run.metrics["cpu_threads"] = 1
            return result

    return wrapper


def headline_first(metrics: dict, keys: list[str]) -> dict:
    """The same metrics with `keys` first (`hw3 runs` shows the first few as a run's headline)."""
    return {**{k: metrics[k] for k in keys if k in metrics}, **metrics}


def split(n: int, sizes: tuple[int, ...], seed: int) -> list[torch.Tensor]:
    """Disjoint random index sets of the given sizes drawn from range(n) (deterministic in `seed`)."""
    if sum(sizes) > n:
        raise ValueError(f"cannot draw {sum(sizes)} distinct indices from {n}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    out, start = [], 0
    for size in sizes:
        out.append(perm[start:start + size])
        start += size
    return out


def balanced_indices(y: torch.Tensor, per_class: int, seed: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """`per_class` random indices of every class in `y` (sorted by class), avoiding `exclude`."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.ones(len(y), dtype=torch.bool)
    if exclude is not None:
        allowed[exclude] = False
    picks = []
    for c in torch.unique(y):
        idx = torch.nonzero((y == c) & allowed).squeeze(1)
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks)


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def fit_epoch(model: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor, *,
              batch_size: int, generator: torch.Generator, loss_fn=F.cross_entropy, augment=None,
              device: torch.device | str = "cpu") -> tuple[float, float]:
    """One pass over (X, y) in shuffled mini-batches; returns (mean loss, accuracy) on the batches seen.

    `generator` draws only the batch order; `augment(X_b)` draws its randomness from its own generator,
    so a variant with augmentation sees the same batches as one without."""
    model.train()
    perm = torch.randperm(len(X), generator=generator)
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        idx = perm[start:start + batch_size]
        X_b, y_b = X[idx], y[idx]
        if augment is not None:
            X_b = augment(X_b)
        X_b, y_b = X_b.to(device), y_b.to(device)
        logits = model(X_b)  # (B, C)
        loss = loss_fn(logits, y_b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total_loss += loss.item() * len(idx)
        correct += (logits.argmax(1) == y_b).sum().item()
    return total_loss / len(X), correct / len(X)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 2000,
             device: torch.device | str = "cpu") -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on (X, y), in eval mode."""
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        X_b, y_b = X[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
        logits = model(X_b)  # (B, C)
        total_loss += F.cross_entropy(logits, y_b, reduction="sum").item()
        correct += (logits.argmax(1) == y_b).sum().item()
    return total_loss / len(X), correct / len(X)


# --- image transforms --------------------------------------------------------------------------------


def translate(X: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Shift images (N, C, H, W) by whole pixels, filling with zeros (the MNIST background)."""
    out = torch.zeros_like(X)
    H, W = X.shape[-2:]
    src_y, dst_y = slice(max(0, -dy), H - max(0, dy)), slice(max(0, dy), H - max(0, -dy))
    src_x, dst_x = slice(max(0, -dx), W - max(0, dx)), slice(max(0, dx), W - max(0, -dx))
    out[..., dst_y, dst_x] = X[..., src_y, src_x]
    return out


def random_affine(X: torch.Tensor, generator: torch.Generator, *, max_shift: float = 2.0,
                  max_degrees: float = 10.0, max_scale: float = 0.1) -> torch.Tensor:
    """Data augmentation: a random small rotation, scaling and translation per image (bilinear)."""
    N, _, H, W = X.shape
    u = torch.rand(N, 4, generator=generator) * 2 - 1  # (N, 4) in [-1, 1]
    angle = u[:, 0] * math.radians(max_degrees)
    scale = 1 + u[:, 1] * max_scale
    # affine_grid works in normalised coordinates, where the image spans [-1, 1]
    tx, ty = u[:, 2] * max_shift * 2 / W, u[:, 3] * max_shift * 2 / H
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(X, grid, align_corners=False, padding_mode="zeros")


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float) -> str:
    """3.2e-05 -> '3.2 × 10⁻⁵' (plain text with Unicode superscripts: inline output is not Markdown);
    numbers between 0.01 and 100 as they are."""
    if 0.01 <= abs(x) < 100:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def finish(fig):
    """Detach a finished figure from pyplot and return it, so that a notebook cell ending in a plot
    call shows it once (as the cell's value) rather than twice (value plus pyplot's automatic display)."""
    plt.close(fig)
    return fig


# --- colours of the current style (light or dark rendering, `hw3.plots.renderings`) -------------------


def palette() -> list[str]:
    """The current style's colour cycle: Okabe-Ito, with the dark rendering's lighter blue and grey."""
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def neutral() -> str:
    """A grey for reference lines (chance, a baseline, zero) that reads on the current background."""
    dark = plt.rcParams["axes.facecolor"] not in ("white", "w", "#ffffff", "#FFFFFF")
    return "#A0A0A0" if dark else "#767676"
