"""IMDb sentiment with a 2-layer GRU: the last-token baseline, additive attention, and mean pooling.

All three share embedding (5,000 x 128) -> GRU (2 layers, hidden 256) -> dropout -> linear -> logit;
the sigmoid lives in the loss (`BCEWithLogitsLoss`). They differ only in how the top layer's outputs
h_1..h_n of a review with n real tokens become one vector:

- "baseline":  h_n, the top layer's output at the last *real* token. The GRU runs on right-padded,
  length-grouped batches without packing: a unidirectional GRU's h_t reads tokens 1..t only, so h_n of
  each review is gathered at its own length and never depends on the padding after it.
- "attention": additive scoring (Bahdanau, Cho & Bengio 2015), over real tokens only:
      e_t = vᵀ tanh(W h_t + b),   α = softmax(e) with e_t = -inf on padding (so α_t = 0 exactly),
      c = Σ_t α_t h_t.
- "meanpool":  c = (1/n) Σ_{t<=n} h_t, uniform weights, so any gain of attention over it is due to the
  *weighting*, not to pooling over all positions.

Protocol: a fixed, stratified 10% of the 25,000 training reviews is the validation set (model selection:
the epoch with the best validation accuracy is kept, and `max_len` is chosen per model from
`MAX_LEN_CANDIDATES` by validation accuracy); the 25,000 test reviews are scored once, at the end.

Run everything the report shows (on a GPU; each run checkpoints every epoch and resumes):

    python -m hw3.sentiment --all [--resume] [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from . import runs, text, utils
from . import sentiment_analysis as analysis

MODELS = ("baseline", "attention", "meanpool")
LR_SCHEDULES = ("plateau", "linear")
CPU_EPOCHS = 3  # the CPU recipe (`cpu_configs`): 3 epochs, the rate decaying linearly to 0
MAX_LEN_CANDIDATES = (200, 400, 800)  # tokens; ~55%, ~84% and ~97% of training reviews fit whole
DEFAULT_MAX_LEN = 400  # used before the validation sweep has been run
SEEDS = (0, 1, 2)
SPLIT_SEED = 2011  # the validation split is the same for every run, whatever its seed
FAITHFULNESS_KS = (1, 3, 5, 10, 20)
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


# --- models ------------------------------------------------------------------------------------------


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
        x = self.embed_dropout(self.embedding(ids))  # (B, T, E)
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


# --- data --------------------------------------------------------------------------------------------


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


def _subset(indices: np.ndarray, n: int, seed: int) -> np.ndarray:
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
    train_idx = _subset(train_idx, config.train_subset, SPLIT_SEED + 1)
    val_idx = _subset(val_idx, config.val_subset, SPLIT_SEED + 2)
    test_idx = _subset(np.arange(len(test_labels)), config.test_subset, SPLIT_SEED + 3)

    def dataset(seqs, labels, idx):
        return text.EncodedDataset([seqs[i] for i in idx], labels[idx])

    return SentimentData(text.training_vocab(config.vocab_size), dataset(train_seqs, train_labels, train_idx),
                         dataset(train_seqs, train_labels, val_idx), dataset(test_seqs, test_labels, test_idx),
                         test_idx, test_lengths[test_idx])


# --- training and evaluation -------------------------------------------------------------------------


def train_step(model: SentimentGRU, batch: text.Batch, opt: torch.optim.Optimizer,
               grad_clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One Adam step on `batch`; returns (summed loss, number correct)."""
    out = model(batch.ids, batch.lengths, batch.mask)
    loss = nn.functional.binary_cross_entropy_with_logits(out.logits, batch.labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    correct = ((out.logits > 0).float() == batch.labels).sum()
    return loss.detach() * len(batch.labels), correct


def train_epoch(model, loader, opt, grad_clip: float, device, desc: str = "", scheduler=None) -> dict:
    model.train()
    total_loss = torch.zeros((), device=device)
    total_correct = torch.zeros((), device=device)
    n = tokens = 0
    t0 = time.perf_counter()
    for batch in utils.progress(loader, desc=desc, unit="batch"):
        batch = batch.to(device)
        loss, correct = train_step(model, batch, opt, grad_clip)
        if scheduler is not None:
            scheduler.step()
        total_loss += loss
        total_correct += correct
        n += len(batch.labels)
        tokens += int(batch.lengths.sum())
    seconds = time.perf_counter() - t0
    return {"train_loss": total_loss.item() / n, "train_accuracy": total_correct.item() / n,
            "epoch_seconds": seconds, "tokens_per_second": tokens / seconds}


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


def validation_metrics(model, dataset: text.EncodedDataset, device) -> dict:
    probs, _ = predict_proba(model, dataset.seqs, device)
    y = dataset.labels.numpy()
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return {"val_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
            "val_accuracy": float(np.mean((probs >= 0.5) == y))}


@contextmanager
def cpu_threads(hidden_size: int, device):
    """One intra-op thread for a small GRU on the CPU. Its per-step matrices are tiny, so extra threads
    only add synchronisation, which on shared cores costs several times the work itself."""
    small = torch.device(device).type == "cpu" and hidden_size <= SMALL_HIDDEN
    with utils.cpu_threads(1 if small else None):
        yield


@runs.trainer(SentimentConfig)
def train(config: SentimentConfig, run: runs.RunWriter, device: torch.device) -> None:
    """Train with Adam and gradient clipping, keep the best-validation epoch, score the test set once."""
    with cpu_threads(config.hidden_size, device):
        _train(config, run, device)


def _train(config: SentimentConfig, run: runs.RunWriter, device: torch.device) -> None:
    data = load_data(config)
    data.vocab.save(run.dir / "vocab.json")
    model = SentimentGRU.from_config(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train_loader = text.loader(data.train, config.batch_size, shuffle=True, seed=config.seed)
    scheduler = None
    if config.lr_schedule == "linear":  # lr · (1 - step / total steps), stepped after every batch
        total = config.num_epochs * len(train_loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1 - step / total))

    start, best = 1, {"epoch": 0, "val_accuracy": -1.0}
    best_state = copy.deepcopy(model.state_dict())
    ck = run.load_checkpoint()
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if scheduler is not None:
            scheduler.load_state_dict(ck["scheduler"])
        best_state, best = ck["best_model"], ck["best"]
        start = ck["epoch"] + 1

    for epoch in range(start, config.num_epochs + 1):
        if epoch - best["epoch"] > config.patience:
            break  # no better validation accuracy for `patience` epochs
        train_loader.batch_sampler.set_epoch(epoch)
        row = train_epoch(model, train_loader, opt, config.grad_clip, device,
                          desc=f"{config.name} epoch {epoch}/{config.num_epochs}", scheduler=scheduler)
        row["lr"] = opt.param_groups[0]["lr"]
        row |= validation_metrics(model, data.val, device)
        runs.check_finite(epoch, train_loss=row["train_loss"], val_loss=row["val_loss"])
        run.log_epoch(epoch, **row)
        if row["val_accuracy"] > best["val_accuracy"]:
            best = {"epoch": epoch, "val_accuracy": row["val_accuracy"], "val_loss": row["val_loss"]}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif config.lr_schedule == "plateau" and config.lr_decay:  # a plateau: smaller steps (the rate lives in opt's state, so resume keeps it)
            for group in opt.param_groups:
                group["lr"] *= config.lr_decay
        print(f"{config.name} epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
              f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.4f} | {row['epoch_seconds']:.1f}s",
              file=sys.stderr)
        extra = {"scheduler": scheduler.state_dict()} if scheduler is not None else {}
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict(), best_model=best_state, best=best,
                            **extra)

    model.load_state_dict(best_state)
    run.save_weights("model", model)

    # The test set, once: final numbers from the best-validation weights.
    probs, _ = predict_proba(model, data.test.seqs, device)
    labels = data.test.labels.numpy().astype(np.int64)
    run.save_tensors("test_predictions", prediction_tensors(probs, labels, data.test_lengths, data.test_index))
    run.metrics.update(analysis.classification_metrics(labels, probs, data.test_lengths))
    run.metrics.update({"best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"],
                        "val_loss": best["val_loss"], "epochs_trained": len(run.history),
                        "num_train": len(data.train), "num_val": len(data.val), "num_test": len(data.test),
                        "num_parameters": sum(p.numel() for p in model.parameters())})
    if config.model == "attention":
        rng = np.random.default_rng(config.seed)
        pick = rng.choice(len(data.test), size=min(config.faithfulness_reviews, len(data.test)), replace=False)
        run.metrics["faithfulness"] = analysis.faithfulness(
            model, [data.test.seqs[i] for i in pick], FAITHFULNESS_KS, device=device, seed=config.seed)


