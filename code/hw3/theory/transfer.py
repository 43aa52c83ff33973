"""Essay 1, limits of transfer learning: a digit classifier trained on MNIST (the "source" domain) meets
a shifted "target" domain made from MNIST (elastic distortion, lower contrast, inverted intensities and
noise: a stand-in for a new imaging modality). With 100 labelled target images we compare a linear
probe on frozen features, fine-tuning with discriminative learning rates (Howard & Ruder 2018) and
training from scratch.

The elastic distortion follows Simard et al. (2003): a random displacement field, smoothed by a Gaussian
of width sigma and scaled by alpha pixels.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, plots, runs
from . import common

METHODS = ("source only", "linear probe", "fine-tune", "from scratch")
DOMAINS = ("near", "far")


@dataclass
class TransferConfig(runs.RunConfig):
    experiment: ClassVar[str] = "theory-transfer"
    name: str = "default"
    seed: int = 0
    source_train_size: int = 20_000  # MNIST training images for the source model
    source_epochs: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    target_per_class: int = 10  # 10 classes x 10 = 100 labelled target images
    source_test_size: int = 10_000  # clean MNIST test images
    target_test_size: int = 2_000  # shifted MNIST test images
    adapt_steps: int = 100  # full-batch Adam steps on the labelled target images
    adapt_lr: float = 3e-3  # for the new head (and every layer when training from scratch)
    probe_lr: float = 1e-2  # the linear probe's head (a convex problem, so a larger step is safe)
    body_lr_ratio: float = 0.3  # fine-tuning: pre-trained layers learn slower (discriminative rates)
    repeats: int = 3  # independent draws of the labelled target set
    eval_every: int = 25  # adaptation steps between target-test evaluations
    elastic_alpha: float = 34.0  # displacement scale in pixels (Simard et al. 2003)
    elastic_sigma: float = 4.0  # smoothing of the displacement field in pixels
    contrast: float = 0.5  # intensities are squeezed towards mid-grey by this factor
    noise_std: float = 0.1

    def quick(self):
        return dataclasses.replace(self, source_train_size=1_000, source_epochs=1, target_per_class=3,
                                   source_test_size=500, target_test_size=300, adapt_steps=10, repeats=1, eval_every=5)

    @property
    def target_labelled(self) -> int:
        return 10 * self.target_per_class


class DigitCNN(nn.Module):
    """Two conv blocks and a hidden layer (the transferable "body") plus a linear head."""

    def __init__(self, hidden_size: int = 64, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 14, 14)
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 7, 7)
            nn.Flatten(), nn.Linear(32 * 7 * 7, hidden_size), nn.ReLU(),  # (B, hidden)
        )
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, X):
        return self.head(self.body(X))  # (B, num_classes)


# --- the shifted domain ------------------------------------------------------------------------------


def gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x**2 / (2 * sigma**2))
    return k / k.sum()  # (2 * radius + 1,)


def elastic(X: torch.Tensor, alpha: float, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Elastic distortion of images (N, 1, H, W): a smoothed random displacement of alpha pixels."""
    N, _, H, W = X.shape
    field = torch.rand(N, 2, H, W, generator=generator) * 2 - 1  # (N, 2, H, W) raw displacements
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    # separable Gaussian blur of both displacement components
    field = F.conv2d(F.pad(field, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(2, 1, 1, -1), groups=2)
    field = F.conv2d(F.pad(field, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(2, 1, -1, 1), groups=2)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
    base = torch.stack([xs, ys], -1)  # (H, W, 2) in normalised (x, y) order
    shift = field.permute(0, 2, 3, 1) * alpha * torch.tensor([2 / (W - 1), 2 / (H - 1)])  # pixels -> normalised
    return F.grid_sample(X, base + shift, align_corners=True, padding_mode="zeros")  # (N, 1, H, W)


def shift_domain(X: torch.Tensor, config: TransferConfig, seed: int, domain: str = "far") -> torch.Tensor:
    """A target domain made from MNIST images.

    "near": elastic distortion only (new handwriting, same imaging). "far": elastic distortion,
    contrast squeezed towards grey, inverted intensities and noise (a new "modality").
    """
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, not {domain!r}")
    g = torch.Generator().manual_seed(seed)
    X = elastic(X, config.elastic_alpha, config.elastic_sigma, g)
    if domain == "far":
        X = 0.5 + config.contrast * (X - 0.5)  # lower contrast
        X = 1.0 - X  # inverted: dark strokes on a bright background
        X = X + config.noise_std * torch.randn(X.shape, generator=g)
    return X.clamp(0, 1)


# --- adaptation --------------------------------------------------------------------------------------


def adapt(source: DigitCNN, method: str, X: torch.Tensor, y: torch.Tensor, X_test: torch.Tensor,
          y_test: torch.Tensor, config: TransferConfig, device) -> tuple[list[float], int]:
    """Train a copy of the source model (or a fresh one) on the labelled target images with `method`.

    Every method gets a new, randomly initialised head (the target is treated as a new task) and the
    same number of full-batch Adam steps. Returns (target-test accuracy after every `eval_every` steps,
    starting at step 0; the number of trainable parameters).
    """
    if method == "from scratch":
        model = DigitCNN().to(device)
    else:
        model = copy.deepcopy(source).to(device)
        model.head.reset_parameters()
    X, y = X.to(device), y.to(device)
    if method == "linear probe":
        # the body is frozen, so its features are computed once and only the head is trained
        model.body.requires_grad_(False)
        with torch.no_grad():
            model.eval()
            X = model.body(X)  # (n, hidden)
            X_test = torch.cat([model.body(X_test[k:k + 2000].to(device)) for k in range(0, len(X_test), 2000)])
        trained = model.head
        groups = [{"params": model.head.parameters(), "lr": config.probe_lr}]
    elif method == "fine-tune":
        trained = model
        groups = [{"params": model.head.parameters(), "lr": config.adapt_lr},
                  {"params": model.body.parameters(), "lr": config.adapt_lr * config.body_lr_ratio}]
    elif method == "from scratch":
        trained = model
        groups = [{"params": model.parameters(), "lr": config.adapt_lr}]
    else:
        raise ValueError(f"unknown method {method!r}")
    opt = torch.optim.Adam(groups)
    curve = [common.evaluate(trained, X_test, y_test, device=device)[1]]
    for step in range(1, config.adapt_steps + 1):
        trained.train()
        loss = F.cross_entropy(trained(X), y)  # full batch: the whole labelled target set
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % config.eval_every == 0 or step == config.adapt_steps:
            curve.append(common.evaluate(trained, X_test, y_test, device=device)[1])
    return curve, common.count_params(model, trainable_only=True)


@runs.trainer(TransferConfig)
@common.single_threaded
def train_transfer(config: TransferConfig, run: runs.RunWriter, device) -> None:
    X_train, y_train = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    (src_idx,) = common.split(len(X_train), (config.source_train_size,), config.seed)
    (tgt_test_idx,) = common.split(len(X_test), (config.target_test_size,), config.seed + 1)
    X_src_test, y_src_test = X_test[:config.source_test_size], y_test[:config.source_test_size]
    y_tgt_test = y_test[tgt_test_idx]
    X_tgt_test = {d: shift_domain(X_test[tgt_test_idx], config, config.seed + 2, d) for d in DOMAINS}  # (T, 1, 28, 28)

    # (1) the source model, trained on clean MNIST
    model = DigitCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(config.seed)
    start = run.restore(model=model, opt=opt, generator=g)
    for epoch in range(start + 1, config.source_epochs + 1):
        train_loss, train_acc = common.fit_epoch(model, opt, X_train[src_idx], y_train[src_idx],
                                                 batch_size=config.batch_size, generator=g, device=device)
        runs.check_finite(epoch, loss=train_loss)
        _, src_acc = common.evaluate(model, X_src_test, y_src_test, device=device)
        tgt_acc = {f"{d}_test_acc": common.evaluate(model, X_tgt_test[d], y_tgt_test, device=device)[1]
                   for d in DOMAINS}
        run.log_epoch(epoch, train_loss=train_loss, train_acc=train_acc, source_test_acc=src_acc, **tgt_acc)
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict(), generator=g.get_state())
    run.save_weights("source_model", model)

    # (2) adaptation with a few labelled target images, repeated over independent draws
    steps = list(range(0, config.adapt_steps, config.eval_every)) + [config.adapt_steps]
    curves = torch.zeros(len(DOMAINS), len(METHODS) - 1, config.repeats, len(steps))  # (domain, method, repeat, eval)
    for r in range(config.repeats):
        idx = common.balanced_indices(y_train, config.target_per_class, seed=config.seed + 100 + r, exclude=src_idx)
        for k, domain in enumerate(DOMAINS):
            X_tgt = shift_domain(X_train[idx], config, config.seed + 200 + r, domain)  # (n, 1, 28, 28)
            for m, method in enumerate(METHODS[1:]):
                torch.manual_seed(config.seed + 1000 * r + m)  # the new head's / scratch model's initialisation
                curve, trainable = adapt(model, method, X_tgt, y_train[idx], X_tgt_test[domain], y_tgt_test,
                                         config, device)
                curves[k, m, r] = torch.tensor(curve)
                run.metrics[f"trainable_params/{method}"] = trainable

    # what the essay shows: accuracies, intensity statistics of the domains, example images
    examples = X_test[:8]
    run.save_tensors("results", {
        "adapt_curves": curves, "adapt_steps": torch.tensor(steps), "source_examples": examples,
        **{f"{d}_examples": shift_domain(examples, config, config.seed + 3, d) for d in DOMAINS},
    })
    run.metrics.update({
        "source_test_acc": common.evaluate(model, X_src_test, y_src_test, device=device)[1],
        "trainable_params/source only": 0,
        "target_labelled": config.target_labelled,
        "pixel_mean/source": X_test[tgt_test_idx].mean().item(),
        "pixel_std/source": X_test[tgt_test_idx].std().item(),
    })
    for k, domain in enumerate(DOMAINS):
        run.metrics[f"pixel_mean/{domain}"] = X_tgt_test[domain].mean().item()
        run.metrics[f"pixel_std/{domain}"] = X_tgt_test[domain].std().item()
        run.metrics[f"acc/{domain}/source only"] = common.evaluate(model, X_tgt_test[domain], y_tgt_test,
                                                                   device=device)[1]
        run.metrics[f"acc_std/{domain}/source only"] = 0.0
        for m, method in enumerate(METHODS[1:]):
            final = curves[k, m, :, -1]  # (repeat,)
            run.metrics[f"acc/{domain}/{method}"] = final.mean().item()
            run.metrics[f"acc_std/{domain}/{method}"] = final.std().item() if config.repeats > 1 else 0.0
    run.metrics = common.headline_first(run.metrics, ["source_test_acc", "acc/far/fine-tune", "acc/far/from scratch"])


# --- results for the essay ---------------------------------------------------------------------------


def accuracy_table(run: runs.Run) -> pd.DataFrame:
    """One row per method: trainable parameters and target-test accuracy in each domain (mean ± std)."""
    m = run.metrics
    rows = []
    for method in METHODS:
        row = {"method": method,
               "labelled target images": 0 if method == "source only" else m["target_labelled"],
               "trainable parameters": m[f"trainable_params/{method}"]}
        for d in DOMAINS:
            mean, std = 100 * m[f"acc/{d}/{method}"], 100 * m[f"acc_std/{d}/{method}"]
            row[f"{d} target accuracy (%)"] = f"{mean:.1f} ± {std:.1f}" if method != "source only" else f"{mean:.1f}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def plot_domains(run: runs.Run):
    """Example test digits in the source domain and in the two shifted target domains."""
    t = run.load_tensors("results")
    keys = ("source_examples", *(f"{d}_examples" for d in DOMAINS))
    labels = ("source\n(MNIST)", "near target\n(elastic)", "far target\n(new modality)")
    n = len(t["source_examples"])
    fig, axes = plots.figure(len(keys), n, height=plots.WIDTH * (len(keys) + 0.3) / n)
    for row, key in enumerate(keys):
        for i in range(n):
            ax = axes[row, i]
            ax.imshow(t[key][i, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[row, 0].set_ylabel(labels[row], fontsize=8)
    return common.finish(fig)


def plot_adaptation(run: runs.Run):
    """Target-test accuracy during adaptation on the labelled target images, one panel per domain."""
    t = run.load_tensors("results")
    curves, steps = t["adapt_curves"], t["adapt_steps"]  # (domain, method, repeat, eval), (eval,)
    fig, axes = plots.figure(1, len(DOMAINS), height=3.2, sharey=True)
    for k, (ax, domain) in enumerate(zip(axes, DOMAINS, strict=True)):
        for m, method in enumerate(METHODS[1:]):
            c = 100 * curves[k, m]  # (repeat, eval)
            ax.plot(steps, c.mean(0), marker="o", ms=3, color=plots.OKABE_ITO[m], label=method)
            if c.shape[0] > 1:
                ax.fill_between(steps, c.min(0).values, c.max(0).values, color=plots.OKABE_ITO[m], alpha=0.15, lw=0)
        ax.axhline(100 * run.metrics[f"acc/{domain}/source only"], color=plots.OKABE_ITO[7], ls="--", lw=1,
                   label="source model, not adapted")
        ax.set_title(f"{domain} target domain")
        ax.set_xlabel("adaptation step")
    axes[0].set_ylabel("target test accuracy (%)")
    axes[-1].legend(loc="lower right", fontsize=8)
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferFacts:
    """What theory/transfer.qmd states about its run."""

    run: runs.Run
    config: TransferConfig
    metrics: dict
    accuracy: dict[tuple[str, str], float]  # (domain, method) -> target test accuracy
    near_gain: float  # near domain: linear probe minus training from scratch
    far_gain: float  # far domain: fine-tuning minus training from scratch
    far_side: str  # fine-tuning lands "above" | "below" training from scratch in the far domain
    probe_params: int  # trainable parameters of the linear probe
    all_params: int  # of fine-tuning
    wall_s: float


def side(gain: float) -> str:
    return "above" if gain >= 0 else "below"


def facts() -> TransferFacts:
    run = runs.load_or_train(TransferConfig())
    m = run.metrics
    acc = {(d, k): m[f"acc/{d}/{k}"] for d in DOMAINS for k in METHODS}
    far_gain = acc["far", "fine-tune"] - acc["far", "from scratch"]
    return TransferFacts(run, run.config, m, acc, acc["near", "linear probe"] - acc["near", "from scratch"], far_gain,
                         side(far_gain), m["trainable_params/linear probe"], m["trainable_params/fine-tune"],
                         run.provenance["wall_time_s"])
