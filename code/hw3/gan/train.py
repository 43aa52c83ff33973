"""Training the GAN (Goodfellow et al. 2014, Algorithm 1, with the non-saturating generator loss).

D returns logits; `BCEWithLogitsLoss(l, t) = BCE(sigmoid(l), t)` is computed as
`max(l, 0) - l t + log(1 + exp(-|l|))`, which never takes the log of a rounded 0 or 1.

Each iteration, as in pytorch/examples `dcgan/main.py`:
  (1) update D: maximize log D(x) + log(1 - D(G(z)))   (BCE with targets 1 (or 0.9 when smoothed) and 0)
  (2) update G: maximize log D(G(z))                    (the non-saturating loss: BCE with target 1)

Data stay in memory as one tensor and are indexed with `randperm` (no DataLoader): the spec model
is so small that per-batch Python overhead, not arithmetic, sets the speed. At the end the run is
scored by the judge (`judge`, `metrics`).
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F
from torch import nn

from .. import data, runs, utils
from . import judge, metrics
from .models import GANConfig, build_models, to_unit


def training_images(config: GANConfig, device) -> torch.Tensor:
    """MNIST training digits as (N, 1, 28, 28) in [-1, 1] on `device`."""
    X, _ = data.mnist_float(True)
    if config.train_subset:
        X = X[: config.train_subset]
    return (X * 2 - 1).to(device)


def make_optimizer(module: nn.Module, config: GANConfig, device: torch.device, lr: float | None = None):
    # the fused kernel updates every parameter in one call: fewer tiny ops per step on CPU and GPU
    fused = device.type in ("cpu", "cuda")
    return torch.optim.Adam(module.parameters(), lr=lr or config.lr, betas=tuple(config.betas), fused=fused)


def discriminator_step(D, opt_d, x_real: torch.Tensor, x_fake: torch.Tensor, real_label: float = 1.0,
                       loss_kind: str = "bce"):
    """(1) update D: real -> real_label, fake -> 0. Returns the loss and the logits (2b,) [real; fake].

    One forward pass over both halves (D has no BatchNorm); the loss is the sum of the two halves'
    means, exactly as with two separate BCE terms. The hinge loss (Lim & Ye 2017) is
    mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    b = len(x_real)
    logits = D(torch.cat([x_real, x_fake.detach()]))  # (2b,)
    if loss_kind == "hinge":
        loss = F.relu(1 - logits[:b]).mean() + F.relu(1 + logits[b:]).mean()
    else:
        target = torch.cat([torch.full((b,), real_label, device=logits.device), torch.zeros(b, device=logits.device)])
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / b
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return loss.detach(), logits.detach()


def generator_step(D, opt_g, x_fake: torch.Tensor, loss_kind: str = "bce") -> torch.Tensor:
    """(2) update G through the just-updated D: the non-saturating loss -log D(G(z)) (hinge: -D(G(z)))."""
    logits = D(x_fake)  # (b,)
    if loss_kind == "hinge":
        loss = -logits.mean()
    else:
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    opt_g.zero_grad(set_to_none=True)
    loss.backward()  # D's gradients from this pass are discarded by the next zero_grad of opt_d
    opt_g.step()
    return loss.detach()


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, decay: float) -> None:
    """G_ema <- decay G_ema + (1 - decay) G for the weights; BatchNorm statistics are copied."""
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1 - decay)
    for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
        b_ema.copy_(b)


