"""Essay 3, regularization: a network that overfits 1,000 MNIST images, then the same network with
one regularizer at a time (weight decay, dropout, data augmentation, early stopping, batch
normalization, label smoothing), all else equal: for each seed the same initial weights, the same batch
order and the same budget. Every variant is trained with several seeds (initial weights, batch order,
dropout masks and augmentation draws; the training, validation and test images stay fixed).

The optimizer is SGD with momentum, whose `weight_decay` adds lambda * w to the gradient before the
momentum buffer: that is an L2 penalty (lambda / 2) ||w||^2 in the loss, not the decoupled weight decay
of SGDW/AdamW (Loshchilov & Hutter 2019); only without momentum are the two the same update. Label
smoothing (Szegedy et al. 2016) trains against (1 - eps) * onehot + eps / K. Curves report the plain
cross-entropy of every model in eval mode, so the numbers are comparable across variants. The best
variant is chosen on the validation images; the test images are only reported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import compare, data, fmt, plots, runs
from . import common

VARIANTS = ("none", "weight decay", "dropout", "data augmentation", "early stopping", "batch norm",
            "label smoothing")
# How the essay names a variant: PyTorch's SGD `weight_decay` (the run's key) is an L2 penalty, not SGDW's
# decoupled weight decay.
LABELS = {"weight decay": "L2 penalty"}


def label(variant: str) -> str:
    return LABELS.get(variant, variant)


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
    seeds: tuple[int, ...] = (0, 1, 2)  # initialisation, batch order, dropout and augmentation draws

    def quick(self):
        return dataclasses.replace(self, train_size=200, val_size=200, test_size=300, num_epochs=3, patience=1,
                                   seeds=(0, 1))


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


def train_variant(variant: str, config: RegularizationConfig, data: dict, device, log, seed: int | None = None) -> dict:
    """Train one variant with `seed`; `log(epoch, **values)` receives every epoch. Returns the final metrics
    and, under "correct", the per-example test correctness (0/1 tensor)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    seed = config.seed if seed is None else seed
    torch.manual_seed(seed)  # the same initial weights for every variant (where shapes agree)
    model = MLP(config.hidden_size, dropout=config.dropout if variant == "dropout" else 0.0,
                batch_norm=variant == "batch norm").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay if variant == "weight decay" else 0.0)
    eps = config.label_smoothing if variant == "label smoothing" else 0.0

    def loss_fn(logits, y):
        return F.cross_entropy(logits, y, label_smoothing=eps)

    aug_g = torch.Generator().manual_seed(seed + 10_000)  # its own draws: the batch order stays the same

    def augment(X):
        return common.random_affine(X, aug_g, max_shift=config.aug_shift, max_degrees=config.aug_degrees,
                                    max_scale=config.aug_scale)

    g = torch.Generator().manual_seed(seed)  # the same batch order for every variant
    best = {"val_loss": float("inf"), "epoch": 0, "state": None}
    epochs_run = 0
    for epoch in range(1, config.num_epochs + 1):
        common.fit_epoch(model, opt, data["X_train"], data["y_train"], batch_size=config.batch_size, generator=g,
                         loss_fn=loss_fn, augment=augment if variant == "data augmentation" else None, device=device)
        train_loss, train_acc = common.evaluate(model, data["X_train"], data["y_train"], device=device)
        val_loss, val_acc = common.evaluate(model, data["X_val"], data["y_val"], device=device)
        runs.check_finite(epoch, loss=train_loss)
        log(epoch, variant=variant, seed=seed, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc)
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
    model.eval()
    with torch.no_grad():
        correct = (model(data["X_test"].to(device)).argmax(1).cpu() == data["y_test"]).to(torch.uint8)  # (N,)
    return {"epochs_run": epochs_run, "best_epoch": best["epoch"], "min_val_loss": best["val_loss"],
            "train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc,
            "train_loss": train_loss, "val_loss": val_loss, "test_loss": test_loss, "correct": correct}