def prediction_tensors(probs, labels, lengths, index) -> dict[str, torch.Tensor]:
    """What a run stores about the test set: P(positive), label, length in tokens, position in the split."""
    return {"prob_pos": torch.as_tensor(np.asarray(probs), dtype=torch.float32),
            "label": torch.as_tensor(np.asarray(labels), dtype=torch.uint8),
            "length": torch.as_tensor(np.asarray(lengths), dtype=torch.int32),
            "index": torch.as_tensor(np.asarray(index), dtype=torch.int32)}


# --- loading a trained model -------------------------------------------------------------------------


def load_model(run: runs.Run, device="cpu") -> tuple[SentimentGRU, text.Vocab, SentimentConfig]:
    """The trained model of a stored sentiment run (eval mode), its vocabulary and its config."""
    config = run.config
    model = SentimentGRU.from_config(config)
    run.load_weights("model", model, device=device)
    return model, text.Vocab.load(run.file("vocab.json")), config


# --- the report's runs -------------------------------------------------------------------------------


def sweep_configs() -> list[SentimentConfig]:
    """The validation sweep over `max_len`: each model at each candidate length, seed 0."""
    return [SentimentConfig(model=m, max_len=L, seed=0) for m in MODELS for L in MAX_LEN_CANDIDATES]


