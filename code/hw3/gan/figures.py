"""Figures of the GAN chapter. Each function takes stored results (runs, tensors, tables) and returns a
matplotlib Figure; none of them trains."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import torch

from .. import plots
from ..runs import Run

DIGIT_CMAP = "gray_r"  # dark digits on white: reads well on screen and in print


def mosaic(images: torch.Tensor, pad: int = 2, pad_value: float = 0.15) -> np.ndarray:
    """(R, C, 1, 28, 28) in [0, 1] -> one (R*(28+pad)-pad, C*(28+pad)-pad) array."""
    R, C = images.shape[:2]
    h, w = images.shape[-2:]
    out = np.full((R * (h + pad) - pad, C * (w + pad) - pad), pad_value, dtype=np.float32)
    imgs = images.reshape(R, C, h, w).cpu().numpy()
    for r in range(R):
        for c in range(C):
            out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = imgs[r, c]
    return out


def _show(ax, array: np.ndarray) -> None:
    ax.imshow(array, cmap=DIGIT_CMAP, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _row_labels(ax, labels: list[str], size: int = 28, pad: int = 2) -> None:
    ax.set_yticks([i * (size + pad) + size / 2 for i in range(len(labels))])
    ax.set_yticklabels(labels)
    ax.tick_params(axis="y", length=0)


def progress(run: Run, num_samples: int = 12):
    """The same fixed latent codes decoded after each stored epoch: one row per epoch."""
    grids = run.load_tensors("progress")
    epochs = sorted(int(k.split("_")[1]) for k in grids if k.startswith("epoch_"))
    rows = torch.stack([grids[f"epoch_{e}"][:num_samples] for e in epochs])  # (E, S, 1, 28, 28)
    fig, ax = plots.figure(height=0.58 * len(epochs) + 0.2)
    _show(ax, mosaic(rows))
    _row_labels(ax, [f"epoch {e}" for e in epochs])
    return fig


def samples(images: torch.Tensor, ncols: int = 16):
    """A grid of images (N, 1, 28, 28) in [0, 1]."""
    n = len(images) - len(images) % ncols or len(images)
    rows = images[:n].reshape(-1, min(ncols, n), *images.shape[1:])  # (R, C, 1, 28, 28)
    fig, ax = plots.figure(height=plots.WIDTH * rows.shape[0] / rows.shape[1])
    _show(ax, mosaic(rows))
    return fig


def training_curves(run: Run):
    """Per-epoch losses, mean discriminator outputs, and discriminator accuracy on real and fake."""
    h = run.history_frame()
    fig, axes = plots.figure(1, 3, height=2.6)
    c = _palette()
    kw = {"marker": "o" if len(h) <= 10 else None, "lw": 1.4}  # a point per epoch when there are few
    axes[0].plot(h.epoch, h.loss_d, color=c[0], label="D loss", **kw)
    axes[0].plot(h.epoch, h.loss_g, color=c[1], label="G loss", **kw)
    axes[0].set(title="losses (BCE)", xlabel="epoch")
    axes[1].plot(h.epoch, h.d_real, color=c[2], label="real: D(x)", **kw)
    axes[1].plot(h.epoch, h.d_fake, color=c[3], label="fake: D(G(z))", **kw)
    axes[1].axhline(0.5, color=_muted(), lw=0.8, ls="--", label="equilibrium")
    axes[1].set(title="mean D output", xlabel="epoch", ylim=(0, 1))
    axes[2].plot(h.epoch, h.acc_real, color=c[2], **kw)  # same colours as D(x) and D(G(z)): one legend entry each
    axes[2].plot(h.epoch, h.acc_fake, color=c[3], **kw)
    axes[2].set(title="D accuracy", xlabel="epoch", ylim=(0, 1.02))
    # one legend under the three panels (constrained layout keeps it clear of the epoch labels)
    plots.legend_outside(fig, "lower center", ncols=5)
    return fig


def interpolation(paths: dict[str, torch.Tensor]):
    """Rows of images along latent paths: for each pair, the linear path above the spherical one."""
    lin, sph = paths["linear"], paths["spherical"]  # (P, T, 1, 28, 28) each
    rows = torch.stack([x for pair in zip(lin, sph, strict=True) for x in pair])  # (2P, T, 1, 28, 28)
    labels = [f"pair {i + 1} {kind}" for i in range(len(lin)) for kind in ("linear", "spherical")]
    fig, ax = plots.figure(height=plots.WIDTH * rows.shape[0] / rows.shape[1] * 0.85)
    _show(ax, mosaic(rows))
    _row_labels(ax, labels)
    return fig


def class_histogram(counts: dict[str, list[int]]):
    """Share of each digit class (as the judge predicts it) for several image sets, with the uniform 10%."""
    fig, ax = plots.figure(height=2.8)
    width = 0.8 / len(counts)
    digits = np.arange(10)
    hatches = ["", "//", ".."]  # a second cue besides colour
    for i, (label, c) in enumerate(counts.items()):
        c = np.asarray(c, dtype=float)
        ax.bar(digits - 0.4 + width * (i + 0.5), c / c.sum(), width, label=label, color=_palette()[i],
               hatch=hatches[i % len(hatches)])
    ax.axhline(0.1, color=_muted(), lw=0.8, ls="--", label="uniform")
    ax.set(xticks=digits, xlabel="predicted digit", ylabel="share of samples")
    plots.legend_outside(ax, "upper center", ncols=len(counts) + 1)
    return fig


def nearest_neighbours(nn: dict[str, torch.Tensor]):
    """Generated digits (top row) above their nearest training digits in pixel space, with the distances."""
    s, n, d = nn["samples"], nn["neighbours"], nn["distances"]
    rows = torch.stack([s, n])  # (2, S, 1, 28, 28)
    fig, ax = plots.figure(height=plots.WIDTH * 2 / len(s) + 0.35)
    _show(ax, mosaic(rows))
    _row_labels(ax, ["generated", "nearest\ntraining"])
    ax.set_xticks([i * 30 + 14 for i in range(len(s))])
    ax.set_xticklabels([f"{v:.1f}" for v in d.tolist()])
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("pixel distance (L2, images in [0, 1])")
    return fig


def _palette() -> list[str]:
    """The current style's colour cycle (light or dark rendering)."""
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _muted() -> str:
    """A neutral for reference lines and their labels, readable (>= 4.5:1) on the current style's background."""
    return "#B0B0B0" if plt.rcParams["axes.facecolor"] not in ("white", "#ffffff", "#FFFFFF", "w") else "#595959"


