"""The bag-of-words reference for the IMDb page: TF-IDF + logistic regression (scikit-learn).

Same tokenizer, same 5,000-word training vocabulary and same validation split as the GRUs; the
review is read whole (a bag of words needs no truncation). Features: sublinear term frequency
(1 + log tf) times smoothed inverse document frequency, each review's vector L2-normalised. The
inverse regularisation strength C is chosen on the validation split; the test set is scored once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
import torch

from .. import runs, text, utils
from . import metrics
from .data import SPLIT_SEED, prediction_tensors, subset, validation_split


@dataclass
class TfidfConfig(runs.RunConfig):
    """IMDb sentiment reference: TF-IDF over the 5,000-word vocabulary + logistic regression."""

    experiment: ClassVar[str] = "tfidf"
    name: str = "tfidf"
    seed: int = 0
    vocab_size: int = 5000
    sublinear_tf: bool = True
    C_grid: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    max_iter: int = 2000
    val_fraction: float = 0.1
    train_subset: int = 0
    test_subset: int = 0

    def quick(self):
        return dataclasses.replace(self, train_subset=1500, test_subset=400, C_grid=(1.0, 4.0))


def count_matrix(corpus: text.Corpus, indices: np.ndarray, vocab_size: int) -> sp.csr_matrix:
    """Term counts (N, vocab_size) of the given reviews; `<pad>` and `<unk>` columns stay empty."""
    rows, cols = [], []
    for r, i in enumerate(indices):
        ids = corpus.ids[corpus.offsets[i]:corpus.offsets[i + 1]]
        ids = ids[(ids >= 2) & (ids < vocab_size)]  # in-vocabulary words only
        rows.append(np.full(len(ids), r))
        cols.append(ids)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(indices), vocab_size))
    X.sum_duplicates()
    return X


@runs.trainer(TfidfConfig)
def train(config: TfidfConfig, run: runs.RunWriter, device) -> None:
    # training only, so that a render never imports sklearn
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    train_c, test_c = text.corpus("train"), text.corpus("test")
    vocab = train_c.vocab(config.vocab_size)
    vocab.save(run.dir / "vocab.json")
    train_idx, val_idx = validation_split(train_c.labels, config.val_fraction)
    train_idx = subset(train_idx, config.train_subset, SPLIT_SEED + 1)
    test_idx = subset(np.arange(len(test_c)), config.test_subset, SPLIT_SEED + 3)

    tfidf = TfidfTransformer(sublinear_tf=config.sublinear_tf)
    X_train = tfidf.fit_transform(count_matrix(train_c, train_idx, config.vocab_size))
    X_val = tfidf.transform(count_matrix(train_c, val_idx, config.vocab_size))
    y_train, y_val = train_c.labels[train_idx], train_c.labels[val_idx]

    best = None
    for step, C in enumerate(config.C_grid, start=1):
        clf = LogisticRegression(C=C, max_iter=config.max_iter, random_state=config.seed).fit(X_train, y_train)
        val_acc = float(clf.score(X_val, y_val))
        run.log_epoch(step, C=C, train_accuracy=float(clf.score(X_train, y_train)), val_accuracy=val_acc)
        if best is None or val_acc > best[1]:
            best = (C, val_acc, clf)
    C, val_acc, clf = best

    X_test = tfidf.transform(count_matrix(test_c, test_idx, config.vocab_size))
    probs = clf.predict_proba(X_test)[:, 1]
    labels = test_c.labels[test_idx]
    run.save_tensors("model", {"coef": torch.from_numpy(clf.coef_[0]).float(),
                               "intercept": torch.tensor(clf.intercept_, dtype=torch.float32),
                               "idf": torch.from_numpy(tfidf.idf_).float()})
    run.save_tensors("test_predictions", prediction_tensors(probs, labels, test_c.lengths[test_idx], test_idx))
    run.metrics.update(metrics.classification_metrics(labels, probs, test_c.lengths[test_idx]))
    utils.write_json(run.dir / "ending_accuracy.json", ending_accuracy(run_tensors(run.dir), config))
    run.metrics.update({"C": C, "val_accuracy": val_acc, "num_train": len(train_idx), "num_val": len(val_idx),
                        "num_test": len(test_idx)})


def scores(m: dict[str, torch.Tensor], counts: sp.csr_matrix, sublinear_tf: bool = True) -> np.ndarray:
    """P(positive) of a stored TF-IDF model (its `model` tensors) for term counts (N, vocab_size): the
    same sublinear tf, idf weighting and L2 normalisation as training (scikit-learn's TfidfTransformer)."""
    X = counts.astype(np.float64).tocsr(copy=True)
    if sublinear_tf:
        X.data = 1 + np.log(X.data)
    X = X.multiply(m["idf"].numpy().astype(np.float64)[None, :]).tocsr()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(1))).ravel()
    X = sp.diags(1 / np.maximum(norms, 1e-12)) @ X
    logits = X @ m["coef"].numpy().astype(np.float64) + float(m["intercept"][0])
    return 1 / (1 + np.exp(-logits))


def ending_accuracy(m: dict[str, torch.Tensor], config: TfidfConfig, n_tokens: int = 50) -> dict:
    """Where does a review say its verdict? The stored TF-IDF model reads only the first or only the last
    `n_tokens` tokens of every test review with at least 2 · n_tokens tokens (the two parts do not
    overlap); per review, whether each part alone is classified correctly (1/0), in test-split order."""
    c = text.corpus("test")
    vocab_size = config.vocab_size
    long = np.flatnonzero(c.lengths >= 2 * n_tokens)

    def part_counts(first: bool) -> sp.csr_matrix:
        rows, cols = [], []
        for r, i in enumerate(long):
            ids = c.ids[c.offsets[i]:c.offsets[i + 1]]
            ids = ids[:n_tokens] if first else ids[-n_tokens:]
            ids = ids[(ids >= 2) & (ids < vocab_size)]
            rows.append(np.full(len(ids), r))
            cols.append(ids)
        X = sp.csr_matrix((np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(len(long), vocab_size))
        X.sum_duplicates()
        return X

    y = c.labels[long]
    out = {"n_tokens": n_tokens, "reviews": len(long), "num_test": len(c)}
    for name, first in (("first", True), ("last", False)):
        out[f"{name}_correct"] = ((scores(m, part_counts(first), config.sublinear_tf) >= 0.5) == y).astype(int).tolist()
    return out


def run_tensors(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder) + "/model.safetensors")
