"""Figures of the IMDb sentiment page. Each function takes stored runs (or analysis results) and returns
a `matplotlib.figure.Figure`; none of them trains.

Colours come from the current style's cycle (`hw3.plots.style`: Okabe-Ito, its dark variant under the dark
rendering), by position, so a figure drawn twice by `plots.renderings` keeps its hues and stays readable on
the dark page: 0 blue (last token, random deletion), 1 orange (attention), 2 bluish green (mean pooling,
correct predictions), 3 vermilion (wrong predictions), 4 reddish purple (TF-IDF, gradient × input)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import compare, plots, runs
from . import analysis, metrics

COLOUR_INDEX = {"baseline": 0, "attention": 1, "meanpool": 2, "tfidf": 4}  # into the style's colour cycle


def _palette() -> list[str]:
    """The current style's colour cycle (light or dark rendering)."""
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def colour(model: str) -> str:
    return _palette()[COLOUR_INDEX[model]]


def _muted() -> str:
    """A neutral for reference lines, readable on the current style's background."""
    return "#B0B0B0" if plt.rcParams["axes.facecolor"] not in ("white", "#ffffff", "#FFFFFF", "w") else "#595959"


def _ink() -> str:
    """The style's text colour, for legend proxies that stand for a line style, not a model."""
    return plt.rcParams["text.color"]

MARKERS = {"baseline": "o", "attention": "s", "meanpool": "^", "tfidf": "D"}
SHORT = {"baseline": "last token", "attention": "attention", "meanpool": "mean pooling", "tfidf": "TF-IDF + LR"}


def _shown(fig):
    """Detach the figure from pyplot: a notebook then shows it once, as the cell's value, and not a
    second time when the inline backend flushes the figures that are still open."""
    plt.close(fig)
    return fig


def _by_model(run_list: list[runs.Run]) -> dict[str, list[runs.Run]]:
    out: dict[str, list[runs.Run]] = {}
    for r in run_list:
        out.setdefault(analysis.model_of(r), []).append(r)
    return out


def training_curves(final: list[runs.Run]):
    """Loss and accuracy per epoch, training (dashed) and validation (solid), one line per seed."""
    fig, (ax_loss, ax_acc) = plots.figure(1, 2, height=3.2)
    for model, rs in _by_model(final).items():
        for j, r in enumerate(rs):
            h = r.history_frame()
            label = SHORT[model] if j == 0 else None
            kw = {"color": colour(model), "alpha": 0.9 if j == 0 else 0.45, "lw": 1.4, "marker": "o", "ms": 2.5}
            ax_loss.plot(h["epoch"], h["train_loss"], ls="--", **kw)
            ax_loss.plot(h["epoch"], h["val_loss"], ls="-", label=label, **kw)
            ax_acc.plot(h["epoch"], 100 * h["train_accuracy"], ls="--", **kw)
            ax_acc.plot(h["epoch"], 100 * h["val_accuracy"], ls="-", **kw)
            best = r.metrics.get("best_epoch")
            if best:  # a ring, larger than the curves' markers, so the kept epoch stands out
                ax_acc.plot(best, 100 * r.metrics["val_accuracy"], "o", ms=8, mfc="none", mew=1.3, color=colour(model))
    ax_loss.set(xlabel="epoch", ylabel="binary cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy (ring: kept epoch)")
    ax_loss.plot([], [], "--", color=_ink(), lw=1, label="training")
    ax_loss.plot([], [], "-", color=_ink(), lw=1, label="validation")
    ax_loss.legend(fontsize=8, loc="upper center")
    last = max(len(r.history) for r in final)
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, last + 0.5)
    return _shown(fig)


def max_len_sweep(sweep: list[runs.Run], chosen: dict[str, int]):
    """Validation accuracy against the maximum review length, per model; the chosen length circled."""
    fig, ax = plots.figure(height=3.0, width=5.0)
    for model, rs in _by_model(sweep).items():
        rs = sorted(rs, key=lambda r: r.config_dict["max_len"])
        L = [r.config_dict["max_len"] for r in rs]
        acc = [100 * r.metrics["val_accuracy"] for r in rs]
        ax.plot(L, acc, "o-", color=colour(model), label=SHORT[model])
        if model in chosen and chosen[model] in L:
            i = L.index(chosen[model])
            ax.plot(L[i], acc[i], "o", ms=12, mfc="none", mec=colour(model), mew=1.5)
    ax.set(xscale="log", xlabel="max_len (tokens kept per review)", ylabel="validation accuracy (%)")
    ax.set_xticks(sorted({r.config_dict["max_len"] for r in sweep}))
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.minorticks_off()
    ax.legend()
    return _shown(fig)


