"""Essay 3, regularization: a network that overfits 1,000 MNIST images, then the same network with
one regularizer at a time (weight decay, dropout, data augmentation, early stopping, batch
normalization, label smoothing), all else equal: same initial weights, same batch order, same budget.

With SGD, an L2 penalty (lambda / 2) ||w||^2 in the loss and weight decay w <- (1 - lr * lambda) w are the
same update (Krogh & Hertz 1992); with Adam they differ (Loshchilov & Hutter 2019), which is why the
experiment uses SGD with momentum. Label smoothing (Szegedy et al. 2016) trains against the targets
(1 - eps) * onehot + eps / K. Curves report the plain cross-entropy of every model in eval mode, so the
numbers are comparable across variants.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, fmt, plots, runs
from . import common

VARIANTS = ("none", "weight decay", "dropout", "data augmentation", "early stopping", "batch norm",
            "label smoothing")


@dataclass
class RegularizationConfig(runs.RunConfig):
    experiment: ClassVar[str] = "theory-regularization"
    name: str = "default"
    seed: int = 0
    train_size: int = 1_000  # the small training set the network overfits
    val_size: int = 2_000  # held out from MNIST's training split
    test_size: int = 10_000  # MNIST's test split
    num_epochs: int = 60
    batch_size: int = 50
    lr: float = 0.05
    momentum: float = 0.9
    hidden_size: int = 256  # two hidden layers
    weight_decay: float = 5e-3
    dropout: float = 0.5
    label_smoothing: float = 0.1
    patience: int = 10  # early stopping: epochs without a better validation loss
    aug_shift: float = 2.0  # pixels
    aug_degrees: float = 10.0
    aug_scale: float = 0.1

    def quick(self):
        return dataclasses.replace(self, train_size=200, val_size=200, test_size=300, num_epochs=3, patience=1)


class MLP(nn.Module):
    """784 -> hidden -> hidden -> 10, optionally with dropout or batch norm after each hidden layer."""

    def __init__(self, hidden_size: int, dropout: float = 0.0, batch_norm: bool = False):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = 28 * 28
        for _ in range(2):
            layers.append(nn.Linear(n_in, hidden_size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden_size))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            n_in = hidden_size
        layers.append(nn.Linear(n_in, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)  # (B, 10)


def train_variant(variant: str, config: RegularizationConfig, data: dict, device, log) -> dict:
    """Train one variant; `log(epoch, **values)` receives every epoch. Returns the final metrics."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    torch.manual_seed(config.seed)  # the same initial weights for every variant (where shapes agree)
    model = MLP(config.hidden_size, dropout=config.dropout if variant == "dropout" else 0.0,
                batch_norm=variant == "batch norm").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay if variant == "weight decay" else 0.0)
    eps = config.label_smoothing if variant == "label smoothing" else 0.0

    def loss_fn(logits, y):
        return F.cross_entropy(logits, y, label_smoothing=eps)

    def augment(X, g):
        return common.random_affine(X, g, max_shift=config.aug_shift, max_degrees=config.aug_degrees,
                                    max_scale=config.aug_scale)

    g = torch.Generator().manual_seed(config.seed)  # the same batch order for every variant
    best = {"val_loss": float("inf"), "epoch": 0, "state": None}
    epochs_run = 0
    for epoch in range(1, config.num_epochs + 1):
        common.fit_epoch(model, opt, data["X_train"], data["y_train"], batch_size=config.batch_size, generator=g,
                         loss_fn=loss_fn, augment=augment if variant == "data augmentation" else None, device=device)
        train_loss, train_acc = common.evaluate(model, data["X_train"], data["y_train"], device=device)
        val_loss, val_acc = common.evaluate(model, data["X_val"], data["y_val"], device=device)
        runs.check_finite(epoch, loss=train_loss)
        log(epoch, variant=variant, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc)
        epochs_run = epoch
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "epoch": epoch,
                    "state": {k: v.clone() for k, v in model.state_dict().items()}}
        if variant == "early stopping" and epoch - best["epoch"] >= config.patience:
            break
    if variant == "early stopping":
        model.load_state_dict(best["state"])  # restore the weights of the best validation epoch
    train_loss, train_acc = common.evaluate(model, data["X_train"], data["y_train"], device=device)
    val_loss, val_acc = common.evaluate(model, data["X_val"], data["y_val"], device=device)
    test_loss, test_acc = common.evaluate(model, data["X_test"], data["y_test"], device=device)
    return {"epochs_run": epochs_run, "best_epoch": best["epoch"], "min_val_loss": best["val_loss"],
            "train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc,
            "train_loss": train_loss, "val_loss": val_loss, "test_loss": test_loss}


