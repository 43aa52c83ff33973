"""Essay 2, fully connected vs convolutional layers.

Parameter counts come from real `torch.nn` modules and are checked against the closed forms

    Linear(n_in, n_out):        n_in * n_out + n_out
    Conv2d(c_in, c_out, k):     c_out * c_in * k * k + c_out      (independent of the image size)

Modules too large to allocate (a dense layer on an ImageNet-sized image) are built on PyTorch's "meta"
device, which records shapes without storing any weights. The experiment then trains a small CNN and two
MLPs (one at the CNN's parameter budget, one ten times larger) on MNIST and tests them on digits shifted
by a few pixels, where weight sharing and pooling (LeCun et al. 1998) pay off.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch
from torch import nn

from .. import compare, data, plots, runs
from . import common

# --- closed-form counts ------------------------------------------------------------------------------


def linear_params(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def conv2d_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def linear_macs(n_in: int, n_out: int) -> int:
    """Multiply-accumulates per example: every output reads every input."""
    return n_in * n_out


def conv2d_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int) -> int:
    """Multiply-accumulates per example: every output position reads a k x k x c_in window."""
    return c_out * h_out * w_out * c_in * k * k


def layer_comparison() -> pd.DataFrame:
    """Parameters of convolutional layers and of dense layers with the same input and output sizes.

    Each row builds the real module (on the meta device, so nothing is allocated) and counts its
    parameters; the closed-form count is computed next to it.
    """
    rows = []
    for image, (c_in, h, w), c_out in (("MNIST", (1, 28, 28), 32), ("ImageNet", (3, 224, 224), 64)):
        k = 3
        conv = nn.Conv2d(c_in, c_out, k, padding=1, device="meta")
        n_in, n_out = c_in * h * w, c_out * h * w  # same output size as the convolution ("same" padding)
        dense = nn.Linear(n_in, n_out, device="meta")
        rows.append({"input": f"{image} {c_in}×{h}×{w}", "layer": f"Conv2d {c_in}→{c_out}, 3×3",
                     "output": f"{c_out}×{h}×{w}", "parameters (module)": common.count_params(conv),
                     "parameters (formula)": conv2d_params(c_in, c_out, k),
                     "multiply-adds": conv2d_macs(c_in, c_out, k, h, w)})
        rows.append({"input": f"{image} {c_in}×{h}×{w}", "layer": f"Linear {n_in:,}→{n_out:,}",
                     "output": f"{c_out}×{h}×{w}", "parameters (module)": common.count_params(dense),
                     "parameters (formula)": linear_params(n_in, n_out),
                     "multiply-adds": linear_macs(n_in, n_out)})
    return pd.DataFrame(rows)


def layer_table() -> pd.DataFrame:
    """`layer_comparison()` as the chapter shows it: one parameter count (the module's) with a check
    that it equals the closed form; the output size is the convolution's in both rows of an input."""
    df = layer_comparison()
    df["matches formula"] = df["parameters (module)"] == df["parameters (formula)"]
    df = df.rename(columns={"parameters (module)": "parameters"})
    return df[["input", "layer", "parameters", "matches formula", "multiply-adds"]].set_index("input")


# --- the models --------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """Two 3x3 conv + max-pool blocks and a linear classifier on the 7x7 feature map."""

    def __init__(self, channels: tuple[int, int] = (16, 32)):
        super().__init__()
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, c2, 7, 7)
            nn.Flatten(), nn.Linear(c2 * 7 * 7, 10),  # (B, 10)
        )

    def forward(self, X):
        return self.net(X)

    @staticmethod
    def closed_form_params(channels: tuple[int, int] = (16, 32)) -> int:
        c1, c2 = channels
        return conv2d_params(1, c1, 3) + conv2d_params(c1, c2, 3) + linear_params(c2 * 7 * 7, 10)


