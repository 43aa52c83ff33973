"""Essay 5, activation functions: sigmoid, tanh, ReLU, leaky ReLU and GELU.

Three measurements: (1) each function and its derivative on a grid (derivatives by autograd);
(2) the gradient norm ||dL/dW_l|| of every layer of a 10-layer fully connected network at
initialisation, for each activation and two initialisations: PyTorch's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and a gain-matched N(0, gain^2 / fan_in) (Glorot & Bengio 2010;
He et al. 2015) with the gain `torch.nn.init.calculate_gain` recommends; (3) a short training run
of the same network with each activation. Backpropagation multiplies one factor phi'(a) per layer, so
a derivative bounded by 1/4 (sigmoid) shrinks the gradient geometrically with depth.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, plots, runs
from . import common

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
LABELS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU", "gelu": "GELU"}
INITS = ("PyTorch default", "gain-matched")
LEAKY_SLOPE = 0.01
LINESTYLES = {"leaky_relu": "--", "gelu": "-."}  # leaky ReLU nearly coincides with ReLU


def activation(name: str) -> nn.Module:
    return {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "relu": nn.ReLU(),
            "leaky_relu": nn.LeakyReLU(LEAKY_SLOPE), "gelu": nn.GELU()}[name]


def gain(name: str) -> float:
    """The init gain for `name`; GELU behaves like ReLU for large inputs, so it takes ReLU's gain."""
    if name == "gelu":
        return nn.init.calculate_gain("relu")
    if name == "leaky_relu":
        return nn.init.calculate_gain("leaky_relu", LEAKY_SLOPE)
    return nn.init.calculate_gain(name)


class DeepMLP(nn.Module):
    """`depth` linear layers (784 -> width -> ... -> width -> 10) with `act` between them."""

    def __init__(self, act: str, depth: int = 10, width: int = 128, init: str = "gain-matched"):
        super().__init__()
        sizes = [28 * 28] + [width] * (depth - 1) + [10]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.act = activation(act)
        if init == "gain-matched":
            for k, lin in enumerate(self.linears):
                g = gain(act) if k > 0 else 1.0  # the first layer sees raw pixels, not activations
                nn.init.normal_(lin.weight, std=g / math.sqrt(lin.in_features))
                nn.init.zeros_(lin.bias)
        elif init != "PyTorch default":
            raise ValueError(f"init must be one of {INITS}, not {init!r}")

    def forward(self, X, return_hidden: bool = False):
        h = X.flatten(1)  # (B, 784)
        hidden = []
        for lin in self.linears[:-1]:
            h = self.act(lin(h))  # (B, width)
            hidden.append(h)
        out = self.linears[-1](h)  # (B, 10)
        return (out, hidden) if return_hidden else out


