"""Metrics of the sentiment runs: classification metrics, calibration (top-label reliability bins and
ECE, Guo et al. 2017, eq. 3) and the faithfulness of attention (deleting the most-attended vs random
tokens, in the spirit of Jain & Wallace 2019). Nothing here trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .model import predict_proba

ECE_BINS = 15


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