class MLP(nn.Module):
    """784 -> hidden -> 10 with a ReLU."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden_size), nn.ReLU(), nn.Linear(hidden_size, 10))

    def forward(self, X):
        return self.net(X)

    @staticmethod
    def closed_form_params(hidden_size: int) -> int:
        return linear_params(28 * 28, hidden_size) + linear_params(hidden_size, 10)

    @staticmethod
    def hidden_for_budget(budget: int) -> int:
        """The hidden width whose parameter count is closest to `budget` (795 h + 10 parameters)."""
        return max(1, round((budget - 10) / (28 * 28 + 1 + 10)))


@dataclass
class LayersConfig(runs.RunConfig):
    experiment: ClassVar[str] = "theory-layers"
    name: str = "default"
    seed: int = 0
    train_size: int = 20_000
    test_size: int = 5_000
    num_epochs: int = 3
    batch_size: int = 128
    lr: float = 1e-3
    cnn_channels: tuple[int, int] = (16, 32)
    wide_factor: int = 10  # the large MLP has about this many times the CNN's parameters
    max_shift: int = 6  # test digits are shifted by 0..max_shift pixels
    table_shift: int = 3  # the shift reported in the table

    def quick(self):
        return dataclasses.replace(self, train_size=500, test_size=300, num_epochs=1, max_shift=3, table_shift=2)


def build_models(config: LayersConfig) -> dict[str, nn.Module]:
    cnn_params = SmallCNN.closed_form_params(config.cnn_channels)
    return {
        "CNN": SmallCNN(config.cnn_channels),
        "MLP (same budget)": MLP(MLP.hidden_for_budget(cnn_params)),
        "MLP (wide)": MLP(MLP.hidden_for_budget(config.wide_factor * cnn_params)),
    }


def shifted_test_sets(X: torch.Tensor, max_shift: int, seed: int) -> list[torch.Tensor]:
    """For s = 0..max_shift: every image moved s pixels in one of 8 directions (random per image)."""
    directions = torch.tensor([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)])
    choice = torch.randint(0, 8, (len(X),), generator=torch.Generator().manual_seed(seed))  # (N,)
    out = []
    for s in range(max_shift + 1):
        X_s = torch.empty_like(X)
        for d, (dx, dy) in enumerate(directions.tolist()):
            mask = choice == d
            X_s[mask] = common.translate(X[mask], s * dx, s * dy)
        out.append(X_s)
    return out


@runs.trainer(LayersConfig)
@common.single_threaded
def train_layers(config: LayersConfig, run: runs.RunWriter, device) -> None:
    X_train, y_train = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    (train_idx,) = common.split(len(X_train), (config.train_size,), config.seed)
    (test_idx,) = common.split(len(X_test), (config.test_size,), config.seed + 1)
    X, y = X_train[train_idx], y_train[train_idx]
    X_test, y_test = X_test[test_idx], y_test[test_idx]
    shifted = shifted_test_sets(X_test, config.max_shift, config.seed + 2)

    models = {name: m.to(device) for name, m in build_models(config).items()}
    g = torch.Generator().manual_seed(config.seed)
    opts = {name: torch.optim.Adam(m.parameters(), lr=config.lr) for name, m in models.items()}
    start = run.restore(generator=g, **{f"model/{n}": m for n, m in models.items()},
                        **{f"opt/{n}": o for n, o in opts.items()})
    for epoch in range(start + 1, config.num_epochs + 1):
        for name, model in models.items():
            train_loss, train_acc = common.fit_epoch(model, opts[name], X, y, batch_size=config.batch_size,
                                                     generator=g, device=device)
            runs.check_finite(epoch, loss=train_loss)
            _, test_acc = common.evaluate(model, X_test, y_test, device=device)
            run.log_epoch(epoch, model=name, train_loss=train_loss, train_acc=train_acc, test_acc=test_acc)
        run.save_checkpoint(epoch, generator=g.get_state(), **{f"model/{n}": m.state_dict() for n, m in models.items()},
                            **{f"opt/{n}": o.state_dict() for n, o in opts.items()})

    shift_acc = torch.zeros(len(models), config.max_shift + 1)  # (model, shift in pixels)
    correct = torch.zeros(len(models), 2, len(y_test), dtype=torch.uint8)  # (model, unshifted | table shift, N)
    for i, (name, model) in enumerate(models.items()):
        run.save_weights(name.replace(" ", "_").replace("(", "").replace(")", ""), model)
        for s, X_s in enumerate(shifted):
            shift_acc[i, s] = common.evaluate(model, X_s, y_test, device=device)[1]
        model.eval()
        with torch.no_grad():
            for k, X_s in enumerate((shifted[0], shifted[config.table_shift])):
                correct[i, k] = (model(X_s.to(device)).argmax(1).cpu() == y_test).to(torch.uint8)
        run.metrics[f"params/{name}"] = common.count_params(model)
        run.metrics[f"test_acc/{name}"] = shift_acc[i, 0].item()
        run.metrics[f"shifted_acc/{name}"] = shift_acc[i, config.table_shift].item()
    run.metrics["models"] = list(models)
    run.metrics["table_shift"] = config.table_shift
    run.metrics = common.headline_first(run.metrics, ["test_acc/CNN", "shifted_acc/CNN", "shifted_acc/MLP (wide)"])
    run.save_tensors("results", {"shift_acc": shift_acc, "shifts": torch.arange(config.max_shift + 1),
                                 "test_correct": correct,  # (model, unshifted | table shift, test image)
                                 "shift_examples": torch.stack([X_s[:4] for X_s in shifted], 1)})  # (4, S, 1, 28, 28)


# --- results for the essay ---------------------------------------------------------------------------


def model_table(run: runs.Run) -> pd.DataFrame:
    m = run.metrics
    s = m["table_shift"]
    rows = [{"model": name, "parameters": int(m[f"params/{name}"]), "test accuracy (%)": 100 * m[f"test_acc/{name}"],
             f"shifted {s} px (%)": 100 * m[f"shifted_acc/{name}"],
             "drop (pp)": 100 * (m[f"test_acc/{name}"] - m[f"shifted_acc/{name}"])} for name in m["models"]]
    return pd.DataFrame(rows).set_index("model").round(1)


def plot_shift_robustness(run: runs.Run):
    """Test accuracy against the size of the shift, with example shifted digits above."""
    t = run.load_tensors("results")
    acc, shifts, examples = 100 * t["shift_acc"], t["shifts"], t["shift_examples"]
    fig = plots.figure(height=4.2)[0]
    fig.clear()
    grid = fig.add_gridspec(2, len(shifts), height_ratios=(1, 3.2))
    for s in range(len(shifts)):
        ax = fig.add_subplot(grid[0, s])
        ax.imshow(examples[0, s, 0], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"{int(shifts[s])} px", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    colors = common.palette()
    for i, name in enumerate(run.metrics["models"]):
        ax.plot(shifts, acc[i], marker="o", color=colors[i],
                label=f"{name}, {run.metrics[f'params/{name}']:,} parameters")
    ax.set_xlabel("shift (pixels)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="upper right")  # accuracy falls with the shift: the upper right is empty
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayersFacts:
    """What theory/layers.qmd states: the parameter counts of `layer_comparison` and the run."""

    counts: pd.DataFrame  # layer_comparison()
    formulas_match: str  # "every" | "not every" count from a module matches its formula
    mnist_conv: dict
    mnist_dense: dict
    big_conv: dict
    big_dense: dict
    dense_terabytes: float  # the big dense layer's float32 weights
    conv_ratio: float  # MNIST-size dense layer's parameters over the conv layer's
    run: runs.Run
    config: LayersConfig
    metrics: dict
    shift: int  # the shift (pixels) the table reports
    cnn: str
    mlp: str
    wide: str
    wide_ratio: float  # wide MLP's parameters over the CNN's
    shifted_drop: dict[str, float]  # per model: test accuracy minus accuracy on shifted digits
    # paired over the same test digits (one trained model each): CNN minus the MLP named
    accuracy_vs: dict[str, compare.Comparison]  # unshifted test accuracy
    accuracy_word: dict[str, str]  # "more accurate than" | "less accurate than" | "not clearly different from"
    drop_vs: dict[str, compare.Comparison]  # the drop from unshifted to shifted digits
    drop_word: dict[str, str]  # "loses less than" | "loses more than" | "loses about as much as"
    cnn_above_at_every_shift: bool  # the CNN's accuracy is above both MLPs' at every shift measured
    card_seeds: str
    card_error_bars: str

    def interval(self, name: str) -> str:
        """'+3.1 points, 95% interval [+2.6, +3.6]': CNN minus `name` on the unshifted test digits."""
        c = self.accuracy_vs[name]
        return f"{100 * c.a_minus_b:+.1f} points, 95% interval {c.interval(100, 1)}"


def facts() -> LayersFacts:
    counts = layer_comparison()
    mnist_conv, mnist_dense, big_conv, big_dense = counts.to_dict("records")
    every = bool((counts["parameters (module)"] == counts["parameters (formula)"]).all())
    run = runs.load_or_train(LayersConfig())
    m = run.metrics
    cnn, mlp, wide = m["models"]
    return LayersFacts(
        counts, "every" if every else "not every", mnist_conv, mnist_dense, big_conv, big_dense,
        big_dense["parameters (module)"] * 4 / 1e12,
        mnist_dense["parameters (module)"] / mnist_conv["parameters (module)"],
        run, run.config, m, m["table_shift"], cnn, mlp, wide, m[f"params/{wide}"] / m[f"params/{cnn}"],
        {k: m[f"test_acc/{k}"] - m[f"shifted_acc/{k}"] for k in m["models"]}, *paired_words(run.load_tensors("results"), m["models"]),
        f"one stored run: each of the {len(m['models'])} models trained once (seed {run.config.seed})",
        "no ± (one training run per model); comparisons are paired over the same test digits, 95% t intervals "
        "over the digits (McNemar's exact test alongside), covering the test sample, not training randomness")


def paired_words(t: dict[str, torch.Tensor], names: list[str]) -> tuple[dict, dict, dict, dict, bool]:
    """The first model (the CNN) against each other one on the same test digits: accuracy and the drop
    under the table's shift. t: the run's "results" tensors (test_correct, shift_acc)."""
    c = t["test_correct"].double().numpy()  # (model, unshifted | shifted, N)
    acc, acc_word, drop, drop_word = {}, {}, {}, {}
    for i, name in enumerate(names[1:], start=1):
        acc[name] = compare.paired(c[0, 0], c[i, 0])
        acc_word[name] = acc[name].say(higher="more accurate than", lower="less accurate than",
                                       same="not clearly different from")
        drop[name] = compare.paired(c[0, 0] - c[0, 1], c[i, 0] - c[i, 1])
        drop_word[name] = drop[name].say(higher="loses more than", lower="loses less than",
                                         same="loses about as much as")
    above = bool((t["shift_acc"][0] > t["shift_acc"][1:].max(0).values).all())
    return acc, acc_word, drop, drop_word, above