def train_epoch(G, D, opt_g, opt_d, X: torch.Tensor, config: GANConfig, epoch: int = 0,
                G_ema: nn.Module | None = None) -> dict:
    """One pass over X in random order: (1) update D on real and fake, (2) update G (and its average)."""
    device = X.device
    n, B = len(X), config.batch_size
    # running sums on the device (no per-step sync): D loss, G loss, D(x), D(G(z)), D right on real, on fake
    sums = torch.zeros(6, device=device)
    perm = torch.randperm(n, device=device)
    bar = utils.progress(range(0, n, B), desc=f"gan epoch {epoch}", unit="it")
    for step, i in enumerate(bar):
        x_real = X[perm[i : i + B]]  # (b, 1, 28, 28)
        b = len(x_real)
        z = torch.randn(b, config.latent_dim, device=device)  # (b, latent)
        x_fake = G(z)  # (b, 1, 28, 28)
        loss_d, logits = discriminator_step(D, opt_d, x_real, x_fake, config.real_label, config.loss)
        loss_g = generator_step(D, opt_g, x_fake, config.loss)
        if G_ema is not None:
            update_ema(G_ema, G, config.ema)
        with torch.no_grad():
            real_l, fake_l = logits[:b], logits[b:]
            sums += torch.stack([loss_d * b, loss_g * b, torch.sigmoid(real_l).sum(), torch.sigmoid(fake_l).sum(),
                                 (real_l > 0).sum(), (fake_l < 0).sum()])
        if step % 100 == 0 and not bar.disable:
            bar.set_postfix(loss_d=f"{loss_d.item():.3f}", loss_g=f"{loss_g.item():.3f}")
    s = (sums / n).tolist()
    return {"loss_d": s[0], "loss_g": s[1], "d_real": s[2], "d_fake": s[3], "acc_real": s[4], "acc_fake": s[5]}


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Images in [0, 1], (N, 1, 28, 28) on the CPU, from latent codes z (N, latent); G in eval mode."""
    was_training = G.training
    G.eval()
    out = torch.cat([to_unit(G(z[i : i + batch_size])).cpu() for i in range(0, len(z), batch_size)])
    G.train(was_training)
    return out


def noise(n: int, latent_dim: int, seed: int, device="cpu") -> torch.Tensor:
    """Latent codes from their own seeded generator, so they never disturb (or depend on) training's RNG."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=g).to(device)  # (n, latent)


@runs.trainer(GANConfig)
def train_gan(config: GANConfig, run: runs.RunWriter, device: torch.device) -> None:
    with utils.cpu_threads(training_threads(config, device)):
        _train_gan(config, run, device)


def training_threads(config: GANConfig, device: torch.device) -> int | None:
    """CPU threads for training (None: torch's default). The MLP's matrices (and the quick profile's
    batches) are too small to split across threads: one thread beats two (benchmarks/bench_gan.py on a
    shared 2-core machine: ~320 it/s against 12-280 it/s)."""
    return 1 if device.type == "cpu" and (config.arch == "mlp" or utils.quick()) else None


def _train_gan(config: GANConfig, run: runs.RunWriter, device: torch.device) -> None:
    X = training_images(config, device)
    G, D = (m.to(device) for m in build_models(config))
    opt_g, opt_d = make_optimizer(G, config, device), make_optimizer(D, config, device, config.lr_d or None)
    G_ema = copy.deepcopy(G).requires_grad_(False) if config.ema else None
    fixed_z = noise(config.num_grid, config.latent_dim, config.seed + 1000, device)
    grids: dict[str, torch.Tensor] = {}
    start = 1
    if ck := run.load_checkpoint():
        G.load_state_dict(ck["generator"])
        D.load_state_dict(ck["discriminator"])
        if G_ema is not None:
            G_ema.load_state_dict(ck["generator_ema"])
        opt_g.load_state_dict(ck["opt_g"])
        opt_d.load_state_dict(ck["opt_d"])
        grids = dict(ck["grids"])
        start = ck["epoch"] + 1

    keep = set(config.progress_epochs())
    curve = ValidationCurve(config, device) if config.val_every and config.judge else None
    for epoch in range(start, config.num_epochs + 1):
        t0 = time.perf_counter()
        stats = train_epoch(G, D, opt_g, opt_d, X, config, epoch, G_ema)
        runs.check_finite(epoch, loss_d=stats["loss_d"], loss_g=stats["loss_g"])
        sampler = G_ema if G_ema is not None else G  # what the run's samples come from
        if curve and (epoch % config.val_every == 0 or epoch == config.num_epochs):
            stats["val_fid"] = curve(sampler)
        run.log_epoch(epoch, **stats, time_s=time.perf_counter() - t0)
        if epoch in keep:
            grids[f"epoch_{epoch}"] = generate(sampler, fixed_z)  # (num_grid, 1, 28, 28)
        extra = {"generator_ema": G_ema.state_dict()} if G_ema is not None else {}
        run.save_checkpoint(epoch, generator=G.state_dict(), discriminator=D.state_dict(),
                            opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(), grids=grids, **extra)

    sampler = G_ema if G_ema is not None else G
    run.save_weights("generator", sampler)  # with `ema`, the averaged weights: what is sampled and scored
    run.save_weights("discriminator", D)
    run.save_tensors("progress", {"noise": fixed_z, **grids})
    if config.judge:
        run.metrics.update(evaluate(sampler, config, device))
        run.save_tensors("nearest", nearest_training(sampler, config, device))