@runs.trainer(RegularizationConfig)
@common.single_threaded
def train_regularization(config: RegularizationConfig, run: runs.RunWriter, device) -> None:
    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    train_idx, val_idx = common.split(len(X), (config.train_size, config.val_size), config.seed)
    (test_idx,) = common.split(len(X_test), (config.test_size,), config.seed + 1)
    splits = {"X_train": X[train_idx], "y_train": y[train_idx], "X_val": X[val_idx], "y_val": y[val_idx],
            "X_test": X_test[test_idx], "y_test": y_test[test_idx]}
    ck = run.load_checkpoint()  # one checkpoint per finished variant
    done = ck["epoch"] if ck is not None else 0
    for i, variant in enumerate(VARIANTS[done:], start=done + 1):
        result = train_variant(variant, config, splits, device, run.log_epoch)
        run.metrics[variant] = result
        run.metrics[f"test_acc/{variant}"] = result["test_acc"]
        run.save_checkpoint(i)
    run.metrics["variants"] = list(VARIANTS)
    run.metrics = common.headline_first(run.metrics, ["test_acc/none", "test_acc/data augmentation", "test_acc/dropout"])


# --- results for the essay ---------------------------------------------------------------------------


def results_table(run: runs.Run) -> pd.DataFrame:
    rows = []
    for v in run.metrics["variants"]:
        r = run.metrics[v]
        rows.append({"regularizer": v, "epochs": r["epochs_run"], "train acc. (%)": 100 * r["train_acc"],
                     "validation acc. (%)": 100 * r["val_acc"], "test acc. (%)": 100 * r["test_acc"],
                     "gap (pp)": 100 * (r["train_acc"] - r["test_acc"]), "test loss": r["test_loss"]})
    df = pd.DataFrame(rows).set_index("regularizer")
    return df.round({c: 3 if c == "test loss" else 1 for c in df.columns})


def plot_curves(run: runs.Run, metric: str = "loss"):
    """Training and validation curves, one panel per regularizer; the unregularized validation curve
    is repeated in grey in every panel."""
    h = run.history_frame()
    variants = run.metrics["variants"]
    fig, axes = plots.figure(2, 4, height=4.6, sharex=True, sharey=True)
    base = h[h.variant == "none"]
    for ax, v in zip(axes.flat, variants, strict=False):
        d = h[h.variant == v]
        if v != "none":
            ax.plot(base.epoch, base[f"val_{metric}"], color="0.7", lw=1, label="validation, no regularizer")
        ax.plot(d.epoch, d[f"train_{metric}"], color=plots.OKABE_ITO[0], ls="--", lw=1.3, label="training")
        ax.plot(d.epoch, d[f"val_{metric}"], color=plots.OKABE_ITO[3], lw=1.5, label="validation")
        if v == "early stopping":
            ax.axvline(run.metrics[v]["best_epoch"], color=plots.OKABE_ITO[2], ls=":", lw=1.2, label="restored epoch")
        ax.set_title(v, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("cross-entropy" if metric == "loss" else "accuracy")
    legend_ax = axes.flat[len(variants)] if len(variants) < axes.size else None
    if legend_ax is not None:
        handles, labels = [], []
        for ax in axes.flat[: len(variants)]:
            for hnd, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in labels:
                    handles.append(hnd)
                    labels.append(lab)
        legend_ax.axis("off")
        legend_ax.legend(handles, labels, loc="center", fontsize=8)
    if metric == "loss":
        axes[0, 0].set_yscale("log")
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegularizationFacts:
    """What theory/regularization.qmd states about its run."""

    run: runs.Run
    config: RegularizationConfig
    metrics: dict
    base: dict  # the unregularized network's metrics
    early_stopping: dict
    others: list[str]  # every variant but "none"
    best: str  # the variant with the best test accuracy
    beat_base: list[str]  # variants above the unregularized network
    also_helped: str  # prose: the other variants that beat it, or "No other technique"
    help_verb: str  # "helps" (one other variant) | "help"
    weight_decay_change: float  # test accuracy change from weight decay
    min_val_epoch: int  # epoch of the unregularized network's lowest validation loss
    num_parameters: int


def also_helped(beat_base: list[str], best: str) -> tuple[str, str]:
    """'Dropout and weight decay' / 'No other technique', with the verb that agrees with it."""
    others = [v for v in beat_base if v != best]
    text = fmt.capitalized(fmt.and_list(others)) if others else "No other technique"
    return text, "help" if len(others) != 1 else "helps"


def facts() -> RegularizationFacts:
    run = runs.load_or_train(RegularizationConfig())
    cfg, m = run.config, run.metrics
    base = m["none"]
    others = [v for v in m["variants"] if v != "none"]
    best = max(others, key=lambda v: m[v]["test_acc"])
    beat_base = [v for v in others if m[v]["test_acc"] > base["test_acc"]]
    helped, verb = also_helped(beat_base, best)
    h = run.history_frame()
    base_h = h[h.variant == "none"]
    return RegularizationFacts(
        run, cfg, m, base, m["early stopping"], others, best, beat_base, helped, verb,
        m["weight decay"]["test_acc"] - base["test_acc"], int(base_h.loc[base_h.val_loss.idxmin(), "epoch"]),
        sum(p.numel() for p in MLP(cfg.hidden_size).parameters()))
