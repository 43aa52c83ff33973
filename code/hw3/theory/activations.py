"""Essay 5, activation functions: sigmoid, tanh, ReLU, leaky ReLU and GELU.

Three measurements: (1) each function and its derivative on a grid (derivatives by autograd);
(2) the gradient norm ||dL/dW_l|| of every layer of a 10-layer fully connected network at
initialisation, for each activation and two initialisations: PyTorch's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and N(0, gain^2 / fan_in) (Glorot & Bengio 2010; He et al. 2015)
with the gain `torch.nn.init.calculate_gain` recommends; (3) a short training run of the same network
with each activation, several seeds, the best chosen on validation images. Backpropagation multiplies
one factor phi'(a) per layer, so a derivative bounded by 1/4 (sigmoid) shrinks the gradient
geometrically with depth. `calculate_gain("sigmoid")` is 1, which does not compensate that factor; the
sigmoid is therefore also measured with gain 4 = 1 / sigma'(0), the scaling Glorot & Bengio's
variance argument gives for the sigmoid's linear regime (four times the tanh initialisation).
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

from .. import compare, data, fmt, plots, runs
from . import common

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
LABELS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU", "gelu": "GELU",
          "sigmoid_gain4": "sigmoid, gain 4"}
INITS = ("PyTorch default", "recommended gain")
COMPENSATED = "gain 4"  # the sigmoid with its derivative at 0 compensated: gain 1 / sigma'(0)
SIGMOID_GAIN = 4.0
# the trained networks: every activation with its recommended gain, and the sigmoid with gain 4
TRAINED = ACTIVATIONS + ("sigmoid_gain4",)
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

    def __init__(self, act: str, depth: int = 10, width: int = 128, init: str = "recommended gain"):
        super().__init__()
        sizes = [28 * 28] + [width] * (depth - 1) + [10]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.act = activation(act)
        if init in ("recommended gain", COMPENSATED):
            if init == COMPENSATED and act != "sigmoid":
                raise ValueError(f"the {COMPENSATED!r} initialisation is the sigmoid's")
            g_hidden = SIGMOID_GAIN if init == COMPENSATED else gain(act)
            for k, lin in enumerate(self.linears):
                g = g_hidden if k > 0 else 1.0  # the first layer sees raw pixels, not activations
                nn.init.normal_(lin.weight, std=g / math.sqrt(lin.in_features))
                nn.init.zeros_(lin.bias)
        elif init != "PyTorch default":
            raise ValueError(f"init must be one of {(*INITS, COMPENSATED)}, not {init!r}")

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
    val_size: int = 2_000  # held out from MNIST's training split: the best activation is chosen on it
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
    seeds: tuple[int, ...] = (0, 1, 2)  # training runs per network (initialisation and batch order)

    def quick(self):
        return dataclasses.replace(self, grad_batch=64, grad_inits=2, train_size=300, val_size=200, test_size=300,
                                   num_epochs=1, log_every=1, seeds=(0, 1))


def trained_model(name: str, config: ActivationsConfig) -> DeepMLP:
    """A network of `TRAINED`: "sigmoid_gain4" is the sigmoid with the compensated initialisation."""
    if name == "sigmoid_gain4":
        return DeepMLP("sigmoid", config.depth, config.width, COMPENSATED)
    return DeepMLP(name, config.depth, config.width, "recommended gain")


@runs.trainer(ActivationsConfig)
@common.single_threaded
def train_activations(config: ActivationsConfig, run: runs.RunWriter, device) -> None:
    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    grad_idx, train_idx, val_idx = common.split(len(X), (config.grad_batch, config.train_size, config.val_size),
                                                config.seed)
    (test_idx,) = common.split(len(X_test), (config.test_size,), config.seed + 1)
    X_val, y_val = X[val_idx], y[val_idx]
    X_test, y_test = X_test[test_idx], y_test[test_idx]

    # (1) the functions and their derivatives
    funcs = function_table(torch.linspace(config.grid_min, config.grid_max, config.grid_points))

    # (2) per-layer gradient norms at initialisation
    norms = torch.zeros(len(ACTIVATIONS), len(INITS), config.grad_inits, config.depth)  # (A, I, S, L)
    norms_gain4 = torch.zeros(config.grad_inits, config.depth)  # (S, L): the sigmoid with gain 4
    X_g, y_g = X[grad_idx].to(device), y[grad_idx].to(device)
    for s in range(config.grad_inits):
        for a, act in enumerate(ACTIVATIONS):
            for i, init in enumerate(INITS):
                torch.manual_seed(config.seed + s)
                model = DeepMLP(act, config.depth, config.width, init).to(device)
                norms[a, i, s] = layer_grad_norms(model, X_g, y_g).cpu()
        torch.manual_seed(config.seed + s)
        norms_gain4[s] = layer_grad_norms(DeepMLP("sigmoid", config.depth, config.width, COMPENSATED).to(device),
                                          X_g, y_g).cpu()
    for init in ("recommended gain", COMPENSATED):  # where the sigmoid's units sit at initialisation
        torch.manual_seed(config.seed)
        run.metrics[f"mean_derivative_at_init/{init}/sigmoid"] = mean_sigmoid_derivative(
            DeepMLP("sigmoid", config.depth, config.width, init).to(device), X_g)

    # (3) short training runs per network and seed: the same data order for every network of a seed
    X_tr, y_tr = X[train_idx], y[train_idx]
    steps_per_epoch = math.ceil(config.train_size / config.batch_size)
    num_logged = config.num_epochs * steps_per_epoch // config.log_every
    losses = torch.full((len(TRAINED), len(config.seeds), num_logged), float("nan"))  # (network, seed, logged)
    results = {name: {"val_acc": [], "test_acc": [], "final_train_loss": [], "dead_fraction": []} for name in TRAINED}
    for n, name in enumerate(TRAINED):
        for k, seed in enumerate(config.seeds):
            torch.manual_seed(seed)
            model = trained_model(name, config).to(device)
            opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
            g = torch.Generator().manual_seed(seed)
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
                        losses[n, k, step // config.log_every - 1] = sum(running) / len(running)
                        running = []
                runs.check_finite(epoch, loss=loss.item())
                _, val_acc = common.evaluate(model, X_val, y_val, device=device)
                test_loss, test_acc = common.evaluate(model, X_test, y_test, device=device)
                run.log_epoch(epoch, network=name, seed=seed, val_acc=val_acc, test_loss=test_loss, test_acc=test_acc)
            r = results[name]
            r["val_acc"].append(val_acc)
            r["test_acc"].append(test_acc)
            r["final_train_loss"].append(losses[n, k, -1].item())
            r["dead_fraction"].append(dead_fraction(model, X_test[:config.dead_probe_size].to(device)))
        run.metrics[name] = results[name]  # per seed
        for key in ("val_acc", "test_acc", "dead_fraction"):
            run.metrics[f"{key}/{name}"] = sum(results[name][key]) / len(config.seeds)  # mean over seeds

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
    gain4 = norms_gain4.mean(0)  # (L,)
    run.metrics[f"grad_ratio/{COMPENSATED}/sigmoid"] = (gain4[1] / gain4[-2]).item()
    run.metrics.update({"activations": list(ACTIVATIONS), "trained": list(TRAINED), "inits": list(INITS),
                        "seeds": list(config.seeds), "grid_max": config.grid_max, "depth": config.depth,
                        "width": config.width, "log_every": config.log_every,
                        "dead_probe_size": min(config.dead_probe_size, len(X_test))})
    run.metrics["best_on_validation"] = max((a for a in TRAINED if not a.startswith("sigmoid")),
                                            key=lambda a: run.metrics[f"val_acc/{a}"])
    run.metrics = common.headline_first(run.metrics, ["test_acc/sigmoid", "test_acc/sigmoid_gain4", "test_acc/relu",
                                                      "grad_ratio/recommended gain/sigmoid"])
    run.save_tensors("results", {**funcs, "grad_norms": norms, "grad_norms_sigmoid_gain4": norms_gain4,
                                 "train_losses": losses})


@torch.no_grad()
def mean_sigmoid_derivative(model: DeepMLP, X: torch.Tensor) -> float:
    """The mean of sigma'(a) = h (1 - h) over the hidden units after the first layer and the images X."""
    _, hidden = model(X, return_hidden=True)
    return torch.cat([(h * (1 - h)).flatten() for h in hidden[1:]]).mean().item()


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
    colors = common.palette()
    fig, (ax_f, ax_d) = plots.figure(1, 2, height=3.0, sharex=True)
    for a, act in enumerate(run.metrics["activations"]):
        style = {"color": colors[a], "ls": LINESTYLES.get(act, "-"), "label": LABELS[act]}
        ax_f.plot(t["x"], t["values"][a], **style)
        ax_d.plot(t["x"], t["derivatives"][a], **style)
    ax_f.set_title(r"$\varphi(x)$")
    ax_d.set_title(r"$\varphi'(x)$")
    ax_f.set_ylim(-1.5, 3)
    for ax in (ax_f, ax_d):
        ax.set_xlabel("$x$")
        ax.axhline(0, color=common.neutral(), lw=0.6)
    ax_f.legend(fontsize=8)
    return common.finish(fig)


