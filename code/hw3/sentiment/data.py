"""IMDb reviews for the sentiment runs: the fixed validation split, subsets, encoded data sets, and what a
run stores about its test predictions.

Protocol: a fixed, stratified 10% of the 25,000 training reviews is the validation set (the same for
every run, whatever its seed); the 25,000 test reviews are scored once, at the end of a run.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from .. import text
from .model import SentimentConfig

SPLIT_SEED = 2011  # the validation split is the same for every run, whatever its seed


def validation_split(labels: np.ndarray, fraction: float = 0.1, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified split of the training reviews: (train indices, validation indices), both sorted."""
    rng = np.random.default_rng(seed)
    val = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        val.append(rng.choice(idx, size=round(fraction * len(idx)), replace=False))
    val = np.sort(np.concatenate(val))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def subset(indices: np.ndarray, n: int, seed: int) -> np.ndarray:
    """A fixed random subset of `n` indices (all when n is 0), in the original order."""
    if not n or n >= len(indices):
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, size=n, replace=False))


class SentimentData(NamedTuple):
    vocab: text.Vocab
    train: text.EncodedDataset
    val: text.EncodedDataset
    test: text.EncodedDataset
    test_index: np.ndarray  # (N_test,) positions of the test reviews in the test split
    test_lengths: np.ndarray  # (N_test,) token counts before truncation


@lru_cache(maxsize=8)
def _encoded(split: str, vocab_size: int, max_len: int):
    c = text.corpus(split)
    return c.encode(vocab_size, max_len), c.labels, c.lengths


def load_data(config: SentimentConfig) -> SentimentData:
    """Encoded training / validation / test reviews for `config` (cut to `max_len` tokens)."""
    train_seqs, train_labels, _ = _encoded("train", config.vocab_size, config.max_len)
    test_seqs, test_labels, test_lengths = _encoded("test", config.vocab_size, config.max_len)
    train_idx, val_idx = validation_split(train_labels, config.val_fraction)
    train_idx = subset(train_idx, config.train_subset, SPLIT_SEED + 1)
    val_idx = subset(val_idx, config.val_subset, SPLIT_SEED + 2)
    test_idx = subset(np.arange(len(test_labels)), config.test_subset, SPLIT_SEED + 3)

    def dataset(seqs, labels, idx):
        return text.EncodedDataset([seqs[i] for i in idx], labels[idx])

    return SentimentData(text.training_vocab(config.vocab_size), dataset(train_seqs, train_labels, train_idx),
                         dataset(train_seqs, train_labels, val_idx), dataset(test_seqs, test_labels, test_idx),
                         test_idx, test_lengths[test_idx])


def prediction_tensors(probs, labels, lengths, index) -> dict[str, torch.Tensor]:
    """What a run stores about the test set: P(positive), label, length in tokens, position in the split."""
    return {"prob_pos": torch.as_tensor(np.asarray(probs), dtype=torch.float32),
            "label": torch.as_tensor(np.asarray(labels), dtype=torch.uint8),
            "length": torch.as_tensor(np.asarray(lengths), dtype=torch.int32),
            "index": torch.as_tensor(np.asarray(index), dtype=torch.int32)}