@runs.trainer(RegularizationConfig)
@common.single_threaded
def train_regularization(config: RegularizationConfig, run: runs.RunWriter, device) -> None:
    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    train_idx, val_idx = common.split(len(X), (config.train_size, config.val_size), config.seed)
    (test_idx,) = common.split(len(X_test), (config.test_size,), config.seed + 1)
    splits = {"X_train": X[train_idx], "y_train": y[train_idx], "X_val": X[val_idx], "y_val": y[val_idx],
              "X_test": X_test[test_idx], "y_test": y_test[test_idx]}
    correct = torch.zeros(len(VARIANTS), len(config.seeds), len(test_idx), dtype=torch.uint8)  # (variant, seed, N)
    for v, variant in enumerate(VARIANTS):
        per_seed = []
        for s, seed in enumerate(config.seeds):
            result = train_variant(variant, config, splits, device, run.log_epoch, seed=seed)
            correct[v, s] = result.pop("correct")
            per_seed.append(result)
        run.metrics[variant] = {k: [r[k] for r in per_seed] for k in per_seed[0]}  # every value per seed
        for key in ("val_acc", "test_acc"):
            run.metrics[f"{key}/{variant}"] = sum(r[key] for r in per_seed) / len(per_seed)  # mean over seeds
    run.metrics["variants"] = list(VARIANTS)
    run.metrics["seeds"] = list(config.seeds)
    run.metrics["best_on_validation"] = best_on_validation(run.metrics)
    run.metrics = common.headline_first(run.metrics, ["test_acc/none", "best_on_validation", "test_acc/dropout"])
    run.save_tensors("results", {"test_correct": correct})


def best_on_validation(metrics: dict) -> str:
    """The regularizer with the highest mean validation accuracy over seeds (the test set is not looked at)."""
    return max((v for v in metrics["variants"] if v != "none"), key=lambda v: metrics[f"val_acc/{v}"])


# --- results for the essay ---------------------------------------------------------------------------