def plot_grad_norms(run: runs.Run):
    """Per-layer gradient norm at initialisation (mean over inits; band: min to max), one panel per init;
    the sigmoid with gain 4 joins the recommended-gain panel."""
    t = run.load_tensors("results")
    norms = t["grad_norms"]  # (A, I, S, L)
    layers = torch.arange(1, norms.shape[-1] + 1)
    colors = common.palette()
    fig, axes = plots.figure(1, len(run.metrics["inits"]), height=3.6, sharey=True)
    series = []
    for i, (ax, init) in enumerate(zip(axes, run.metrics["inits"], strict=True)):
        for a, act in enumerate(run.metrics["activations"]):
            series.append((ax, norms[a, i], colors[a], LINESTYLES.get(act, "-"), LABELS[act]))
        ax.set_yscale("log")
        ax.set_title(init)
        ax.set_xlabel("layer (1 = input side)")
        ax.set_xticks(layers)
    if "grad_norms_sigmoid_gain4" in t:
        series.append((axes[-1], t["grad_norms_sigmoid_gain4"], colors[7], ":", LABELS["sigmoid_gain4"]))
    for ax, n, color, ls, label in series:  # n: (S, L)
        ax.plot(layers, n.mean(0), marker="o", ms=3, color=color, ls=ls, label=label)
        ax.fill_between(layers, n.min(0).values, n.max(0).values, color=color, alpha=0.15, lw=0)
    axes[0].set_ylabel(r"$\|\partial \mathcal{L} / \partial W_\ell\|$")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)  # below: covers no line
    return common.finish(fig)


