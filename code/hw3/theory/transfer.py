"""Essay 1, limits of transfer learning: a digit classifier trained on MNIST (the "source" domain) meets
a shifted "target" domain made from MNIST (elastic distortion, lower contrast, inverted intensities and
noise: a stand-in for a new imaging modality). With 100 labelled target images we compare the source
model without adaptation, a linear probe on frozen features, fine-tuning with discriminative learning
rates (Howard & Ruder 2018), LP-FT (a linear probe, then fine-tuning: Kumar et al. 2022) and training
from scratch.

The target labels are the source labels (the ten digits), so the linear probe and fine-tuning start
from the source model's own head, as one would whenever the label sets match. Fine-tuning and LP-FT are
also run from a new, randomly initialised head: the situation of ImageNet -> medical images, where the
label sets differ.

The elastic distortion follows Simard et al. (2003): a random displacement field, smoothed by a Gaussian
of width sigma and scaled by alpha pixels.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import compare, data, fmt, plots, runs
from . import common

METHODS = ("source only", "linear probe", "fine-tune", "fine-tune, new head", "LP-FT, new head", "from scratch")
HEAD = {"source only": "source", "linear probe": "source", "fine-tune": "source", "fine-tune, new head": "new",
        "LP-FT, new head": "new, probed first", "from scratch": "new (every layer new)"}
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
    target_val_per_class: int = 2  # of these, kept out of training to choose the number of steps (20 images)
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
                                   target_val_per_class=1,
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


def adapt(source: DigitCNN, method: str, X: torch.Tensor, y: torch.Tensor, X_val: torch.Tensor, y_val: torch.Tensor,
          X_test: torch.Tensor, y_test: torch.Tensor, config: TransferConfig,
          device) -> tuple[list[float], list[float], int, torch.Tensor]:
    """Train a copy of the source model (or a fresh one) on the labelled target images (X, y) with `method`.

    Every method gets the same number of full-batch Adam steps. "linear probe" and "fine-tune" keep the
    source head (the labels are the same digits); the "new head" methods and training from scratch start
    from a random one. LP-FT spends the first half of its steps as a linear probe (new head only) and
    the second half fine-tuning every layer. Every `eval_every` steps (and at step 0) the model is scored
    on the validation images (X_val, y_val: for choosing the step) and on the test images.

    Returns (validation accuracies, test accuracies, the number of trainable parameters, per-example test
    correctness at every evaluation (E, T) uint8).
    """
    if method not in METHODS[1:]:
        raise ValueError(f"unknown method {method!r}")
    model = DigitCNN().to(device) if method == "from scratch" else copy.deepcopy(source).to(device)
    if "new head" in method:
        model.head.reset_parameters()
    X, y = X.to(device), y.to(device)
    probe_steps = {"linear probe": config.adapt_steps, "LP-FT, new head": config.adapt_steps // 2}.get(method, 0)
    features = {}  # frozen body: its features of every set, computed once while probing

    def frozen(name: str, X_: torch.Tensor) -> torch.Tensor:
        if name not in features:
            model.eval()
            with torch.no_grad():
                features[name] = torch.cat([model.body(X_[k:k + 2000].to(device)) for k in range(0, len(X_), 2000)])
        return features[name]

    @torch.no_grad()
    def score(step: int) -> tuple[float, torch.Tensor]:
        model.eval()
        probing = step <= probe_steps and step < config.adapt_steps or method == "linear probe"
        out = []
        for name, X_, y_ in (("val", X_val, y_val), ("test", X_test, y_test)):
            logits = (model.head(frozen(name, X_)) if probing else
                      torch.cat([model(X_[k:k + 2000].to(device)) for k in range(0, len(X_), 2000)]))  # (N, 10)
            out.append((logits.argmax(1).cpu() == y_.cpu()).to(torch.uint8))
        return out[0].float().mean().item(), out[1]

    def optimizer(phase: str) -> torch.optim.Optimizer:
        model.body.requires_grad_(phase != "probe")
        if phase == "probe":  # frozen features, a convex problem in the head: a larger step is safe
            return torch.optim.Adam(model.head.parameters(), lr=config.probe_lr)
        if method == "from scratch":
            return torch.optim.Adam(model.parameters(), lr=config.adapt_lr)
        return torch.optim.Adam([{"params": model.head.parameters(), "lr": config.adapt_lr},  # discriminative rates
                                 {"params": model.body.parameters(), "lr": config.adapt_lr * config.body_lr_ratio}])

    opt = optimizer("probe" if probe_steps else "all")
    trainable = common.count_params(model, trainable_only=True)
    val_curve, test_curve, correct = [], [], []

    def record(step: int) -> None:
        val_acc, c = score(step)
        val_curve.append(val_acc)
        test_curve.append(c.float().mean().item())
        correct.append(c)

    record(0)
    for step in range(1, config.adapt_steps + 1):
        if step == probe_steps + 1 and 0 < probe_steps < config.adapt_steps:  # LP-FT: now fine-tune everything
            opt = optimizer("all")
            trainable = common.count_params(model, trainable_only=True)
        model.train()
        probing = step <= probe_steps
        logits = model.head(frozen("train", X)) if probing else model(X)  # full batch: every labelled image
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % config.eval_every == 0 or step == config.adapt_steps:
            record(step)
    return val_curve, test_curve, trainable, torch.stack(correct)


def chosen_step(val_curves: torch.Tensor) -> torch.Tensor:
    """Per curve, the evaluation with the highest validation accuracy, the earliest on ties (step 0, the
    model before adaptation, included): (..., E) -> (...,) indices."""
    best = val_curves.max(-1, keepdim=True).values
    return (val_curves >= best).float().argmax(-1)  # argmax returns the first maximum


@torch.no_grad()
def correctness(model: nn.Module, X: torch.Tensor, y: torch.Tensor, device) -> torch.Tensor:
    """Per-example correctness (N,) uint8 of `model` on (X, y)."""
    model.eval()
    pred = torch.cat([model(X[k:k + 2000].to(device)).argmax(1).cpu() for k in range(0, len(X), 2000)])
    return (pred == y.cpu()).to(torch.uint8)


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
    shape = (len(DOMAINS), len(METHODS) - 1, config.repeats, len(steps))  # (domain, method, repeat, eval)
    curves, val_curves = torch.zeros(shape), torch.zeros(shape)
    correct = torch.zeros(*shape, len(y_tgt_test), dtype=torch.uint8)  # (..., eval, target test image)
    v = config.target_val_per_class
    for r in range(config.repeats):
        idx = common.balanced_indices(y_train, config.target_per_class, seed=config.seed + 100 + r, exclude=src_idx)
        per_class = idx.view(10, config.target_per_class)  # balanced_indices groups the picks by class
        val_idx, fit_idx = per_class[:, :v].reshape(-1), per_class[:, v:].reshape(-1)
        for k, domain in enumerate(DOMAINS):
            X_tgt = shift_domain(X_train[idx], config, config.seed + 200 + r, domain)  # (n, 1, 28, 28)
            by_class = X_tgt.view(10, config.target_per_class, 1, 28, 28)
            X_fit, X_val = by_class[:, v:].reshape(-1, 1, 28, 28), by_class[:, :v].reshape(-1, 1, 28, 28)
            for m, method in enumerate(METHODS[1:]):
                torch.manual_seed(config.seed + 1000 * r + m)  # the new head's / scratch model's initialisation
                val_curve, curve, trainable, correct[k, m, r] = adapt(
                    model, method, X_fit, y_train[fit_idx], X_val, y_train[val_idx], X_tgt_test[domain], y_tgt_test,
                    config, device)
                curves[k, m, r], val_curves[k, m, r] = torch.tensor(curve), torch.tensor(val_curve)
                run.metrics[f"trainable_params/{method}"] = trainable
    chosen = chosen_step(val_curves)  # (domain, method, repeat)

    # what the essay shows: accuracies, intensity statistics of the domains, example images
    examples = X_test[:8]
    run.save_tensors("results", {
        "adapt_curves": curves, "adapt_steps": torch.tensor(steps), "source_examples": examples,
        "val_curves": val_curves, "chosen_eval": chosen,  # (domain, method, repeat, eval), (domain, method, repeat)
        "correct": correct,  # (domain, adapting method, repeat, eval, target test image)
        "source_correct": torch.stack([correctness(model, X_tgt_test[d], y_tgt_test, device) for d in DOMAINS]),
        **{f"{d}_examples": shift_domain(examples, config, config.seed + 3, d) for d in DOMAINS},
    })
    run.metrics.update({
        "source_test_acc": common.evaluate(model, X_src_test, y_src_test, device=device)[1],
        "trainable_params/source only": 0,
        "target_labelled": config.target_labelled,
        "target_val": 10 * config.target_val_per_class,
        "pixel_mean/source": X_test[tgt_test_idx].mean().item(),
        "pixel_std/source": X_test[tgt_test_idx].std().item(),
    })
    for k, domain in enumerate(DOMAINS):
        run.metrics[f"pixel_mean/{domain}"] = X_tgt_test[domain].mean().item()
        run.metrics[f"pixel_std/{domain}"] = X_tgt_test[domain].std().item()
        run.metrics[f"acc/{domain}/source only"] = common.evaluate(model, X_tgt_test[domain], y_tgt_test,
                                                                   device=device)[1]
        run.metrics[f"acc_std/{domain}/source only"] = 0.0
        run.metrics[f"acc_final/{domain}/source only"] = run.metrics[f"acc/{domain}/source only"]
        for m, method in enumerate(METHODS[1:]):
            final = curves[k, m, :, -1]  # (repeat,): after every step
            picked = curves[k, m].gather(-1, chosen[k, m, :, None]).squeeze(-1)  # (repeat,): at the chosen step
            run.metrics[f"acc/{domain}/{method}"] = picked.mean().item()
            run.metrics[f"acc_std/{domain}/{method}"] = picked.std().item() if config.repeats > 1 else 0.0
            run.metrics[f"acc_final/{domain}/{method}"] = final.mean().item()
            run.metrics[f"acc_final_std/{domain}/{method}"] = final.std().item() if config.repeats > 1 else 0.0
            run.metrics[f"chosen_step/{domain}/{method}"] = [steps[i] for i in chosen[k, m].tolist()]
    run.metrics["methods"] = list(METHODS)
    run.metrics = common.headline_first(run.metrics, ["source_test_acc", "acc/near/source only", "acc/near/fine-tune",
                                                      "acc/far/fine-tune", "acc/far/from scratch"])


# --- results for the essay ---------------------------------------------------------------------------


def accuracy_table(run: runs.Run) -> pd.DataFrame:
    """One row per method: its head's start and target-test accuracy in each domain after every step and
    at the step chosen on the validation images (mean ± standard deviation over the draws)."""
    m = run.metrics
    steps = run.config.adapt_steps
    rows = []
    for method in m.get("methods", METHODS):
        row = {"method": method, "head starts as": HEAD[method]}
        for d in DOMAINS:
            for key, label in ((f"acc_final/{d}/{method}", f"{d}: {steps} steps (%)"),
                               (f"acc/{d}/{method}", f"{d}: chosen step (%)")):
                mean = 100 * m[key]
                std = 100 * m.get(key.replace("acc", "acc_std", 1) if key.startswith("acc/")
                                  else key.replace("acc_final", "acc_final_std", 1), 0.0)
                row[label] = f"{mean:.1f}" if method == "source only" else f"{mean:.1f} ± {std:.1f}"
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
    methods = run.metrics.get("methods", METHODS)[1:]
    colors = common.palette()
    fig, axes = plots.figure(1, len(DOMAINS), height=3.8, sharey=True)
    for k, (ax, domain) in enumerate(zip(axes, DOMAINS, strict=True)):
        for m, method in enumerate(methods):
            c = 100 * curves[k, m]  # (repeat, eval)
            ls = "--" if "new head" in method else "-." if method == "from scratch" else "-"
            ax.plot(steps, c.mean(0), marker="o", ms=3, color=colors[m], ls=ls, label=method)
            if c.shape[0] > 1:
                ax.fill_between(steps, c.min(0).values, c.max(0).values, color=colors[m], alpha=0.15, lw=0)
        ax.axhline(100 * run.metrics[f"acc/{domain}/source only"], color=common.neutral(), ls=":", lw=1.2,
                   label="source model, not adapted")
        ax.set_title(f"{domain} target domain")
        ax.set_xlabel("adaptation step")
    axes[0].set_ylabel("target test accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)  # below the panels: covers no line
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferFacts:
    """What theory/transfer.qmd states about its run. Comparisons are paired over the target test images:
    each image's correctness is averaged over the draws of the labelled images, then a - b gets a 95% t
    interval over the images (`hw3.compare.paired`)."""

    run: runs.Run
    config: TransferConfig
    metrics: dict
    accuracy: dict[tuple[str, str], float]  # (domain, method) -> target test accuracy (mean over draws)
    versus: dict[tuple[str, str, str], compare.Comparison]  # (domain, a, b) -> a minus b, at the chosen step
    versus_final: dict[tuple[str, str, str], compare.Comparison]  # the same after every adaptation step
    chosen_vs_final: dict[tuple[str, str], compare.Comparison]  # (domain, method) -> chosen step minus all steps
    final: dict[tuple[str, str], float]  # (domain, method) -> accuracy after every step (mean over draws)
    chosen_steps: dict[tuple[str, str], list[int]]  # (domain, method) -> the step chosen in each draw
    near_gain: float  # near domain: linear probe minus training from scratch
    far_gain: float  # far domain: fine-tuning minus training from scratch
    far_side: str  # fine-tuning vs training from scratch in the far domain: "clearly above" | ...
    probe_params: int  # trainable parameters of the linear probe
    all_params: int  # of fine-tuning
    wall_s: float
    num_fit: int  # labelled target images trained on (the rest choose the step)
    card_seeds: str
    card_error_bars: str

    def comparison(self, domain: str, a: str, b: str, at: str = "chosen") -> compare.Comparison:
        """a minus b (either order of a stored contrast)."""
        table = self.versus if at == "chosen" else self.versus_final
        return table[domain, a, b] if (domain, a, b) in table else table[domain, b, a].flipped()

    def side(self, domain: str, a: str, b: str, at: str = "chosen") -> str:
        """'clearly above' | 'clearly below' | 'not clearly different from': a against b."""
        return side(self.comparison(domain, a, b, at))

    def points(self, domain: str, a: str, b: str, at: str = "chosen") -> str:
        """'+3.2 points, 95% interval [+2.1, +4.3]' for a minus b."""
        c = self.comparison(domain, a, b, at)
        return f"{100 * c.a_minus_b:+.1f} points, 95% interval {c.interval(100, 1)}"

    @property
    def near_verdict(self) -> str:
        """What the steps chosen on validation did to the source-head methods in the near domain."""
        methods = ("linear probe", "fine-tune")
        if all(step == 0 for m in methods for step in self.chosen_steps["near", m]):
            return "that is, no adaptation at all in every draw: both end as the unadapted source model"
        return (f"and at those steps fine-tuning is {self.side('near', 'fine-tune', 'source only')} the unadapted "
                f"model ({self.points('near', 'fine-tune', 'source only')})")

    @property
    def near_chosen_summary(self) -> str:
        """Whether any method, at the step chosen on validation, ends clearly above the unadapted model
        in the near domain."""
        above = [m for m in METHODS[1:] if self.comparison("near", m, "source only").word == compare.HIGHER]
        if not above:
            return "At the step chosen on validation, no method ends clearly above the unadapted source model"
        verb = "ends" if len(above) == 1 else "end"
        return f"At the step chosen on validation, {fmt.and_list(above)} {verb} clearly above the unadapted source model"

    @property
    def near_final_summary(self) -> str:
        """Whether every method run for all its steps ends below the unadapted model in the near domain."""
        words = {self.comparison("near", m, "source only", "final").word for m in METHODS[1:]}
        if words == {compare.LOWER}:
            return "every adaptation run for all its steps ended clearly below it"
        if compare.HIGHER in words:
            return "some adaptation run for all its steps ended clearly above it"
        return "no adaptation run for all its steps ended clearly above it"

    def chosen_against_final(self, domain: str, method: str) -> str:
        """'clearly below its accuracy after all 100 steps (47.7%; -5.6 points, 95% interval [...])'."""
        c = self.chosen_vs_final[domain, method]
        return (f"{side(c)} its accuracy after all {self.config.adapt_steps} steps "
                f"({fmt.pct(self.final[domain, method])}; {100 * c.a_minus_b:+.1f} points, 95% interval "
                f"{c.interval(100, 1)})")

    def steps(self, domain: str, method: str) -> str:
        """'0, 0 and 25': the step chosen on validation in each draw."""
        return fmt.and_list([str(s) for s in self.chosen_steps[domain, method]])


def side(c: compare.Comparison) -> str:
    return c.say(higher="clearly above", lower="clearly below", same="not clearly different from",
                 unranked="not clearly different from")


CONTRASTS = (("linear probe", "source only"), ("fine-tune", "source only"), ("fine-tune, new head", "source only"),
             ("LP-FT, new head", "source only"), ("from scratch", "source only"), ("fine-tune", "fine-tune, new head"),
             ("LP-FT, new head", "fine-tune, new head"), ("fine-tune", "from scratch"),
             ("linear probe", "from scratch"), ("fine-tune, new head", "from scratch"), ("fine-tune", "linear probe"),
             ("LP-FT, new head", "from scratch"))


def per_image(run: runs.Run, at: str = "chosen") -> dict[tuple[str, str], np.ndarray]:
    """(domain, method) -> each target test image's correctness, averaged over the draws, at the step
    chosen on validation (`at="chosen"`) or after every step (`at="final"`)."""
    t = run.load_tensors("results")
    methods = run.metrics.get("methods", METHODS)
    out = {}
    for k, d in enumerate(DOMAINS):
        out[d, "source only"] = t["source_correct"][k].double().numpy()
        for m, method in enumerate(methods[1:]):
            c = t["correct"][k, m].double()  # (repeat, eval, T)
            if at == "chosen":
                c = c.gather(1, t["chosen_eval"][k, m][:, None, None].expand(-1, 1, c.shape[-1])).squeeze(1)
            else:
                c = c[:, -1]
            out[d, method] = c.mean(0).numpy()  # (T,)
    return out


def comparisons(run: runs.Run, at: str = "chosen") -> dict[tuple[str, str, str], compare.Comparison]:
    """Every contrast of `CONTRASTS` in both domains, paired over the target test images."""
    c = per_image(run, at)
    return {(d, a, b): compare.paired(c[d, a], c[d, b]) for d in DOMAINS for a, b in CONTRASTS}


def facts() -> TransferFacts:
    run = runs.load_or_train(TransferConfig())
    m = run.metrics
    acc = {(d, k): m[f"acc/{d}/{k}"] for d in DOMAINS for k in METHODS}
    versus = comparisons(run)
    chosen_images, final_images = per_image(run), per_image(run, "final")
    chosen_vs_final = {(d, k): compare.paired(chosen_images[d, k], final_images[d, k])
                       for d in DOMAINS for k in METHODS[1:]}
    final = {(d, k): m[f"acc_final/{d}/{k}"] for d in DOMAINS for k in METHODS}
    chosen = {(d, k): m[f"chosen_step/{d}/{k}"] for d in DOMAINS for k in METHODS[1:]}
    return TransferFacts(run, run.config, m, acc, versus, comparisons(run, "final"), chosen_vs_final, final, chosen,
                         acc["near", "linear probe"] - acc["near", "from scratch"],
                         acc["far", "fine-tune"] - acc["far", "from scratch"],
                         side(versus["far", "fine-tune", "from scratch"]), m["trainable_params/linear probe"],
                         m["trainable_params/fine-tune"], run.provenance["wall_time_s"],
                         m["target_labelled"] - m["target_val"],
                         f"one stored run (seed {run.config.seed}): one source model; each method adapted on "
                         f"{run.config.repeats} independent draws of the labelled target images",
                         f"± is one standard deviation over the {run.config.repeats} draws; comparisons are paired over "
                         f"the {run.config.target_test_size:,} target test images (each image's correctness averaged "
                         "over the draws), 95% t intervals over the images; bands span the draws")