def confusion_matrices(run_list: list[runs.Run]):
    """Row-normalised confusion matrices (counts printed), one per run."""
    fig, axes = plots.figure(1, len(run_list), height=3.0, squeeze=False)
    for ax, r in zip(axes[0], run_list, strict=True):
        cm = np.array(r.metrics["confusion"], dtype=float)
        frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(frac, cmap=plots.SEQUENTIAL, vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{int(cm[i, j]):,}\n{100 * frac[i, j]:.1f}%", ha="center", va="center", fontsize=10,
                        color="white" if frac[i, j] < 0.5 else "black")
        ax.set_xticks([0, 1], ["neg", "pos"], fontsize=10)
        ax.set_yticks([0, 1], ["neg", "pos"], fontsize=10)
        ax.set(xlabel="predicted", ylabel="true", title=SHORT[analysis.model_of(r)])
        ax.grid(False)
    return _shown(fig)


def length_quartiles(run_list: list[runs.Run]):
    """Test accuracy in each quartile of review length, per model (mean over seeds, bars: min-max)."""
    fig, ax = plots.figure(height=3.0)
    groups = _by_model(run_list)
    width = 0.8 / len(groups)
    labels = None
    for g, (model, rs) in enumerate(groups.items()):
        acc = np.array([[100 * q["accuracy"] for q in r.metrics["length_quartiles"]] for r in rs])  # (seeds, 4)
        x = np.arange(4) + (g - (len(groups) - 1) / 2) * width
        mean = acc.mean(0)
        err = np.vstack([mean - acc.min(0), acc.max(0) - mean])
        # points, not bars: the axis starts near the accuracies, where bar lengths would mislead
        ax.errorbar(x, mean, yerr=err if len(rs) > 1 else None, fmt=MARKERS[model], ms=6, color=colour(model),
                    label=SHORT[model], capsize=3, lw=1.2)
        labels = [f"Q{q['quartile']}\n{q['min_tokens']}–{q['max_tokens']} tokens"
                  for q in rs[0].metrics["length_quartiles"]]
    ax.set_xticks(np.arange(4), labels, fontsize=8)
    lo = min(100 * q["accuracy"] for r in run_list for q in r.metrics["length_quartiles"])
    hi = max(100 * q["accuracy"] for r in run_list for q in r.metrics["length_quartiles"])
    ax.set(ylabel="test accuracy (%)", ylim=(lo - 0.5, hi + 1.4))  # headroom for the legend
    ax.legend(ncols=len(groups), fontsize=8, loc="upper center")
    return _shown(fig)


def _confidence(r: runs.Run) -> tuple[np.ndarray, np.ndarray]:
    t = r.load_tensors("test_predictions")
    p, y = t["prob_pos"].numpy().astype(float), t["label"].numpy()
    pred = p >= 0.5
    return np.where(pred, p, 1 - p), pred == y


def confidence_histograms(run_list: list[runs.Run]):
    """Histogram of the predicted class's probability, correct vs wrong predictions, one panel per run."""
    fig, axes = plots.figure(1, len(run_list), height=2.8, squeeze=False, sharey=True)
    bins = np.linspace(0.5, 1.0, 26)
    c = _palette()
    for ax, r in zip(axes[0], run_list, strict=True):
        conf, ok = _confidence(r)
        ax.hist(conf[ok], bins=bins, color=c[2], alpha=0.75, label="correct")
        ax.hist(conf[~ok], bins=bins, color=c[3], alpha=0.75, hatch="///", edgecolor="white",
                lw=0, label="wrong")
        ax.set(xlabel="confidence max(p, 1 − p)", title=SHORT[analysis.model_of(r)], yscale="log")
    axes[0, 0].set_ylabel("test reviews (log scale)")
    axes[0, 0].legend(fontsize=8)
    return _shown(fig)