def plot_training(run: runs.Run):
    """Training loss of each network (mean over seeds), legend below the axes."""
    t = run.load_tensors("results")
    losses = t["train_losses"]  # (network, seed, logged steps)
    steps = torch.arange(1, losses.shape[-1] + 1) * run.metrics["log_every"]
    colors = common.palette()
    fig, ax = plots.figure(height=3.4)
    for n, name in enumerate(run.metrics["trained"]):
        color = colors[7] if name == "sigmoid_gain4" else colors[n]
        ls = ":" if name == "sigmoid_gain4" else LINESTYLES.get(name, "-")
        ax.plot(steps, losses[n].mean(0), color=color, lw=1.3, ls=ls,
                label=f"{LABELS[name]} ({100 * run.metrics[f'test_acc/{name}']:.1f}%)")
    ax.set_xlabel("training step")
    ax.set_ylabel("training cross-entropy")
    ax.set_yscale("log")
    fig.legend(loc="outside right center", fontsize=8, title="test accuracy", title_fontsize=8)
    return common.finish(fig)


def _mean_sd(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    v = torch.tensor(values, dtype=torch.float64) * scale
    return f"{v.mean().item():.{digits}f} ± {v.std().item() if len(v) > 1 else 0.0:.{digits}f}"


def summary_table(run: runs.Run) -> pd.DataFrame:
    """Per network: the largest derivative, the gradient ratio of layer 2 to layer depth-1 at
    initialisation, and validation and test accuracy (mean ± standard deviation over seeds)."""
    m = run.metrics
    rows = []
    for name in m["trained"]:
        act = "sigmoid" if name == "sigmoid_gain4" else name
        init = COMPENSATED if name == "sigmoid_gain4" else "recommended gain"
        rows.append({"network": LABELS[name], "max φ′": f"{m[f'max_derivative/{act}']:.3f}",
                     "ratio, default init": fmt_sci(m[f"grad_ratio/PyTorch default/{act}"]),
                     "ratio, its init": fmt_sci(m[f"grad_ratio/{init}/{act}"]),
                     "validation acc. (%)": _mean_sd(m[name]["val_acc"]),
                     "test acc. (%)": _mean_sd(m[name]["test_acc"])})
    return pd.DataFrame(rows).set_index("network")


# --- what the essay states ---------------------------------------------------------------------------

fmt_sci = common.sci


@dataclass(frozen=True)
class ActivationsFacts:
    """What theory/activations.qmd states about its run. Accuracy comparisons: Welch 95% t intervals over
    the training seeds."""

    run: runs.Run
    config: ActivationsConfig
    metrics: dict
    x_max: str  # the plotted range's end
    slope: str  # leaky ReLU's negative slope
    ratio: dict[tuple[str, str], float]  # (init, activation) -> gradient norm of layer 2 / layer depth-1
    ratio_text: dict[tuple[str, str], str]  # the same as text ('4.7 × 10⁻⁵')
    default_init: str
    recommended_init: str  # calculate_gain's initialisation
    compensated: str  # the sigmoid's gain-4 initialisation
    quarter_power: float  # (1/4) ** (depth - 3): sigma'(0) once per layer between layer 2 and layer depth-1
    quarter_power_text: str
    others: list[str]  # every activation but the sigmoid
    others_ratio_range: tuple[float, float]  # min and max ratio of the others (recommended gain)
    default_ratio_max: tuple[str, str]  # PyTorch's default init: the largest ratio of any activation (label, text)
    num_seeds: int
    test: dict[str, float]  # network -> mean test accuracy over seeds
    test_sd: dict[str, float]  # ... and its standard deviation over seeds
    final_loss: dict[str, float]  # network -> mean training loss of the last logged steps
    chance_loss: float  # ln 10: the loss of a uniform guess
    sigmoid_learns: str  # "does not learn" | "learns only slowly" | "learns"
    gain4_learns: str  # the same for the sigmoid with gain 4
    gain4_vs_sigmoid: compare.Comparison  # test accuracy: gain 4 minus gain 1
    best: str  # label of the best non-sigmoid network on validation
    best_vs_others: dict[str, compare.Comparison]  # test accuracy, best minus each other non-sigmoid network
    best_ahead_of: str  # prose: which ones it is clearly ahead of on test
    others_accuracy_range: tuple[float, float]  # min and max mean test accuracy of the others
    gain4_points: str  # '+1.2 points (95% interval [...])': test accuracy, gain 4 minus gain 1
    gain4_word: str  # what that interval says
    mean_derivative: dict[str, float]  # init -> mean sigma'(a) over the sigmoid's hidden units at initialisation
    orders: dict[str, float]  # init -> orders of magnitude the sigmoid's gradient loses from layer depth-1 to 2
    gain4_ratio: compare.Comparison  # log10 of the sigmoid's ratio, gain 4 minus gain 1, over the initialisations
    gain4_ratio_word: str  # "raised" | "lowered" | "did not clearly change"
    parameters: dict[str, int]  # trainable parameters of the network
    card_seeds: str
    card_error_bars: str


def learns(final_loss: float, chance_loss: float) -> str:
    """From the training loss at the end against a uniform guess's (ln 10): 'does not learn' within a
    tenth of it, 'learns' below a quarter of it, 'learns only slowly' in between."""
    if final_loss >= 0.9 * chance_loss:
        return "does not learn"
    return "learns" if final_loss < 0.25 * chance_loss else "learns only slowly"


def ahead_of(comparisons: dict[str, compare.Comparison], labels: dict[str, str]) -> str:
    """'every other activation' / 'tanh and GELU, but not clearly of ReLU' / 'none of the others clearly'."""
    ahead = [labels[k] for k, c in comparisons.items() if c.word == compare.HIGHER]
    rest = [labels[k] for k, c in comparisons.items() if c.word != compare.HIGHER]
    if not rest:
        return "clearly ahead of every other one"
    if not ahead:
        return "not clearly ahead of any other"
    return f"clearly ahead of {fmt.and_list(ahead)}, not clearly of {fmt.and_list(rest)}"


def facts() -> ActivationsFacts:
    run = runs.load_or_train(ActivationsConfig())
    m = run.metrics
    ratio = {(i, a): m[f"grad_ratio/{i}/{a}"] for i in m["inits"] for a in m["activations"]}
    ratio[COMPENSATED, "sigmoid"] = m[f"grad_ratio/{COMPENSATED}/sigmoid"]
    default, recommended = m["inits"]
    others = [a for a in m["activations"] if a != "sigmoid"]
    others_ratio = [ratio[recommended, a] for a in others]
    t = torch.tensor
    test = {n: m[f"test_acc/{n}"] for n in m["trained"]}
    test_sd = {n: t(m[n]["test_acc"]).std().item() if len(m[n]["test_acc"]) > 1 else 0.0 for n in m["trained"]}
    final = {n: sum(m[n]["final_train_loss"]) / len(m[n]["final_train_loss"]) for n in m["trained"]}
    chance = math.log(10)
    best = m["best_on_validation"]
    best_vs = {a: compare.seeds(m[best]["test_acc"], m[a]["test_acc"]) for a in others if a != best}
    q = 0.25 ** (m["depth"] - 3)
    top = max(m["activations"], key=lambda a: ratio[default, a])  # the least gradient lost, default init
    gain4_ratio = compare.seeds(*(log_ratios(n) for n in sigmoid_norms(run)))
    return ActivationsFacts(
        run, run.config, m, f"{m['grid_max']:g}", f"{LEAKY_SLOPE:g}", ratio,
        {k: fmt_sci(v) for k, v in ratio.items()}, default, recommended, COMPENSATED, q, fmt_sci(q), others,
        (min(others_ratio), max(others_ratio)),
        (LABELS[top], fmt_sci(ratio[default, top])),
        len(m["seeds"]), test, test_sd, final, chance,
        learns(final["sigmoid"], chance), learns(final["sigmoid_gain4"], chance),
        compare.seeds(m["sigmoid_gain4"]["test_acc"], m["sigmoid"]["test_acc"]), LABELS[best], best_vs,
        ahead_of(best_vs, LABELS), (min(test[a] for a in others), max(test[a] for a in others)),
        points(compare.seeds(m["sigmoid_gain4"]["test_acc"], m["sigmoid"]["test_acc"])),
        compare.seeds(m["sigmoid_gain4"]["test_acc"], m["sigmoid"]["test_acc"]).say(
            higher="clearly higher", lower="clearly lower",
            same=f"not clearly different over {len(m['seeds'])} seeds",
            unranked="from one seed, not ranked"),
        {i: m[f"mean_derivative_at_init/{i}/sigmoid"] for i in (recommended, COMPENSATED)
         if f"mean_derivative_at_init/{i}/sigmoid" in m},
        {i: -math.log10(ratio[i, "sigmoid"]) for i in (recommended, COMPENSATED)},
        gain4_ratio, gain4_ratio.say(higher="raised", lower="lowered", same="did not clearly change",
                                     unranked="did not clearly change"),
        {f"{m['depth']}-layer MLP": common.count_params(DeepMLP("relu", m["depth"], m["width"]))},
        f"one stored run: {len(m['trained'])} networks × {len(m['seeds'])} seeds ({', '.join(map(str, m['seeds']))}); "
        f"gradient norms over {run.config.grad_inits} initialisations; the data split is fixed (seed {run.config.seed})",
        f"± is one standard deviation over the {len(m['seeds'])} seeds; accuracy comparisons are Welch 95% t "
        "intervals over the seeds, the sigmoid's gain-4 gradient ratio against gain 1 one over the "
        "initialisations (log10 of the ratio); gradient-norm bands span the initialisations (minimum to maximum)")


def sigmoid_norms(run: runs.Run) -> tuple[torch.Tensor, torch.Tensor]:
    """The sigmoid's per-layer gradient norms at initialisation, (initialisation, layer): gain 4, gain 1."""
    t = run.load_tensors("results")
    a, i = run.metrics["activations"].index("sigmoid"), run.metrics["inits"].index("recommended gain")
    return t["grad_norms_sigmoid_gain4"], t["grad_norms"][a, i]


def log_ratios(norms: torch.Tensor) -> list[float]:
    """Per initialisation, log10 of the gradient norm of layer 2 over that of layer depth-1: (S, L) -> S values."""
    return torch.log10(norms[:, 1] / norms[:, -2]).tolist()


def points(c: compare.Comparison) -> str:
    return f"{100 * c.a_minus_b:+.1f} points (95% interval {c.interval(100, 1)})"