def chosen_max_len(model: str, sweep: list[runs.Run] | None = None) -> int:
    """The candidate `max_len` with the best validation accuracy for `model` (ties: the shorter).

    `sweep` holds the runs of `sweep_configs()`, in that order; without it the stored ones are read.
    Before the sweep exists: `DEFAULT_MAX_LEN`.
    """
    configs = sweep_configs()
    if sweep is None:
        sweep = []
        for c in configs:
            path = runs.run_dir(c.quick() if utils.quick() else c)
            sweep.append(runs.Run(path) if path.exists() else None)
    # the candidate comes from the full-profile config (a quick-profile run is trained shorter)
    scores = {c.max_len: r.metrics["val_accuracy"] for c, r in zip(configs, sweep, strict=True)
              if r is not None and c.model == model}
    if not scores:
        return DEFAULT_MAX_LEN
    return max(sorted(scores), key=lambda L: scores[L])  # max keeps the first (shortest) of ties


def final_configs(sweep: list[runs.Run] | None = None) -> list[SentimentConfig]:
    """Each model at its chosen `max_len`, one run per seed (seed 0 is the sweep's run)."""
    seeds = SEEDS[:1] if utils.quick() else SEEDS
    return [SentimentConfig(model=m, max_len=chosen_max_len(m, sweep), seed=s) for m in MODELS for s in seeds]


def cpu_configs(sweep: list[runs.Run] | None = None) -> list[SentimentConfig]:
    """The three final models retrained on a CPU (seed 0, each at its chosen `max_len`): `CPU_EPOCHS`
    epochs with a linearly decaying rate instead of up to 12 with plateau decay, so all three fit in
    about an hour and a half on two cores. Named `<model>-len<max_len>-s0-cpu`."""
    configs = []
    for m in MODELS:
        L = chosen_max_len(m, sweep)
        configs.append(SentimentConfig(model=m, max_len=L, seed=0, num_epochs=CPU_EPOCHS, lr_schedule="linear",
                                       name=f"{m}-len{L}-s0-cpu"))
    return configs


def report_configs() -> list[runs.RunConfig]:
    """Every run attention.qmd shows: the max_len sweep, the seeds at the chosen lengths, TF-IDF, and
    the CPU recipe's runs."""

    configs = sweep_configs()
    names = {c.name for c in configs}
    configs += [c for c in final_configs() if c.name not in names]
    return configs + [tfidf.TfidfConfig()] + cpu_configs()


class ReportRuns(NamedTuple):
    sweep: list[runs.Run]  # every model at every candidate max_len (seed 0)
    final: list[runs.Run]  # every model at its chosen max_len, every seed
    tfidf: runs.Run


def report_runs(*, resume: bool = False, device=None) -> ReportRuns:
    """Load (or train, in order: sweep, choice of max_len, seeds, TF-IDF) every run the page shows."""

    sweep = [runs.load_or_train(c, resume=resume, device=device) for c in sweep_configs()]
    final = [runs.load_or_train(c, resume=resume, device=device) for c in final_configs(sweep)]
    return ReportRuns(sweep, final, runs.load_or_train(tfidf.TfidfConfig(), resume=resume, device=device))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw3.sentiment", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="train (or load) every run attention.qmd shows, in order: "
                        "the max_len sweep, then every seed at each model's chosen max_len, then TF-IDF")
    parser.add_argument("--only", help="with --all: only runs whose name contains this (e.g. attention, s0, len400)")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs from their last epoch")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    args = parser.parse_args(argv)
    if not args.all:
        for c in report_configs():
            print(f"{c.experiment}/{c.name}: {'stored' if runs.run_dir(c).exists() else 'missing'}")
        print("train them with: python -m hw3.sentiment --all [--resume] [--device cuda]")
        return 0

    def wanted(c):
        return not args.only or args.only in c.name

    t0 = time.perf_counter()
    done = []
    for c in filter(wanted, sweep_configs()):  # the sweep first: the final runs' max_len depends on it
        done.append(runs.load_or_train(c, resume=args.resume, device=args.device))
    for c in filter(wanted, final_configs()):  # chosen from the stored sweep runs
        done.append(runs.load_or_train(c, resume=args.resume, device=args.device))
    done.append(runs.load_or_train(tfidf.TfidfConfig(), resume=args.resume, device=args.device))
    for run in done:
        m = run.metrics
        print(f"{run.experiment}/{run.name}: val {m['val_accuracy']:.4f} test {m['accuracy']:.4f} "
              f"({run.provenance['wall_time_s']:.0f}s on {run.provenance['device']})")
    print(f"chosen max_len: {', '.join(f'{m} {chosen_max_len(m)}' for m in MODELS)}; "
          f"done in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return 0


from . import tfidf  # noqa: E402, F401  (registers the TF-IDF reference, experiment "tfidf")

if __name__ == "__main__":
    sys.exit(main())