def _mean_sd(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    t = torch.tensor(values, dtype=torch.float64) * scale
    sd = t.std().item() if len(t) > 1 else 0.0
    return f"{t.mean().item():.{digits}f} ± {sd:.{digits}f}"


def results_table(run: runs.Run) -> pd.DataFrame:
    """One row per regularizer: mean ± standard deviation over seeds."""
    rows = []
    for v in run.metrics["variants"]:
        r = run.metrics[v]
        gap = [a - b for a, b in zip(r["train_acc"], r["test_acc"], strict=True)]
        rows.append({"regularizer": label(v), "epochs": _mean_sd(r["epochs_run"], 1, 0) if v == "early stopping"
                     else str(r["epochs_run"][0]),
                     "train acc. (%)": _mean_sd(r["train_acc"]), "validation acc. (%)": _mean_sd(r["val_acc"]),
                     "test acc. (%)": _mean_sd(r["test_acc"]), "gap (pp)": _mean_sd(gap),
                     "test loss": _mean_sd(r["test_loss"], 1, 3)})
    return pd.DataFrame(rows).set_index("regularizer")


def plot_curves(run: runs.Run, metric: str = "loss"):
    """Training and validation curves of the first seed, one panel per regularizer; the unregularized
    validation curve is repeated in grey in every panel."""
    h = run.history_frame()
    if "seed" in h:
        h = h[h.seed == run.metrics["seeds"][0]]
    variants = run.metrics["variants"]
    fig, axes = plots.figure(2, 4, height=4.6, sharex=True, sharey=True)
    base = h[h.variant == "none"]
    colors = common.palette()
    for ax, v in zip(axes.flat, variants, strict=False):
        d = h[h.variant == v]
        if v != "none":
            ax.plot(base.epoch, base[f"val_{metric}"], color=common.neutral(), lw=1, label="validation, no regularizer")
        ax.plot(d.epoch, d[f"train_{metric}"], color=colors[0], ls="--", lw=1.3, label="training")
        ax.plot(d.epoch, d[f"val_{metric}"], color=colors[3], lw=1.5, label="validation")
        if v == "early stopping":
            ax.axvline(run.metrics[v]["best_epoch"][0], color=colors[2], ls=":", lw=1.2,
                       label="restored epoch")
        ax.set_title(label(v), fontsize=9)
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
    """What theory/regularization.qmd states about its run. Comparisons are paired by seed (a variant and
    the unregularized network share initial weights and batch order), 95% t intervals over seeds."""

    run: runs.Run
    config: RegularizationConfig
    metrics: dict
    num_seeds: int
    base: dict  # the unregularized network: mean over seeds of every value
    early_stopping: dict  # the same for early stopping
    others: list[str]  # every variant but "none"
    best: str  # the variant with the best mean validation accuracy (chosen on validation): its key
    best_label: str  # ... as the essay names it
    vs_base: dict[str, compare.Comparison]  # test accuracy, variant minus none, per variant
    higher: list[str]  # variants whose test accuracy is clearly higher than none's
    lower: list[str]  # ... clearly lower
    unclear: list[str]  # ... no clear difference
    verdict: str  # one sentence: which regularizers clearly changed test accuracy
    best_vs_others: dict[str, compare.Comparison]  # test accuracy, best minus each other regularizer
    best_ahead_of: str  # prose: "clearly ahead of every other technique" | ...
    weight_decay_acc: compare.Comparison  # test accuracy, weight decay minus none
    weight_decay_loss: compare.Comparison  # test cross-entropy, weight decay minus none
    weight_decay_loss_word: str  # "lowers" | "raises" | "does not clearly change"
    weight_decay_reading: str  # what the two comparisons together say, or "" when they say nothing together
    first_seed_losses: dict[str, float]  # first seed, no regularizer: "min_val", "end_val", "end_train"
    min_val_epoch: int  # first seed: epoch of the unregularized network's lowest validation loss
    max_val_acc_epoch: int  # first seed: epoch of its highest validation accuracy
    val_acc_at_min_loss: float  # first seed, no regularizer: validation accuracy at min_val_epoch
    max_val_acc: float  # ... its highest, at max_val_acc_epoch
    gap_range: tuple[float, float]  # the smallest and largest mean train-test gap of the regularizers
    num_parameters: int
    num_parameters_bn: int  # the batch-norm variant adds a scale and a shift per hidden unit
    card_seeds: str  # the reproducibility card's seeds and runs
    card_error_bars: str  # ... and what its ± and intervals are

    def mean_of(self, variant: str, key: str) -> float:
        return mean(self.metrics[variant][key])

    def points(self, variant: str) -> str:
        """'+4.9 points (95% interval [+3.7, +6.1])': test accuracy of `variant` minus none's."""
        c = self.vs_base[variant]
        return f"{100 * c.a_minus_b:+.1f} points (95% interval {c.interval(100, 1)})"


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def verdict(higher: list[str], lower: list[str], unclear: list[str], total: int) -> str:
    """'Dropout and data augmentation raise test accuracy clearly; weight decay lowers it; for the other
    3 the seeds cannot tell.' — every part from the comparisons, none left out."""
    parts = []
    if higher:
        parts.append(f"{fmt.and_list(higher)} clearly raise{'s' if len(higher) == 1 else ''} test accuracy")
    if lower:
        parts.append(f"{fmt.and_list(lower)} clearly lower{'s' if len(lower) == 1 else ''} it")
    if unclear:
        if len(unclear) == total:
            parts.append(f"for none of the {total} techniques does the 95% interval of the difference exclude zero")
        elif len(unclear) == 1:
            parts.append(f"for {unclear[0]} the 95% interval of the difference includes zero")
        else:
            parts.append(f"for the other {fmt.word(len(unclear))} ({fmt.and_list(unclear)}) "
                         "the 95% interval of the difference includes zero")
    return fmt.capitalized("; ".join(parts)) + "."


def weight_decay_reading(acc: compare.Comparison, loss: compare.Comparison) -> str:
    """A reading only where the comparisons support one: a lower loss at an accuracy the seeds cannot
    tell apart is about confidence, not correctness."""
    if not acc.clear and loss.word == compare.LOWER:
        return ("With accuracy not clearly changed, the lower cross-entropy comes from how confident the "
                "predictions are, not from how many are right.")
    return ""


def ahead_of(comparisons: dict[str, compare.Comparison]) -> str:
    """'clearly ahead of every other technique' / 'clearly ahead of a and b, not clearly of c' /
    'not clearly ahead of any other technique' (a - b comparisons, the best first)."""
    ahead = [k for k, c in comparisons.items() if c.word == compare.HIGHER]
    rest = [k for k, c in comparisons.items() if c.word != compare.HIGHER]
    if not rest:
        return "clearly ahead of every other technique"
    if not ahead:
        return "not clearly ahead of any other technique"
    return f"clearly ahead of {fmt.and_list(ahead)}, not clearly of {fmt.and_list(rest)}"


def facts() -> RegularizationFacts:
    run = runs.load_or_train(RegularizationConfig())
    cfg, m = run.config, run.metrics
    others = [v for v in m["variants"] if v != "none"]
    best = m["best_on_validation"]
    vs_base = {v: compare.paired(m[v]["test_acc"], m["none"]["test_acc"]) for v in others}
    higher = [label(v) for v in others if vs_base[v].word == compare.HIGHER]
    lower = [label(v) for v in others if vs_base[v].word == compare.LOWER]
    unclear = [label(v) for v in others if not vs_base[v].clear]
    best_vs = {label(v): compare.paired(m[best]["test_acc"], m[v]["test_acc"]) for v in others if v != best}
    ahead_text = ahead_of(best_vs)
    wd_loss = compare.paired(m["weight decay"]["test_loss"], m["none"]["test_loss"])
    h = run.history_frame()
    h0 = h[(h.variant == "none") & (h.seed == m["seeds"][0])] if "seed" in h else h[h.variant == "none"]
    min_val_epoch = int(h0.loc[h0.val_loss.idxmin(), "epoch"])
    max_acc_epoch = int(h0.loc[h0.val_acc.idxmax(), "epoch"])
    gaps = [mean([a - b for a, b in zip(m[v]["train_acc"], m[v]["test_acc"], strict=True)]) for v in others]
    return RegularizationFacts(
        run, cfg, m, len(m["seeds"]), {k: mean(v) for k, v in m["none"].items()},
        {k: mean(v) for k, v in m["early stopping"].items()}, others, best, label(best), vs_base, higher, lower, unclear,
        verdict(higher, lower, unclear, len(others)), best_vs, ahead_text,
        vs_base["weight decay"], wd_loss,
        wd_loss.say(higher="raises", lower="lowers", same="does not clearly change",
                    unranked="does not clearly change"),
        weight_decay_reading(vs_base["weight decay"], wd_loss),
        {"min_val": float(h0.val_loss.min()), "end_val": float(h0.val_loss.iloc[-1]),
         "end_train": float(h0.train_loss.iloc[-1])}, min_val_epoch, max_acc_epoch,
        float(h0.loc[h0.val_loss.idxmin(), "val_acc"]), float(h0.val_acc.max()), (min(gaps), max(gaps)),
        common.count_params(MLP(cfg.hidden_size)), common.count_params(MLP(cfg.hidden_size, batch_norm=True)),
        f"one stored run: {len(m['variants'])} variants × {len(m['seeds'])} seeds "
        f"({', '.join(map(str, m['seeds']))}); the data split is fixed (seed {cfg.seed})",
        f"± is one standard deviation over the {len(m['seeds'])} seeds; comparisons between variants are 95% t "
        "intervals of the per-seed differences (paired by seed: same initial weights and batches)")
