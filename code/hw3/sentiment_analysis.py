"""Measuring and explaining the IMDb sentiment runs: metrics, calibration, faithfulness of attention,
attention examples (word highlighting), confident mistakes and the report's tables.

Functions here take stored runs (or a trained model) and return numbers, tables or HTML; the figures
are in `sentiment_plots`. Nothing here trains.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from . import runs, text

ECE_BINS = 15

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

# The targets (test accuracy, mean over seeds).
TARGETS = {"attention": 0.890, "attention_stretch": 0.895, "baseline": 0.870}

MODEL_LABELS = {
    "baseline": "GRU, last token (baseline)",
    "attention": "GRU + additive attention",
    "meanpool": "GRU, mean pooling",
    "tfidf": "TF-IDF + logistic regression",
}


# --- metrics -----------------------------------------------------------------------------------------


def classification_metrics(labels: np.ndarray, prob_pos: np.ndarray, lengths: np.ndarray | None = None) -> dict:
    """Accuracy, precision, recall, F1 (positive class), confusion matrix, log loss, Brier score,
    15-bin ECE and, given review lengths, accuracy per length quartile. Degenerate cases give 0, not NaN."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(prob_pos, dtype=np.float64)
    pred = (p >= 0.5).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    out = {
        "accuracy": float((pred == y).mean()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion": [[tn, fp], [fn, tp]],  # rows: true neg/pos; columns: predicted neg/pos
        "log_loss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(y, p),
    }
    if lengths is not None:
        out["length_quartiles"] = length_quartiles(y, pred, np.asarray(lengths))
    return out


def length_quartiles(y: np.ndarray, pred: np.ndarray, lengths: np.ndarray) -> list[dict]:
    """Accuracy within each quartile of review length (tokens before truncation)."""
    edges = np.quantile(lengths, [0.25, 0.5, 0.75])
    q = np.searchsorted(edges, lengths, side="left")  # 0..3; a length equal to an edge goes to the lower part
    rows = []
    for i in range(4):
        sel = q == i
        rows.append({"quartile": i + 1, "min_tokens": int(lengths[sel].min()) if sel.any() else 0,
                     "max_tokens": int(lengths[sel].max()) if sel.any() else 0, "n": int(sel.sum()),
                     "accuracy": float((pred[sel] == y[sel]).mean()) if sel.any() else float("nan")})
    return rows


def reliability_bins(labels: np.ndarray, prob_pos: np.ndarray, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Top-label calibration (Guo et al. 2017): the confidence max(p, 1 - p) of the predicted class, in
    `n_bins` equal bins over [0.5, 1] (a binary classifier's confidence is never below 0.5), with each
    bin's count, mean confidence and accuracy."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(prob_pos, dtype=np.float64)
    pred = (p >= 0.5).astype(int)
    conf = np.where(pred == 1, p, 1 - p)
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    b = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    rows = []
    for i in range(n_bins):
        sel = b == i
        rows.append({"lower": edges[i], "upper": edges[i + 1], "count": int(sel.sum()),
                     "confidence": float(conf[sel].mean()) if sel.any() else np.nan,
                     "accuracy": float((pred[sel] == y[sel]).mean()) if sel.any() else np.nan})
    return pd.DataFrame(rows)


def expected_calibration_error(labels: np.ndarray, prob_pos: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE = Σ_b (n_b / N) |accuracy_b - confidence_b| over the bins of `reliability_bins`."""
    bins = reliability_bins(labels, prob_pos, n_bins)
    filled = bins[bins["count"] > 0]
    if filled.empty:
        return 0.0
    return float((filled["count"] / filled["count"].sum() * (filled["accuracy"] - filled["confidence"]).abs()).sum())


# --- faithfulness of attention -----------------------------------------------------------------------


def _without(seq: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
    keep = np.ones(len(seq), dtype=bool)
    keep[positions] = False
    return seq[torch.from_numpy(keep)]


def faithfulness(model, seqs: list[torch.Tensor], ks=(1, 3, 5, 10, 20), *, device="cpu", seed: int = 0,
                 batch_size: int = 256) -> list[dict]:
    """Does attention point at the words the decision depends on?

    For each k: delete the k most-attended tokens of each review, or k tokens at random, and measure
    the drop in the model's confidence in its original prediction (mean and standard error over the
    reviews longer than k tokens), and how often the prediction flips.
    """
    from .sentiment import predict_proba

    probs, weights = predict_proba(model, seqs, device, batch_size, with_weights=True)
    if weights is None:
        raise ValueError("faithfulness needs a model with attention")
    pred = probs >= 0.5
    conf = np.where(pred, probs, 1 - probs)
    rng = np.random.default_rng(seed)
    rows = []
    for k in ks:
        eligible = [i for i, s in enumerate(seqs) if len(s) > k]
        if not eligible:
            continue
        top = [_without(seqs[i], np.argsort(-weights[i], kind="stable")[:k]) for i in eligible]
        rand = [_without(seqs[i], rng.choice(len(seqs[i]), size=k, replace=False)) for i in eligible]
        row = {"k": k, "n": len(eligible)}
        for name, variant in (("top", top), ("random", rand)):
            p, _ = predict_proba(model, variant, device, batch_size)
            e = np.array(eligible)
            drop = conf[e] - np.where(pred[e], p, 1 - p)
            row[f"{name}_drop"] = float(drop.mean())
            row[f"{name}_drop_se"] = float(drop.std(ddof=1) / np.sqrt(len(drop))) if len(drop) > 1 else 0.0
            row[f"{name}_flipped"] = float(((p >= 0.5) != pred[e]).mean())
        rows.append(row)
    return rows


@lru_cache(maxsize=1)
def imdb_test_reviews() -> list:
    """The raw IMDb test reviews (for quoting), read once per process."""
    from . import data

    return data.imdb("test")


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


def attention_examples(run: runs.Run, n: int = 4, *, min_tokens: int = 40, max_tokens: int = 110,
                       seed: int = 0) -> list[Example]:
    """`n` test reviews of moderate length (half negative, half positive), read by `run`'s model."""
    from .sentiment import load_model, predict_proba

    model, vocab, config = load_model(run)
    if model.attention is None:
        raise ValueError(f"{run.name} has no attention weights")
    reviews = imdb_test_reviews()
    preds = run.load_tensors("test_predictions")
    index = preds["index"].numpy()
    lengths = preds["length"].numpy()
    rng = np.random.default_rng(seed)
    chosen = []
    for label in (0, 1):
        pool = [i for i, L in zip(index, lengths, strict=True)
                if min_tokens <= L <= max_tokens and reviews[i].label == label]
        chosen += list(rng.choice(pool, size=min(n // 2 + n % 2 * label, len(pool)), replace=False))
    examples = []
    for i in chosen:
        r = reviews[int(i)]
        shown, spans = text.token_spans(r.text)
        spans = spans[: config.max_len]
        ids = torch.tensor(vocab.encode([t for t, _, _ in spans]), dtype=torch.int64)
        probs, weights = predict_proba(model, [ids], "cpu", with_weights=True)
        end = len(shown) if len(spans) < config.max_len else spans[-1][2]
        examples.append(Example(r.id, r.label, float(probs[0]), shown, spans, weights[0], end))
    return examples


def _shade(weight: float, peak: float) -> str:
    alpha = 0.0 if peak <= 0 else min(1.0, weight / peak)
    return f"rgba(230, 159, 0, {alpha:.2f})"  # Okabe-Ito orange


def highlight_html(examples: list[Example]) -> str:
    """The reviews as HTML, each word's background shaded by its attention weight (darkest = the
    review's largest weight); hover shows the weight. Text the model did not read is greyed."""
    parts = []
    for ex in examples:
        peak = float(ex.weights.max()) if len(ex.weights) else 0.0
        head = (f"<p style='margin:0.8em 0 0.2em 0;font-size:0.9em;color:#555'>Review {ex.review_id} — true: "
                f"<b>{'positive' if ex.label else 'negative'}</b>, model: P(positive) = {ex.prob_pos:.3f}</p>")
        out, pos = [], 0
        for (_, a, b), w in zip(ex.spans, ex.weights, strict=True):
            out.append(html.escape(ex.shown[pos:a]))
            out.append(f"<span title='{w:.3f}' style='background-color:{_shade(float(w), peak)};"
                       f"border-radius:2px'>{html.escape(ex.shown[a:b])}</span>")
            pos = b
        out.append(html.escape(ex.shown[pos:ex.truncated_at]))
        if ex.truncated_at < len(ex.shown):
            out.append(f"<span style='color:#999'>{html.escape(ex.shown[ex.truncated_at:])}</span>")
        parts.append(head + "<p style='line-height:1.7;margin-top:0'>" + "".join(out) + "</p>")
    return "<div class='attention-highlight'>" + "\n".join(parts) + "</div>"


# --- mistakes and tables -----------------------------------------------------------------------------


def confident_mistakes(run: runs.Run, n: int = 5, excerpt_chars: int = 350) -> pd.DataFrame:
    """The `n` test reviews the run got wrong with the highest confidence, quoted."""
    preds = run.load_tensors("test_predictions")
    p, y, index = preds["prob_pos"].numpy(), preds["label"].numpy(), preds["index"].numpy()
    wrong = np.flatnonzero((p >= 0.5) != y)
    conf = np.where(p >= 0.5, p, 1 - p)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:n]
    reviews = imdb_test_reviews()
    rows = []
    for j in order:
        r = reviews[int(index[j])]
        excerpt = r.text if len(r.text) <= excerpt_chars else r.text[:excerpt_chars].rsplit(" ", 1)[0] + " …"
        rows.append({"review": r.id, "stars": r.rating, "true": "pos" if r.label else "neg",
                     "P(pos)": round(float(p[j]), 3), "excerpt": excerpt})
    return pd.DataFrame(rows, columns=["review", "stars", "true", "P(pos)", "excerpt"])


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
    """The results table of the page: measured rows (mean ± std over seeds, in %) and the published
    anchors, marked as literature values."""
    s = summary(final, tfidf)

    def pm(row, key):
        mean, std = 100 * row[f"{key}_mean"], 100 * row[f"{key}_std"]
        return f"{mean:.2f} ± {std:.2f}" if row["seeds"] > 1 else f"{mean:.2f}"

    rows = []
    for model, row in s.iterrows():
        n = int(row["seeds"])
        rows.append({"model": MODEL_LABELS.get(model, model), "source": f"measured ({n} seed{'s' if n > 1 else ''})",
                     "max_len": "all" if model == "tfidf" else f"{int(row['max_len'])}",
                     "accuracy %": pm(row, "accuracy"), "precision %": pm(row, "precision"),
                     "recall %": pm(row, "recall"), "F1 %": pm(row, "f1"), "ECE %": pm(row, "ece")})
    for p in PUBLISHED:
        rows.append({"model": p.method, "source": "published (not measured here)", "max_len": "",
                     "accuracy %": f"{100 * p.accuracy:.2f}", "precision %": "", "recall %": "", "F1 %": "",
                     "ECE %": ""})
    return pd.DataFrame(rows).set_index("model")


def targets(final: list[runs.Run], tfidf: runs.Run) -> pd.DataFrame:
    """Each target of the issue, the measured value (mean test accuracy over seeds) and whether it is met."""
    s = summary(final, tfidf)
    acc = s["accuracy_mean"]
    att, base, tf = acc.get("attention", np.nan), acc.get("baseline", np.nan), acc.get("tfidf", np.nan)
    rows = [  # key, target as text, measured, met
        ("attention", f"GRU + attention ≥ {TARGETS['attention']:.1%}", f"{att:.2%}", bool(att >= TARGETS["attention"])),
        ("attention_stretch", f"GRU + attention ≥ {TARGETS['attention_stretch']:.1%} (stretch)", f"{att:.2%}",
         bool(att >= TARGETS["attention_stretch"])),
        ("baseline", f"GRU baseline ≥ {TARGETS['baseline']:.1%}", f"{base:.2%}", bool(base >= TARGETS["baseline"])),
        ("beats_tfidf", "GRU + attention beats TF-IDF + LR", f"{att:.2%} vs {tf:.2%}", bool(att > tf)),
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
    return pd.DataFrame(rows).T


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