def function_table(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """phi(x) and phi'(x) (by autograd) for every activation: tensors (A, len(x))."""
    values, derivs = [], []
    for name in ACTIVATIONS:
        x_ = x.clone().requires_grad_(True)
        y = activation(name)(x_)
        (dy,) = torch.autograd.grad(y.sum(), x_)  # elementwise function: grad of the sum is phi'(x)
        values.append(y.detach())
        derivs.append(dy)
    return {"x": x, "values": torch.stack(values), "derivatives": torch.stack(derivs)}


def layer_grad_norms(model: DeepMLP, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """||dL/dW_l||_F for every linear layer l (input side first), for one batch: (depth,)."""
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(X), y).backward()
    return torch.stack([lin.weight.grad.norm() for lin in model.linears])


@dataclass
class ActivationsConfig(runs.RunConfig):
    experiment: ClassVar[str] = "theory-activations"
    name: str = "default"
    seed: int = 0
    depth: int = 10
    width: int = 128
    grad_batch: int = 256  # MNIST images used for the gradient norms at initialisation
    grad_inits: int = 5  # random initialisations averaged
    train_size: int = 10_000
    test_size: int = 5_000
    num_epochs: int = 3
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    log_every: int = 10  # training steps between recorded losses
    dead_probe_size: int = 1_000  # test images on which a unit must never fire to count as dead
    grid_min: float = -5.0
    grid_max: float = 5.0
    grid_points: int = 401

    def quick(self):
        return dataclasses.replace(self, grad_batch=64, grad_inits=2, train_size=300, test_size=300, num_epochs=1,
                                   log_every=1)


@runs.trainer(ActivationsConfig)
@common.single_threaded
def train_activations(config: ActivationsConfig, run: runs.RunWriter, device) -> None:
    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    grad_idx, train_idx = common.split(len(X), (config.grad_batch, config.train_size), config.seed)
    (test_idx,) = common.split(len(X_test), (config.test_size,), config.seed + 1)
    X_test, y_test = X_test[test_idx], y_test[test_idx]

    # (1) the functions and their derivatives
    funcs = function_table(torch.linspace(config.grid_min, config.grid_max, config.grid_points))

    # (2) per-layer gradient norms at initialisation
    norms = torch.zeros(len(ACTIVATIONS), len(INITS), config.grad_inits, config.depth)  # (A, I, S, L)
    X_g, y_g = X[grad_idx].to(device), y[grad_idx].to(device)
    for a, act in enumerate(ACTIVATIONS):
        for i, init in enumerate(INITS):
            for s in range(config.grad_inits):
                torch.manual_seed(config.seed + s)
                model = DeepMLP(act, config.depth, config.width, init).to(device)
                norms[a, i, s] = layer_grad_norms(model, X_g, y_g).cpu()

    # (3) a short training run per activation, gain-matched initialisation, the same batch order
    X_tr, y_tr = X[train_idx], y[train_idx]
    steps_per_epoch = math.ceil(config.train_size / config.batch_size)
    num_logged = config.num_epochs * steps_per_epoch // config.log_every
    losses = torch.full((len(ACTIVATIONS), num_logged), float("nan"))  # (A, logged steps)
    for a, act in enumerate(ACTIVATIONS):
        torch.manual_seed(config.seed)
        model = DeepMLP(act, config.depth, config.width, "gain-matched").to(device)
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        g = torch.Generator().manual_seed(config.seed)
        step, running = 0, []
        for epoch in range(1, config.num_epochs + 1):
            model.train()
            perm = torch.randperm(len(X_tr), generator=g)
            for b in range(0, len(perm), config.batch_size):
                idx = perm[b:b + config.batch_size]
                loss = F.cross_entropy(model(X_tr[idx].to(device)), y_tr[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                running.append(loss.item())
                step += 1
                if step % config.log_every == 0 and step // config.log_every <= num_logged:
                    losses[a, step // config.log_every - 1] = sum(running) / len(running)
                    running = []
            runs.check_finite(epoch, loss=loss.item())
            test_loss, test_acc = common.evaluate(model, X_test, y_test, device=device)
            run.log_epoch(epoch, activation=act, test_loss=test_loss, test_acc=test_acc)
        run.metrics[f"test_acc/{act}"] = test_acc
        run.metrics[f"dead_fraction/{act}"] = dead_fraction(model, X_test[:config.dead_probe_size].to(device))

    mean_norms = norms.mean(2)  # (A, I, L)
    for a, act in enumerate(ACTIVATIONS):
        for i, init in enumerate(INITS):
            # layers 2 and depth-1 are both width x width matrices, so their norms compare like for like
            run.metrics[f"grad_ratio/{init}/{act}"] = (mean_norms[a, i, 1] / mean_norms[a, i, -2]).item()
        k = funcs["x"].abs().argmin().item()  # the grid point nearest 0
        run.metrics[f"max_derivative/{act}"] = funcs["derivatives"][a].max().item()
        run.metrics[f"derivative_at_0/{act}"] = funcs["derivatives"][a, k].item()
        run.metrics[f"derivative_at_max/{act}"] = funcs["derivatives"][a, -1].item()
        run.metrics[f"derivative_at_min/{act}"] = funcs["derivatives"][a, 0].item()
    run.metrics.update({"activations": list(ACTIVATIONS), "inits": list(INITS), "grid_max": config.grid_max,
                        "depth": config.depth, "width": config.width, "log_every": config.log_every,
                        "dead_probe_size": min(config.dead_probe_size, len(X_test))})
    run.metrics = common.headline_first(run.metrics, ["test_acc/sigmoid", "test_acc/relu",
                                                      "grad_ratio/gain-matched/sigmoid"])
    run.save_tensors("results", {**funcs, "grad_norms": norms, "train_losses": losses})


@torch.no_grad()
def dead_fraction(model: DeepMLP, X: torch.Tensor) -> float:
    """The fraction of hidden units whose activation is never above zero on any of the images X."""
    model.eval()
    _, hidden = model(X, return_hidden=True)
    alive = torch.cat([(h > 0).any(0) for h in hidden])  # (units,)
    return 1.0 - alive.float().mean().item()


# --- results for the essay ---------------------------------------------------------------------------


def plot_functions(run: runs.Run):
    t = run.load_tensors("results")
    fig, (ax_f, ax_d) = plots.figure(1, 2, height=3.0, sharex=True)
    for a, act in enumerate(run.metrics["activations"]):
        style = {"color": plots.OKABE_ITO[a], "ls": LINESTYLES.get(act, "-"), "label": LABELS[act]}
        ax_f.plot(t["x"], t["values"][a], **style)
        ax_d.plot(t["x"], t["derivatives"][a], **style)
    ax_f.set_title(r"$\varphi(x)$")
    ax_d.set_title(r"$\varphi'(x)$")
    ax_f.set_ylim(-1.5, 3)
    for ax in (ax_f, ax_d):
        ax.set_xlabel("$x$")
        ax.axhline(0, color="0.5", lw=0.6)
    ax_f.legend(fontsize=8)
    return common.finish(fig)


def plot_grad_norms(run: runs.Run):
    """Per-layer gradient norm at initialisation (mean over inits; band: min to max), one panel per init."""
    t = run.load_tensors("results")
    norms = t["grad_norms"]  # (A, I, S, L)
    layers = torch.arange(1, norms.shape[-1] + 1)
    fig, axes = plots.figure(1, len(run.metrics["inits"]), height=3.2, sharey=True)
    for i, (ax, init) in enumerate(zip(axes, run.metrics["inits"], strict=True)):
        for a, act in enumerate(run.metrics["activations"]):
            n = norms[a, i]  # (S, L)
            ax.plot(layers, n.mean(0), marker="o", ms=3, color=plots.OKABE_ITO[a], ls=LINESTYLES.get(act, "-"),
                    label=LABELS[act])
            ax.fill_between(layers, n.min(0).values, n.max(0).values, color=plots.OKABE_ITO[a], alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_title(f"{init} initialisation")
        ax.set_xlabel("layer (1 = input side)")
        ax.set_xticks(layers)
    axes[0].set_ylabel(r"$\|\partial L / \partial W_\ell\|$")
    axes[-1].legend(fontsize=8)
    return common.finish(fig)


def plot_training(run: runs.Run):
    t = run.load_tensors("results")
    losses = t["train_losses"]  # (A, logged steps)
    steps = torch.arange(1, losses.shape[1] + 1) * run.metrics["log_every"]
    fig, ax = plots.figure(height=3.0)
    for a, act in enumerate(run.metrics["activations"]):
        ax.plot(steps, losses[a], color=plots.OKABE_ITO[a], lw=1.3, ls=LINESTYLES.get(act, "-"),
                label=f"{LABELS[act]} (test acc. {100 * run.metrics[f'test_acc/{act}']:.1f}%)")
    ax.set_xlabel("training step")
    ax.set_ylabel("training cross-entropy")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    return common.finish(fig)


def summary_table(run: runs.Run) -> pd.DataFrame:
    m = run.metrics
    rows = [{"activation": LABELS[a], "max φ'": m[f"max_derivative/{a}"],
             "gradient ratio, default init": m[f"grad_ratio/PyTorch default/{a}"],
             "gradient ratio, gain-matched init": m[f"grad_ratio/gain-matched/{a}"],
             "test accuracy (%)": 100 * m[f"test_acc/{a}"]} for a in m["activations"]]
    return pd.DataFrame(rows).set_index("activation").round(3)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivationsFacts:
    """What theory/activations.qmd states about its run."""

    run: runs.Run
    config: ActivationsConfig
    metrics: dict
    x_max: str  # the plotted range's end
    slope: str  # leaky ReLU's negative slope
    ratio: dict[tuple[str, str], float]  # (init, activation) -> gradient norm of layer 2 / last layer
    default_init: str
    matched_init: str  # gain-matched initialisation
    others: list[str]  # every activation but the sigmoid
    others_ratio_range: tuple[float, float]  # min and max ratio of the others (matched init)
    others_accuracy_range: tuple[float, float]  # min and max test accuracy of the others


def facts() -> ActivationsFacts:
    run = runs.load_or_train(ActivationsConfig())
    m = run.metrics
    ratio = {(i, a): m[f"grad_ratio/{i}/{a}"] for i in m["inits"] for a in m["activations"]}
    default, matched = m["inits"]
    others = [a for a in m["activations"] if a != "sigmoid"]
    others_ratio = [ratio[matched, a] for a in others]
    others_acc = [m[f"test_acc/{a}"] for a in others]
    return ActivationsFacts(run, run.config, m, f"{m['grid_max']:g}", f"{LEAKY_SLOPE:g}", ratio, default, matched,
                            others, (min(others_ratio), max(others_ratio)), (min(others_acc), max(others_acc)))
