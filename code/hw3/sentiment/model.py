"""IMDb sentiment: the config and the network, a 2-layer GRU with three ways to pool its outputs.

All three share embedding (5,000 x 128) -> GRU (2 layers, hidden 256; Cho et al. 2014) -> dropout ->
linear -> logit; the sigmoid lives in the loss (`BCEWithLogitsLoss`). They differ only in how the top
layer's outputs h_1..h_n of a review with n real tokens become one vector:

- "baseline":  h_n, the top layer's output at the last *real* token. The GRU runs on right-padded,
  length-grouped batches without packing: a unidirectional GRU's h_t reads tokens 1..t only, so h_n of
  each review is gathered at its own length and never depends on the padding after it.
- "attention": additive scoring (Bahdanau, Cho & Bengio 2015, eqs. 5-6), over real tokens only:
      e_t = vᵀ tanh(W h_t + b),   α = softmax(e) with e_t = -inf on padding (so α_t = 0 exactly),
      c = Σ_t α_t h_t.
- "meanpool":  c = (1/n) Σ_{t<=n} h_t, uniform weights, so any gain of attention over it is due to the
  *weighting*, not to pooling over all positions.

Also here: running a model on encoded reviews (`predict_proba`) and loading a stored one (`load_model`).
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .. import runs, text, utils

MODELS = ("baseline", "attention", "meanpool")
LR_SCHEDULES = ("plateau", "linear")
MAX_LEN_CANDIDATES = (200, 400, 800)  # tokens; ~55%, ~84% and ~97% of training reviews fit whole
DEFAULT_MAX_LEN = 400  # used before the validation sweep has been run
SMALL_HIDDEN = 64  # GRUs up to this size run single-threaded on the CPU (see `cpu_threads`)
_AUTO_NAME = re.compile(r"(baseline|attention|meanpool)-len\d+-s\d+")


@dataclass
class SentimentConfig(runs.RunConfig):
    """IMDb sentiment: embedding -> 2-layer GRU -> last-token / attention / mean pooling -> logit."""

    experiment: ClassVar[str] = "sentiment"
    name: str = ""  # "" (or any "<model>-len<max_len>-s<seed>") becomes "<model>-len<max_len>-s<seed>"
    seed: int = 0
    model: str = "attention"  # "baseline" | "attention" | "meanpool"
    vocab_size: int = 5000
    max_len: int = DEFAULT_MAX_LEN  # reviews are cut to their first max_len tokens
    embedding_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 2
    attention_dim: int = 128  # rows of W in e_t = vᵀ tanh(W h_t + b)
    embed_dropout: float = 0.2
    dropout: float = 0.4  # between the GRU layers and before the linear head
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    grad_clip: float = 1.0  # max global gradient norm
    num_epochs: int = 12  # at most; the epoch with the best validation accuracy is kept
    patience: int = 3  # stop after this many epochs without a better validation accuracy
    lr_decay: float = 0.5  # "plateau" schedule: multiply the rate by this after an epoch without a better validation accuracy
    lr_schedule: str = "plateau"  # "plateau" (see lr_decay) | "linear" (from lr down to 0 over num_epochs, every step)
    val_fraction: float = 0.1
    train_subset: int = 0  # 0 = all 22,500 training reviews (quick profile: fewer)
    val_subset: int = 0  # 0 = all 2,500 validation reviews
    test_subset: int = 0  # 0 = all 25,000 test reviews
    faithfulness_reviews: int = 2000  # test reviews used by the faithfulness check (attention only)

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {self.model!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, not {self.lr_schedule!r}")
        if not self.name or _AUTO_NAME.fullmatch(self.name):
            self.name = f"{self.model}-len{self.max_len}-s{self.seed}"

    def quick(self):
        # max_len // 8 keeps the sweep's candidates distinct (and the run names with them)
        return dataclasses.replace(self, num_epochs=1, train_subset=800, val_subset=300, test_subset=400,
                                   max_len=max(self.max_len // 8, 10), embedding_dim=32, hidden_size=32,
                                   attention_dim=16, batch_size=32, faithfulness_reviews=60)


class Output(NamedTuple):
    logits: torch.Tensor  # (B,)
    weights: torch.Tensor | None  # (B, T) attention weights, rows sum to 1, 0 on padding; None without attention


class AdditiveAttention(nn.Module):
    """e_t = vᵀ tanh(W h_t + b); α = softmax over real tokens (padding weight exactly 0); c = Σ α_t h_t."""

    def __init__(self, hidden_size: int, attention_dim: int):
        super().__init__()
        self.W = nn.Linear(hidden_size, attention_dim)  # W h_t + b
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.v(torch.tanh(self.W(h))).squeeze(-1)  # (B, T)
        e = e.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0: padding gets exactly zero weight
        alpha = torch.softmax(e, dim=1)  # (B, T)
        c = torch.bmm(alpha.unsqueeze(1), h).squeeze(1)  # (B, H)
        return c, alpha


class SentimentGRU(nn.Module):
    """ids (B, T), lengths (B,), mask (B, T) -> `Output(logits (B,), weights (B, T) or None)`."""

    def __init__(self, model: str = "attention", vocab_size: int = 5000, embedding_dim: int = 128,
                 hidden_size: int = 256, num_layers: int = 2, attention_dim: int = 128, embed_dropout: float = 0.2,
                 dropout: float = 0.4):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
        self.pooling = model
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=text.PAD_ID)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.gru = nn.GRU(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.attention = AdditiveAttention(hidden_size, attention_dim) if model == "attention" else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, 1))
        self.packed = False  # run the GRU on packed sequences (same outputs; kept for the benchmark)

    @classmethod
    def from_config(cls, c: SentimentConfig) -> SentimentGRU:
        return cls(c.model, c.vocab_size, c.embedding_dim, c.hidden_size, c.num_layers, c.attention_dim,
                   c.embed_dropout, c.dropout)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> Output:
        return self.from_embeddings(self.embedding(ids), lengths, mask)

    def from_embeddings(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> Output:
        """The forward pass from the word vectors x (B, T, E) on: gradient × input importance
        differentiates the logit with respect to x."""
        x = self.embed_dropout(x)  # (B, T, E)
        h = self.encode(x, lengths)  # (B, T, H); only positions t < length are used below
        weights = None
        if self.pooling == "baseline":
            last = (lengths - 1).to(h.device)
            pooled = h[torch.arange(len(h), device=h.device), last]  # (B, H): top layer at the last real token
        elif self.pooling == "attention":
            pooled, weights = self.attention(h, mask)  # (B, H), (B, T)
        else:  # meanpool over real tokens only
            pooled = (h * mask.unsqueeze(-1)).sum(1) / lengths.to(h.device, h.dtype).unsqueeze(1)  # (B, H)
        return Output(self.head(pooled).squeeze(-1), weights)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Top-layer outputs h_t (B, T, H) of right-padded inputs x (B, T, E).

        A unidirectional GRU's h_t depends only on tokens 1..t, so on a right-padded batch every real
        position is exact without packing; padding positions hold junk that pooling masks out. Packing
        (`packed = True`) gives the same real positions, and zeros on padding, at a much higher cost on
        the CPU (`benchmarks/bench_sentiment.py`).
        """
        if not self.packed:
            return self.gru(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x.shape[1])[0]