class ValidationCurve:
    """The sampler's FID against the validation reference during training (`val_every`): the same latent
    codes and reference as the final `evaluate`, so the last point equals the run's validation FID. It reads
    no training RNG and leaves G's BatchNorm statistics alone: training is the same with it or without."""

    def __init__(self, config: GANConfig, device):
        self.judge = judge.load_judge(config.judge, device)
        self.ref = metrics.reference(self.judge, config.num_eval, split="val")
        self.z = noise(config.num_eval, config.latent_dim, config.seed + 2000, device)

    def __call__(self, G: nn.Module) -> float:
        _, feats = metrics.predict(self.judge, generate(G, self.z))
        return metrics.frechet_distance(feats, self.ref.features)


NUM_NEAREST, NEAREST_SEED = 8, 5  # generated digits stored with their nearest training digits (the chapter's figure)


def evaluate(G: nn.Module, config: GANConfig, device) -> dict:
    """Judge metrics of `num_eval` generated digits against each reference: "val" (training digits, on which
    every choice between GANs is made) and "test" (scored for the record; chosen-on never). Plus the
    memorization check and the training-set size, so that the chapter needs no data to show them."""
    judge_cnn = judge.load_judge(config.judge, device)
    images = generate(G, noise(config.num_eval, config.latent_dim, config.seed + 2000, device))
    scores = {split: metrics.image_metrics(judge_cnn, images, metrics.reference(judge_cnn, config.num_eval, split=split))
              for split in metrics.SPLITS}
    num_nn = min(1000, config.num_eval)
    scores["nn_distance_median"] = metrics.nn_distance_median(images[:num_nn], device)
    scores["num_train"] = len(data.mnist_float(True)[0]) if not config.train_subset else config.train_subset
    return scores


def nearest_training(G: nn.Module, config: GANConfig, device, n: int = NUM_NEAREST,
                     seed: int = NEAREST_SEED) -> dict[str, torch.Tensor]:
    """n generated digits (latent codes from `seed`), their nearest training digits in pixel space and the
    distances: stored with the run, shown by the chapter without reading MNIST."""
    samples = generate(G, noise(n, config.latent_dim, seed, device))  # (n, 1, 28, 28)
    X_train, _ = data.mnist_float(True)
    dist, idx = metrics.nearest_neighbours(samples, X_train)
    return {"samples": samples, "neighbours": X_train[idx], "distances": dist, "index": idx}


def bce_saturation(logit: float = 20.0) -> dict:
    """Why the loss takes logits: D's loss on a fake it is sure is real (logit l, target 0), computed as
    Sigmoid + BCELoss and as BCEWithLogitsLoss in float32, with the gradient d loss / d l of each."""
    out = {}
    for name, fn in (("sigmoid_bce", lambda l, t: F.binary_cross_entropy(torch.sigmoid(l), t)),
                     ("with_logits", F.binary_cross_entropy_with_logits)):
        l = torch.tensor([logit], requires_grad=True)
        loss = fn(l, torch.zeros(1))
        loss.backward()
        out[name] = {"loss": loss.item(), "grad": l.grad.item()}
    return out
