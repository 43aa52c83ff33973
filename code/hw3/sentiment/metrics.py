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
    q = length_quartile_of(lengths)
    rows = []
    for i in range(4):
        sel = q == i
        rows.append({"quartile": i + 1, "min_tokens": int(lengths[sel].min()) if sel.any() else 0,
                     "max_tokens": int(lengths[sel].max()) if sel.any() else 0, "n": int(sel.sum()),
                     "accuracy": float((pred[sel] == y[sel]).mean()) if sel.any() else float("nan")})
    return rows


def length_quartile_of(lengths: np.ndarray) -> np.ndarray:
    """Each review's length quartile, 0..3 (a length equal to a quartile edge goes to the lower part)."""
    edges = np.quantile(lengths, [0.25, 0.5, 0.75])
    return np.searchsorted(edges, lengths, side="left")


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


REFERENCE_KS = (1, 3, 5, 10, 20)


def gradient_importance(model, seqs: list[torch.Tensor], device="cpu", batch_size: int = 64) -> list[np.ndarray]:
    """Gradient × input (Shrikumar et al. 2017; Jain & Wallace 2019, section 4): each token's word vector
    times the gradient of the logit with respect to it, summed over the embedding dimensions (one
    backward pass per batch). Positive values push the logit towards "positive"."""
    from .. import text

    model.eval()
    out: list[np.ndarray | None] = [None] * len(seqs)
    dataset = text.EncodedDataset(seqs, np.zeros(len(seqs)))
    for batch in text.loader(dataset, batch_size, shuffle=False):
        b = batch.to(device)
        x = model.embedding(b.ids).detach().requires_grad_(True)  # (B, T, E)
        logits = model.from_embeddings(x, b.lengths, b.mask).logits  # (B,)
        (grad,) = torch.autograd.grad(logits.sum(), x)
        gx = (grad * x).sum(-1).detach().cpu().numpy()  # (B, T)
        for row, i in enumerate(batch.index.tolist()):
            out[i] = gx[row, : batch.lengths[row]]
    return out


def faithfulness_reference(model, seqs: list[torch.Tensor], ks=REFERENCE_KS, *, device="cpu", seed: int = 0,
                           batch_size: int = 256) -> dict[str, np.ndarray]:
    """Attention's top-k tokens against a direct importance measure, on the same reviews.

    For each review (all longer than max(ks)) and each k, the drop in the model's confidence in its
    original prediction after deleting (a) the k most-attended tokens, (b) the k tokens with the largest
    gradient × input importance towards the predicted class, (c) k random tokens; and the share of (a)
    that is also in (b). Returns arrays (K, N) `attention_drop`, `gradient_drop`, `random_drop`,
    `overlap`, and per review (N,) `confidence` and `attention_position` (the attention-weighted mean
    relative position, 0 = first token, 1 = last) and `last_tenth_weight` (attention on the last 10 %).
    """
    from .model import cpu_threads

    with cpu_threads(model.gru.hidden_size, device):
        probs, weights = predict_proba(model, seqs, device, batch_size, with_weights=True)
        if weights is None:
            raise ValueError("the faithfulness reference needs a model with attention")
        if any(len(s) <= max(ks) for s in seqs):
            raise ValueError(f"every review needs more than {max(ks)} tokens")
        pred = probs >= 0.5
        conf = np.where(pred, probs, 1 - probs)
        sign = np.where(pred, 1.0, -1.0)
        grads = gradient_importance(model, seqs, device)
        rng = np.random.default_rng(seed)
        out = {name: np.zeros((len(ks), len(seqs)), dtype=np.float32)
               for name in ("attention_drop", "gradient_drop", "random_drop", "overlap")}
        for j, k in enumerate(ks):
            top_att = [np.argsort(-w, kind="stable")[:k] for w in weights]
            top_grad = [np.argsort(-s * g, kind="stable")[:k] for s, g in zip(sign, grads, strict=True)]
            rand = [rng.choice(len(s), size=k, replace=False) for s in seqs]
            for name, pos in (("attention_drop", top_att), ("gradient_drop", top_grad), ("random_drop", rand)):
                p, _ = predict_proba(model, [_without(s, q) for s, q in zip(seqs, pos, strict=True)], device, batch_size)
                out[name][j] = conf - np.where(pred, p, 1 - p)
            out["overlap"][j] = [len(set(a) & set(g)) / k for a, g in zip(top_att, top_grad, strict=True)]
    rel = [(np.arange(len(w)) + 0.5) / len(w) for w in weights]
    out["ks"] = np.asarray(ks, dtype=np.int64)
    out["confidence"] = conf.astype(np.float32)
    out["attention_position"] = np.array([float((w * r).sum()) for w, r in zip(weights, rel, strict=True)],
                                         dtype=np.float32)
    out["last_tenth_weight"] = np.array([float(w[r > 0.9].sum()) for w, r in zip(weights, rel, strict=True)],
                                        dtype=np.float32)
    return out
