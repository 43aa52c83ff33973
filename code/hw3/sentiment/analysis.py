"""Explaining the IMDb sentiment runs: attention examples (word highlighting), confident mistakes, the
published anchors and targets, and the report's tables.

Functions here take stored runs (or a trained model) and return numbers, tables or HTML; the metrics are
in `metrics`, the figures in `figures`. Nothing here trains.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from .. import data, fmt, runs, text
from .model import load_model, predict_proba


# Published accuracies on the same 25,000-review IMDb test set: literature values, not measured here.
class Published(NamedTuple):
    method: str
    accuracy: float
    citation: str


PUBLISHED = (
    Published("Maas et al. (2011): learned word vectors + bag of words, with unlabelled reviews", 0.8889,
              "A. L. Maas, R. E. Daly, P. T. Pham, D. Huang, A. Y. Ng, C. Potts. Learning Word Vectors for "
              "Sentiment Analysis. ACL 2011, Table 2 ('Our method (Full+Unlabeled+BoW)')."),
    Published("Dai & Le (2015): LSTM trained from scratch", 0.865,
              "A. M. Dai, Q. V. Le. Semi-supervised Sequence Learning. NeurIPS 2015, Table 1 "
              "('LSTM', 13.50% test error)."),
)
# How the data set labels a review from its star rating (Maas et al. 2011; `data.Review.label`): the
# neutral ratings 5 and 6 are not in it.
STARS = {"negative": (1, 4), "positive": (7, 10)}


def stars(label: str) -> str:
    """'7–10': the star ratings of a label."""
    lo, hi = STARS[label]
    return f"{lo}–{hi}"


# The targets (test accuracy, mean over seeds).
TARGETS = {"attention": 0.890, "attention_stretch": 0.895, "baseline": 0.870}
MODEL_LABELS = {
    "baseline": "GRU, last token (baseline)",
    "attention": "GRU + additive attention",
    "meanpool": "GRU, mean pooling",
    "tfidf": "TF-IDF + logistic regression",
}


@lru_cache(maxsize=1)
def imdb_test_reviews() -> data.ReviewFiles:
    """The raw IMDb test reviews (for quoting), in `data.imdb("test")` order; a review's file is read when
    it is first indexed, so quoting a few reviews does not read all 25,000."""
    return data.imdb_reviews("test")


# --- attention examples ------------------------------------------------------------------------------

@dataclass
class Example:
    """One test review as the model read it, with its attention weights."""

    review_id: int
    label: int
    prob_pos: float
    shown: str  # the normalised review text
    spans: list[tuple[str, int, int]]  # (token, start, end) in `shown`, the first max_len tokens
    weights: np.ndarray  # (len(spans),) attention weights; sum to 1
    truncated_at: int  # character offset after which the model read nothing (len(shown) if it read all)

    @property
    def words(self) -> list[str]:
        return [self.shown[a:b] for _, a, b in self.spans]


EXAMPLE_TOKENS = (40, 110)  # the example reviews' length range, in tokens


def attention_examples(run: runs.Run, n: int = 4, **kw) -> list[Example]:
    """`n` test reviews of moderate length (half negative, half positive), read by `run`'s model (needs
    the data; the chapter reads the stored ones, `artefacts.examples`)."""
    model, vocab, config = load_model(run)
    preds = run.load_tensors("test_predictions")
    return attention_examples_of(model, vocab, config, preds["index"].numpy(), preds["length"].numpy(),
                                 preds["label"].numpy(), n, **kw)


def attention_examples_of(model, vocab, config, index: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                          n: int = 4, *, min_tokens: int = EXAMPLE_TOKENS[0], max_tokens: int = EXAMPLE_TOKENS[1],
                          seed: int = 0) -> list[Example]:
    """`attention_examples` from a model and its stored test predictions' index, lengths and labels."""
    if model.attention is None:
        raise ValueError(f"{config.name} has no attention weights")
    reviews = imdb_test_reviews()
    rng = np.random.default_rng(seed)
    chosen = []
    for label in (0, 1):
        pool = [i for i, L, y in zip(index, lengths, labels, strict=True)
                if min_tokens <= L <= max_tokens and y == label]
        chosen += list(rng.choice(pool, size=min(n // 2 + n % 2 * label, len(pool)), replace=False))
    examples = []
    for i in chosen:
        r = reviews[int(i)]
        shown, spans = text.token_spans(r.text)
        spans = spans[: config.max_len]
        ids = torch.tensor(vocab.encode([t for t, _, _ in spans]), dtype=torch.int64)
        probs, weights = predict_proba(model, [ids], next(model.parameters()).device, with_weights=True)
        end = len(shown) if len(spans) < config.max_len else spans[-1][2]
        examples.append(Example(r.id, r.label, float(probs[0]), shown, spans, weights[0], end))
    return examples


TOP_WORDS = 5  # per review, the words with the largest weights also get a second cue (bold, underlined)
SHADE_RGB = (230, 159, 0)  # Okabe-Ito orange
DARK_TEXT_FROM = 0.55  # shade (alpha) from which a word is set in dark text, in the light and the dark theme


def _alpha(weight: float, peak: float) -> float:
    return 0.0 if peak <= 0 else min(1.0, weight / peak)


def _top(ex: Example, k: int = TOP_WORDS) -> set[int]:
    return set(np.argsort(-np.asarray(ex.weights), kind="stable")[:k].tolist())


def _head(ex: Example) -> str:
    return (f"Review {ex.review_id}: true {'positive' if ex.label else 'negative'}, "
            f"model P(positive) = {ex.prob_pos:.3f}")


def highlight_legend(top: int = TOP_WORDS) -> str:
    return (f"Each word's background is shaded by its attention weight (the strongest shade: the review's largest "
            f"weight); "
            f"the {fmt.word(top)} largest weights of each review are also bold and underlined; grey text lies beyond "
            f"max_len and was not read. The weight of a word is that of the GRU state at it, which summarises "
            f"the review up to that word.")


def highlight_html(examples: list[Example]) -> str:
    """The reviews as HTML, each word's background shaded by its attention weight (strongest shade = the
    review's largest weight; hover shows the weight), the `TOP_WORDS` largest also bold and underlined
    (a cue that does not rely on colour). Text the model did not read is greyed."""
    r, g, b = SHADE_RGB
    parts = [f"<p class='attention-legend' style='font-size:0.85em'>{html.escape(highlight_legend())}</p>"]
    for ex in examples:
        peak = float(ex.weights.max()) if len(ex.weights) else 0.0
        top = _top(ex)
        out, pos = [], 0
        for i, ((_, a, b_), w) in enumerate(zip(ex.spans, ex.weights, strict=True)):
            out.append(html.escape(ex.shown[pos:a]))
            word = html.escape(ex.shown[a:b_])
            if i in top:
                word = f"<strong style='text-decoration:underline'>{word}</strong>"
            alpha = _alpha(float(w), peak)
            # dark text on the strong shades: the dark theme's light text is unreadable on saturated orange
            ink = ";color:#111111" if alpha >= DARK_TEXT_FROM else ""
            out.append(f"<span title='weight {w:.3f}' style='background-color:rgba({r}, {g}, {b}, "
                       f"{alpha:.2f});border-radius:2px{ink}'>{word}</span>")
            pos = b_
        out.append(html.escape(ex.shown[pos:ex.truncated_at]))
        if ex.truncated_at < len(ex.shown):
            out.append(f"<span style='color:#767676'>{html.escape(ex.shown[ex.truncated_at:])}</span>")
        parts.append(f"<p style='margin:0.8em 0 0.2em 0;font-size:0.9em'>{html.escape(_head(ex))}</p>"
                     "<p style='line-height:1.7;margin-top:0'>" + "".join(out) + "</p>")
    return "<div class='attention-highlight'>" + "\n".join(parts) + "</div>"


def _typst_str(s: str) -> str:
    """A Typst string literal: shown exactly, whatever markup characters it holds."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ") + '"'


def highlight_typst(examples: list[Example]) -> str:
    """The same as `highlight_html`, as Typst markup for the PDF: text stays text (searchable,
    selectable), each word on a background shaded by its weight, the largest weights bold and underlined.
    Print it inside a ```{=typst} raw block."""
    r, g, b = SHADE_RGB
    parts = [f"#text(size: 0.85em)[#{_typst_str(highlight_legend())}]"]
    for ex in examples:
        peak = float(ex.weights.max()) if len(ex.weights) else 0.0
        top = _top(ex)
        out, pos = [], 0
        for i, ((_, a, b_), w) in enumerate(zip(ex.spans, ex.weights, strict=True)):
            gap = ex.shown[pos:a]
            if gap:
                out.append(f"#{_typst_str(gap)}")
            word = f"#{_typst_str(ex.shown[a:b_])}"
            if i in top:
                word = f"#underline[#strong[{word}]]"
            alpha = round(255 * _alpha(float(w), peak))
            out.append(f"#highlight(fill: rgb({r}, {g}, {b}, {alpha}), extent: 1pt)[{word}]" if alpha else word)
            pos = b_
        rest = ex.shown[pos:ex.truncated_at]
        if rest:
            out.append(f"#{_typst_str(rest)}")
        if ex.truncated_at < len(ex.shown):
            out.append(f"#text(fill: rgb(118, 118, 118))[#{_typst_str(ex.shown[ex.truncated_at:])}]")
        parts.append(f"#block(above: 1em, below: 0.3em)[#text(size: 0.9em)[#{_typst_str(_head(ex))}]]\n"
                     f"#block(above: 0.3em)[{''.join(out)}]")
    return "\n\n".join(parts)


# --- mistakes and tables -----------------------------------------------------------------------------

def opening(review: str, chars: int = 350) -> str:
    """A review's opening: whole sentences up to about `chars` characters (at least the first sentence).
    Never cut mid-sentence, so a table never shows a truncated cell."""
    sentences = re.split(r"(?<=[.!?])\s+", review.strip())
    out = sentences[0]
    for s in sentences[1:]:
        if len(out) + 1 + len(s) > chars:
            break
        out += " " + s
    return out


def compute_confident_mistakes(p: np.ndarray, y: np.ndarray, index: np.ndarray, n: int = 10,
                               excerpt_chars: int = 350) -> list[dict]:
    """The `n` test reviews predicted wrong with the highest confidence (P(positive) `p`, labels `y`,
    positions `index` in the test split), with their opening sentences (reads the raw reviews)."""
    wrong = np.flatnonzero((p >= 0.5) != y)
    conf = np.where(p >= 0.5, p, 1 - p)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:n]
    reviews = imdb_test_reviews()
    rows = []
    for j in order:
        r = reviews[int(index[j])]
        rows.append({"review": str(r.id), "stars": int(r.rating), "true": "pos" if r.label else "neg",
                     "P(pos)": round(float(p[j]), 6), "opening": opening(r.text, excerpt_chars)})
    return rows


def model_of(run: runs.Run) -> str:
    return run.config_dict.get("model", run.experiment)


def summary(final: list[runs.Run], tfidf: runs.Run | None = None) -> pd.DataFrame:
    """Test metrics per model: mean and standard deviation over seeds (numbers, for tables and prose)."""
    rows = []
    for r in [*final, *([tfidf] if tfidf else [])]:
        m = r.metrics
        rows.append({"model": model_of(r), "seed": r.config_dict.get("seed", 0),
                     "max_len": r.config_dict.get("max_len", np.nan), "best_epoch": m.get("best_epoch", np.nan),
                     **{k: m[k] for k in ("accuracy", "precision", "recall", "f1", "ece")},
                     "val_accuracy": m.get("val_accuracy", np.nan)})
    df = pd.DataFrame(rows)
    agg = df.groupby("model", sort=False).agg(
        seeds=("seed", "count"), max_len=("max_len", "first"),
        **{f"{k}_{s}": (k, s) for k in ("accuracy", "precision", "recall", "f1", "ece", "val_accuracy")
           for s in ("mean", "std")})
    return agg.fillna({c: 0.0 for c in agg.columns if c.endswith("_std")})


def results_table(final: list[runs.Run], tfidf: runs.Run | None = None) -> pd.DataFrame:
    """The results table of the page, in %: accuracy as mean ± std over seeds, the other metrics as means;
    then the published anchors (accuracy only), marked as literature values."""
    s = summary(final, tfidf)
    rows = []
    for model, row in s.iterrows():
        n = int(row["seeds"])
        spread = f"\u00a0±\u00a0{100 * row['accuracy_std']:.2f}" if n > 1 else ""  # no break inside 89.92 ± 0.05
        rows.append({"model": MODEL_LABELS.get(model, model), "seeds": str(n),
                     "max_len": "all" if model == "tfidf" else f"{int(row['max_len'])}",
                     "accuracy (%)": f"{100 * row['accuracy_mean']:.2f}{spread}",
                     **{f"{name} (%)": 100 * row[f"{key}_mean"] for key, name in
                        (("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("ece", "ECE"))}})
    for p in PUBLISHED:
        rows.append({"model": p.method, "seeds": "published", "max_len": None,
                     "accuracy (%)": f"{100 * p.accuracy:.2f}"})
    return pd.DataFrame(rows).set_index("model")


def targets(final: list[runs.Run], tfidf: runs.Run, beats_tfidf: bool) -> pd.DataFrame:
    """Each target of the issue, the measured value (mean test accuracy over seeds) and whether it is met.
    `beats_tfidf`: whether attention is clearly higher than TF-IDF on the same test reviews (from
    `hw3.compare`, see `facts`), not merely higher in the mean."""
    s = summary(final, tfidf)
    acc = s["accuracy_mean"]
    att, base, tf = acc.get("attention", np.nan), acc.get("baseline", np.nan), acc.get("tfidf", np.nan)
    rows = [  # key, target as text, measured, met
        ("attention", f"GRU + attention ≥ {TARGETS['attention']:.1%}", f"{att:.2%}", bool(att >= TARGETS["attention"])),
        ("attention_stretch", f"GRU + attention ≥ {TARGETS['attention_stretch']:.1%} (stretch)", f"{att:.2%}",
         bool(att >= TARGETS["attention_stretch"])),
        ("baseline", f"GRU baseline ≥ {TARGETS['baseline']:.1%}", f"{base:.2%}", bool(base >= TARGETS["baseline"])),
        ("beats_tfidf", "GRU + attention beats TF-IDF + LR (paired over the test reviews, 95%)",
         f"{att:.2%} vs {tf:.2%}", bool(beats_tfidf)),
    ]
    return pd.DataFrame(rows, columns=["key", "target", "measured", "met"]).set_index("key")


def chosen_lengths(sweep: list[runs.Run]) -> dict[str, int]:
    """Each model's `max_len` with the best validation accuracy among the sweep runs (ties: shorter)."""
    best: dict[str, runs.Run] = {}
    for r in sorted(sweep, key=lambda r: r.config_dict["max_len"]):
        m = model_of(r)
        if m not in best or r.metrics["val_accuracy"] > best[m].metrics["val_accuracy"]:
            best[m] = r
    return {m: r.config_dict["max_len"] for m, r in best.items()}


def sweep_table(sweep: list[runs.Run], chosen: dict[str, int]) -> pd.DataFrame:
    """Validation accuracy (%) of each model at each candidate max_len; the chosen one is marked."""
    rows = {}
    for r in sweep:
        m, L = model_of(r), r.config_dict["max_len"]
        mark = " ✓" if chosen.get(m) == L else ""
        rows.setdefault(MODEL_LABELS[m], {})[f"max_len {L}"] = f"{100 * r.metrics['val_accuracy']:.2f}{mark}"
    return pd.DataFrame(rows).T.rename_axis("model")


def faithfulness_table(attention_runs: list[runs.Run]) -> pd.DataFrame:
    """Mean confidence drop (percentage points) when deleting the k most-attended vs k random tokens,
    averaged over the attention runs (seeds)."""
    frames = [pd.DataFrame(r.metrics["faithfulness"]) for r in attention_runs if "faithfulness" in r.metrics]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames).groupby("k").mean(numeric_only=True)
    out = pd.DataFrame({
        "reviews": df["n"].astype(int),
        "drop, top-k removed (pp)": (100 * df["top_drop"]).round(2),
        "drop, random k removed (pp)": (100 * df["random_drop"]).round(2),
        "ratio": (df["top_drop"] / df["random_drop"].where(df["random_drop"] != 0)).round(1),
        "flipped, top-k (%)": (100 * df["top_flipped"]).round(1),
        "flipped, random (%)": (100 * df["random_flipped"]).round(1),
    })
    out.index.name = "k"
    return out


def cpu_gpu(cpu: list[runs.Run], final: list[runs.Run]) -> pd.DataFrame:
    """Each model's CPU-recipe run beside its GPU runs: wall time, validation accuracy at the CPU run's
    last epoch (and at the same epoch of GPU seed 0, from its history), test accuracy, and the
    CPU run's test gap to the GPU seeds' mean in units of their standard deviation."""
    rows = []
    for c in cpu:
        model = model_of(c)
        gpu = [r for r in final if model_of(r) == model]
        epochs = c.metrics["epochs_trained"]
        gpu_acc = np.array([r.metrics["accuracy"] for r in gpu])
        std = float(gpu_acc.std(ddof=1)) if len(gpu) > 1 else float("nan")
        rows.append({"model": model, "gpu_device": gpu[0].provenance.get("device_name") or gpu[0].provenance["device"],
                     "cpu_device": f"CPU, {c.provenance.get('torch_threads', 1)} thread"
                                   + ("s" if c.provenance.get("torch_threads", 1) > 1 else ""),
                     "gpu_wall_s": float(np.mean([r.provenance["wall_time_s"] for r in gpu])),
                     "cpu_wall_s": c.provenance["wall_time_s"], "cpu_epochs": epochs,
                     "gpu_epochs": float(np.mean([r.metrics["epochs_trained"] for r in gpu])),
                     "gpu_val_same_epochs": gpu[0].history[epochs - 1]["val_accuracy"]
                     if len(gpu[0].history) >= epochs else float("nan"),
                     "cpu_val": c.history[epochs - 1]["val_accuracy"], "gpu_test_mean": float(gpu_acc.mean()),
                     "gpu_test_std": std, "gpu_seeds": len(gpu), "cpu_test": c.metrics["accuracy"],
                     "gap_in_std": (c.metrics["accuracy"] - gpu_acc.mean()) / std if std > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("model")


def cpu_gpu_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """`cpu_gpu` as the chapter shows it: one row per model and device."""
    rows = []
    for model, r in comparison.iterrows():
        label = MODEL_LABELS.get(model, model)
        rows.append({"model": label, "device": r["gpu_device"], "epochs": f"{r['gpu_epochs']:.0f}",
                     "wall (min)": f"{r['gpu_wall_s'] / 60:.1f}",
                     f"val. acc., epoch {r['cpu_epochs']} (%)": f"{100 * r['gpu_val_same_epochs']:.2f}",
                     "test acc. (%)": f"{100 * r['gpu_test_mean']:.2f} ± {100 * r['gpu_test_std']:.2f}"})
        rows.append({"model": label, "device": r["cpu_device"], "epochs": f"{r['cpu_epochs']}",
                     "wall (min)": f"{r['cpu_wall_s'] / 60:.1f}",
                     f"val. acc., epoch {r['cpu_epochs']} (%)": f"{100 * r['cpu_val']:.2f}",
                     "test acc. (%)": f"{100 * r['cpu_test']:.2f}"})
    return pd.DataFrame(rows)