# --- running a model ---------------------------------------------------------------------------------

@contextmanager
def cpu_threads(hidden_size: int, device):
    """One intra-op thread for a small GRU on the CPU. Its per-step matrices are tiny, so extra threads
    only add synchronisation, which on shared cores costs several times the work itself."""
    small = torch.device(device).type == "cpu" and hidden_size <= SMALL_HIDDEN
    with utils.cpu_threads(1 if small else None):
        yield


@torch.no_grad()
def predict_proba(model: SentimentGRU, seqs, device, batch_size: int = 256,
                  with_weights: bool = False) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """P(positive) for each encoded review (N,), and each review's attention weights (over its tokens)."""
    with cpu_threads(model.gru.hidden_size, device):
        return _predict_proba(model, seqs, device, batch_size, with_weights)


def _predict_proba(model, seqs, device, batch_size, with_weights):
    model.eval()
    dataset = text.EncodedDataset(seqs, np.zeros(len(seqs)))
    probs = np.zeros(len(seqs))
    weights: list[np.ndarray | None] = [None] * len(seqs)
    for batch in text.loader(dataset, batch_size, shuffle=False):
        b = batch.to(device)
        out = model(b.ids, b.lengths, b.mask)
        probs[batch.index.numpy()] = torch.sigmoid(out.logits).float().cpu().numpy()
        if with_weights and out.weights is not None:
            w = out.weights.float().cpu().numpy()
            for row, i in enumerate(batch.index.tolist()):
                weights[i] = w[row, : batch.lengths[row]]
    return probs, (weights if with_weights and model.attention is not None else None)


def load_model(run: runs.Run, device="cpu") -> tuple[SentimentGRU, text.Vocab, SentimentConfig]:
    """The trained model of a stored sentiment run (eval mode), its vocabulary and its config."""
    config = run.config
    model = SentimentGRU.from_config(config)
    run.load_weights("model", model, device=device)
    return model, text.Vocab.load(run.file("vocab.json")), config
