"""Sentiment of new reviews with a stored run: `predict(run, texts)` and the `hw3 predict` command.

The text goes through exactly the training pipeline: the run's own `vocab.json`, the same tokenizer,
cut to the run's `max_len` tokens. Words outside the vocabulary (any script, emoji) become `<unk>`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from .. import runs, text
from .model import SentimentConfig, load_model, predict_proba
from .study import chosen_max_len


def resolve_run(run: runs.Run | str) -> runs.Run:
    """A `Run`, or the name of a stored sentiment (or TF-IDF) run; "attention-s0" (model-seed) names the
    report's run of that model and seed."""
    if isinstance(run, runs.Run):
        return run
    alias = re.fullmatch(r"(baseline|attention|meanpool)-s(\d+)", run)
    if alias:  # "attention-s0": the report's run of that model and seed, at its chosen max_len
        model, seed = alias.group(1), int(alias.group(2))
        run = SentimentConfig(model=model, seed=seed, max_len=chosen_max_len(model)).name
    for experiment in ("sentiment", "tfidf"):
        try:
            return runs.load_run(experiment, run)
        except runs.RunError:
            continue
    stored = [r.name for r in runs.list_runs() if r.experiment in ("sentiment", "tfidf")]
    raise runs.RunError(f"no stored sentiment run named {run!r}"
                        + (f" (stored: {', '.join(stored)})" if stored else " (none stored; train one first)"))


def _check(texts: list[str]) -> list[list[str]]:
    if isinstance(texts, str):
        raise TypeError("predict takes a list of texts; wrap a single review in a list")
    tokenized = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {i} is a {type(t).__name__}, not a string")
        tokens = text.tokenize(t)
        if not tokens:
            what = "empty" if not t.strip() else f"has no words ({t[:40]!r})"
            raise ValueError(f"review {i} is {what}: there is nothing to classify")
        tokenized.append(tokens)
    return tokenized


def predict(run: runs.Run | str, texts: list[str], top_k: int = 5, device="cpu") -> list[dict]:
    """Classify each review: `{"label": "pos"|"neg", "prob_pos": float, "top_words": [[word, weight], ...]}`.

    `top_words` are the `top_k` most-attended words (attention model), the words with the largest
    contribution to the logit (TF-IDF), or empty for models without attention. Reviews longer than
    the run's `max_len` are cut as in training (`"truncated": true`).
    """
    run = resolve_run(run)
    tokenized = _check(list(texts) if not isinstance(texts, str) else texts)
    if run.experiment == "tfidf":
        return _predict_tfidf(run, tokenized, top_k)

    model, vocab, config = load_model(run, device)
    cut = [tokens[: config.max_len] for tokens in tokenized]
    seqs = [torch.tensor(vocab.encode(tokens), dtype=torch.int64) for tokens in cut]
    probs, weights = predict_proba(model, seqs, device, with_weights=True)
    out = []
    for i, (tokens, p) in enumerate(zip(cut, probs, strict=True)):
        top = []
        if weights is not None:
            w = weights[i]
            order = np.argsort(-w, kind="stable")
            seen = set()
            for j in order:  # distinct words, most attended first
                if tokens[j] not in seen:
                    seen.add(tokens[j])
                    top.append([tokens[j], round(float(w[j]), 4)])
                if len(top) == top_k:
                    break
        out.append({"label": "pos" if p >= 0.5 else "neg", "prob_pos": round(float(p), 6), "top_words": top,
                    "explained_by": "attention" if weights is not None else "none",
                    "tokens": len(tokenized[i]), "truncated": len(tokenized[i]) > config.max_len})
    return out


def _predict_tfidf(run: runs.Run, tokenized: list[list[str]], top_k: int) -> list[dict]:
    vocab = text.Vocab.load(run.file("vocab.json"))
    m = run.load_tensors("model")
    coef, intercept, idf = m["coef"].double().numpy(), float(m["intercept"][0]), m["idf"].double().numpy()
    sublinear = run.config_dict.get("sublinear_tf", True)
    out = []
    for tokens in tokenized:
        ids = np.array([i for i in vocab.encode(tokens) if i >= 2], dtype=np.int64)
        x = np.zeros(len(vocab))
        if len(ids):
            counts = np.bincount(ids, minlength=len(vocab)).astype(float)
            tf = np.where(counts > 0, 1 + np.log(np.maximum(counts, 1)), 0) if sublinear else counts
            x = tf * idf
            x /= np.linalg.norm(x) or 1.0
        contrib = coef * x  # (V,) each word's share of the logit
        p = 1 / (1 + np.exp(-(contrib.sum() + intercept)))
        order = np.argsort(-np.abs(contrib), kind="stable")[:top_k]
        top = [[vocab.itos[j], round(float(contrib[j]), 4)] for j in order if contrib[j] != 0]
        out.append({"label": "pos" if p >= 0.5 else "neg", "prob_pos": round(float(p), 6), "top_words": top,
                    "explained_by": "tfidf", "tokens": len(tokens), "truncated": False})
    return out


def read_reviews(path: Path) -> list[str]:
    """One review per line (UTF-8, an optional BOM, LF or CRLF line ends); blank lines are an error with
    their line number.

    Lines end at "\n" only. `str.splitlines` would also break at NEL (U+0085), U+2028, form feeds and
    other separators that occur *inside* real reviews (331 of the 25,000 IMDb test reviews hold a NEL),
    turning one review into several predictions."""
    content = Path(path).read_text(encoding="utf-8-sig")
    lines = [line.removesuffix("\r") for line in content.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last review; it does not start another
    blank = [i + 1 for i, line in enumerate(lines) if not line.strip()]
    if blank:
        raise ValueError(f"{path}: line {blank[0]} is empty (one review per line, no blank lines)")
    if not lines:
        raise ValueError(f"{path} holds no reviews")
    return lines


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One JSON object per line, written through a temporary file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def format_prediction(p: dict) -> str:
    """Two lines for the terminal: label and probability; the words behind the decision."""
    cut = f" (cut to max_len from {p['tokens']} tokens, as in training)" if p["truncated"] else ""
    words = ", ".join(f"{w} ({v:+.3f})" if p["explained_by"] == "tfidf" else f"{w} ({v:.3f})"
                      for w, v in p["top_words"])
    heading = {"attention": "most-attended words", "tfidf": "largest contributions to the logit"}
    return (f"{p['label']}  P(positive) = {p['prob_pos']:.4f}{cut}\n"
            f"{heading.get(p['explained_by'], 'top words')}: {words or '(this model has no attention weights)'}")