def reliability_diagram(run_list: list[runs.Run], n_bins: int = metrics.ECE_BINS):
    """Accuracy against confidence in 15 bins over [0.5, 1] (diagonal: perfect calibration), one line per
    run (seed), the legend giving each model's ECE per seed; below, the reviews per bin (seed 0)."""
    fig, (ax, ax_n) = plots.figure(2, 1, height=4.6, width=5.5, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0.5, 1], [0.5, 1], color=_muted(), lw=1, ls=":", label="perfect calibration")
    markers = MARKERS
    lowest = 0.5
    for model, rs in _by_model(run_list).items():
        eces = []
        for j, r in enumerate(rs):
            t = r.load_tensors("test_predictions")
            y, p = t["label"].numpy(), t["prob_pos"].numpy()
            bins = metrics.reliability_bins(y, p, n_bins)
            filled = bins[bins["count"] > 0]
            eces.append(100 * metrics.expected_calibration_error(y, p, n_bins))
            lowest = min(lowest, float(filled["accuracy"].min()))
            ax.plot(filled["confidence"], filled["accuracy"], "-", marker=markers.get(model, "o"), ms=3, lw=1.2,
                    color=colour(model), alpha=1.0 if j == 0 else 0.5)
            if j == 0:
                centres = (bins["lower"] + bins["upper"]) / 2
                ax_n.plot(centres, bins["count"], drawstyle="steps-mid", color=colour(model))
        ax.plot([], [], "-", marker=markers.get(model, "o"), ms=3, color=colour(model),
                label=f"{SHORT[model]} (ECE {' / '.join(f'{e:.1f}' for e in eces)}%)")
    ax.set(ylabel="accuracy", xlim=(0.5, 1.0), ylim=(min(0.45, lowest - 0.05), 1.01))
    ax.legend(fontsize=7.5, loc="lower right", title="ECE per seed", title_fontsize=7.5)
    ax_n.set(xlabel="confidence (probability of the predicted class)", ylabel="reviews (seed 0)", yscale="log")
    return _shown(fig)


def faithfulness(pooled: dict[str, np.ndarray]):
    """Mean drop in confidence after deleting the k most-attended tokens, the k tokens with the largest
    gradient × input, or k random tokens (`facts.faithfulness_pooled`: per review, averaged over seeds);
    error bars: 95% t intervals of the mean over the reviews (`hw3.compare`, against zero)."""
    fig, ax = plots.figure(height=3.2, width=5.5)
    ks = pooled["ks"]
    c = _palette()
    for name, hue, marker, ls, label in (
            ("gradient_drop", c[4], "D", "-.", "largest gradient × input removed"),
            ("attention_drop", c[1], "s", "-", "most-attended removed"),
            ("random_drop", c[0], "o", "--", "random tokens removed")):
        d = 100 * pooled[name].astype(float)  # (K, N)
        cis = [compare.paired(row, np.zeros_like(row)) for row in d]  # the t interval of each k's mean
        mean = np.array([ci.a_minus_b for ci in cis])
        err = np.array([[ci.a_minus_b - ci.low for ci in cis], [ci.high - ci.a_minus_b for ci in cis]])
        ax.errorbar(ks, mean, yerr=err, fmt=marker, ls=ls, color=hue, capsize=3, ms=4, label=label)
    ax.axhline(0, color=_muted(), lw=0.8)
    ax.set(xscale="log", xlabel="k (tokens removed)", ylabel="mean confidence drop (pp)")
    ax.set_xticks(ks)
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="upper left")
    return _shown(fig)


def attention_heatmaps(examples: list[analysis.Example], window: int = 16):
    """For each review: the attention weights of the `window` tokens around its most-attended token."""
    fig, axes = plots.figure(len(examples), 1, height=1.55 * len(examples) + 0.3, squeeze=False)
    for ax, ex in zip(axes[:, 0], examples, strict=True):
        w = ex.weights
        peak = int(np.argmax(w))
        start = int(np.clip(peak - window // 2, 0, max(len(w) - window, 0)))
        sel = slice(start, start + window)
        ax.imshow(w[sel][None, :], aspect="auto", cmap=plots.SEQUENTIAL, vmin=0, vmax=float(w.max()))
        ax.set_xticks(np.arange(len(w[sel])), ex.words[sel], rotation=40, ha="right", rotation_mode="anchor",
                      fontsize=9)
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"review {ex.review_id}: true {'pos' if ex.label else 'neg'}, P(pos) = {ex.prob_pos:.2f}, "
                     f"tokens {start + 1}–{start + len(w[sel])} of {len(w)}", fontsize=9, loc="left")
    return _shown(fig)