def _variant_style(name: str, round_: str) -> tuple[str, str]:
    """(colour, marker) of a variant: the spec, the planned round, the follow-up round."""
    c = _palette()
    return {"spec": (c[1], "D"), "planned": (c[0], "o")}.get(round_, (c[2], "s")) if name != "spec" else (c[1], "D")


def _round_legend(fig) -> None:
    """The markers' meaning, under the figure: spec, planned round, follow-up round."""
    c = _palette()
    handles = [plt.Line2D([], [], ls="", marker=m, color=col, label=lab)
               for lab, col, m in (("spec", c[1], "D"), ("planned round", c[0], "o"), ("follow-up round", c[2], "s"))]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)


def study(grouped: dict, val, target: dict, floor_val: dict, min_seeds: int):
    """Validation FID and class entropy of every seed of every variant (one dot per seed, a bar at the
    mean); hollow markers: fewer than `min_seeds` seeds (not ranked). FID on a linear axis from 0, so the
    real digits' floor (dotted) sits at its left edge and the variants' spread stays readable."""

    v = val.iloc[::-1]  # the spec on top
    y = np.arange(len(v))
    fig, (a, b) = plots.figure(1, 2, height=0.3 * len(v) + 1.9, gridspec_kw={"width_ratios": [3, 2]})
    for yi, (_, row) in zip(y, v.iterrows(), strict=True):
        color, marker = _variant_style(row["variant"], row["round"])
        rs = grouped[row["variant"]]
        hollow = row["seeds"] < min_seeds and row["variant"] != "spec"
        face = "none" if hollow else color
        for ax, key in ((a, "fid"), (b, "class_entropy")):
            x = [r.metrics["val"][key] for r in rs]
            ax.scatter(x, [yi] * len(x), marker=marker, facecolors=face, edgecolors=color, s=28, zorder=3)
            ax.plot([np.mean(x)] * 2, [yi - 0.3, yi + 0.3], color=color, lw=1.6)
    a.axvline(floor_val["fid"], color=_muted(), ls=":", lw=1)
    a.set(xlim=(0, None), yticks=y, yticklabels=v["variant"], xlabel="validation FID (lower is better)")
    a.text(floor_val["fid"], len(v) - 0.4, " real digits", color=_muted(), fontsize=8, va="bottom")
    b.axvline(target["min_entropy"], color=_muted(), ls="--", lw=1)
    b.set(yticks=y, yticklabels=[], xlabel="class entropy")
    b.text(target["min_entropy"], len(v) - 0.4, f" {target['min_entropy']:g}", color=_muted(), fontsize=8, va="bottom")
    for ax in (a, b):
        ax.set_ylim(-0.6, len(v) - 0.2)
    _round_legend(fig)
    return fig


def validation_curves(curves: dict[str, list[tuple[list[int], list[float]]]]):
    """Validation FID against epoch for the runs that logged it (`val_every`): one colour and line style
    per variant, one line per seed; a log axis, since FID falls by an order of magnitude."""
    fig, ax = plots.figure(height=2.8)
    c = _palette()
    styles = ["-", "--", ":", "-."]
    for i, (name, seeds) in enumerate(curves.items()):
        for j, (epochs, fid) in enumerate(seeds):
            ax.plot(epochs, fid, color=c[i % len(c)], ls=styles[i % len(styles)], lw=1.4, marker="os^v"[i % 4],
                    ms=3, label=name if j == 0 else None)
    ax.set(yscale="log", xlabel="epoch", ylabel="validation FID (log scale)")
    ax.yaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(mticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    plots.legend_outside(ax, "center right")
    return fig


def tradeoff(grouped: dict, val, floor_val: dict, min_seeds: int):
    """Precision (fidelity) against recall (coverage) on the validation reference, one point per seed;
    each variant's name at its mean; hollow markers: fewer than `min_seeds` seeds."""

    fig, ax = plots.figure(height=4.2)
    labels = []  # (name, mean recall, mean precision)
    for _, row in val.iterrows():
        color, marker = _variant_style(row["variant"], row["round"])
        rs = grouped[row["variant"]]
        hollow = row["seeds"] < min_seeds and row["variant"] != "spec"
        p = [r.metrics["val"]["precision"] for r in rs]
        rc = [r.metrics["val"]["recall"] for r in rs]
        ax.scatter(rc, p, marker=marker, facecolors="none" if hollow else color, edgecolors=color, s=26, zorder=3)
        labels.append((row["variant"], float(np.mean(rc)), float(np.mean(p))))
    for name, x, yl in _spread_labels(labels):
        right = x > 0.7  # labels of points near the right edge go to their left
        ax.annotate(name, (x, yl[0]), xytext=(x - 0.012 if right else x + 0.012, yl[1]), fontsize=7, va="center",
                    ha="right" if right else "left", color=plt.rcParams["text.color"],
                    arrowprops={"arrowstyle": "-", "color": _muted(), "lw": 0.5} if abs(yl[1] - yl[0]) > 0.012 else None)
    ax.scatter([floor_val["recall"]], [floor_val["precision"]], marker="*", s=90, color=_muted(), zorder=3)
    ax.annotate("real digits", (floor_val["recall"], floor_val["precision"]), fontsize=8, xytext=(-4, 5),
                textcoords="offset points", ha="right", color=_muted())
    ax.set(xlabel="recall (coverage of real digits)", ylabel="precision (samples on the real manifold)",
           xlim=(0, 1.02), ylim=(0, 1.02))
    _round_legend(fig)
    return fig


def _spread_labels(labels: list[tuple[str, float, float]], dx: float = 0.14, dy: float = 0.028):
    """Label heights that do not collide: labels whose x lie within `dx` of each other are kept at least `dy`
    apart in y (pushed up in order of height). Returns (name, x, (y of the point, y of the label))."""
    placed: list[tuple[float, float]] = []
    out = []
    for name, x, y in sorted(labels, key=lambda t: t[2]):
        ly = y
        while any(abs(px - x) < dx and abs(py - ly) < dy for px, py in placed):
            ly += dy / 2
        placed.append((x, ly))
        out.append((name, x, (y, ly)))
    return out


def latent_walks(walks: dict[str, torch.Tensor]):
    """One row per generator: its digits along the same latent path (each (T, 1, 28, 28))."""
    rows = torch.stack(list(walks.values()))  # (G, T, 1, 28, 28)
    fig, ax = plots.figure(height=plots.WIDTH * rows.shape[0] / rows.shape[1] * 0.9 + 0.2)
    _show(ax, mosaic(rows))
    _row_labels(ax, list(walks))
    return fig
