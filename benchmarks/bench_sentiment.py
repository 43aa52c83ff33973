"""Training speed of the IMDb GRU: length-grouped vs naive batches, achieved GFLOP/s, epoch time.

    python benchmarks/bench_sentiment.py                      # CPU, attention model, max_len 400
    python benchmarks/bench_sentiment.py --threads 1 --reviews 256
    python benchmarks/bench_sentiment.py --device cuda --reviews 4096 --model baseline

1. The same training reviews (a seeded random sample of real IMDb training reviews, cut to max_len),
   the same model and optimizer, trained one pass two ways, batch by batch interleaved so both see
   the same machine load: the project's length-grouped batches (`text.LengthGroupedBatchSampler`) and
   the common naive way (shuffle, pad every batch to max_len). Only real tokens are counted.
2. GFLOP/s of a training step (analytic count of the real tokens' multiply-adds, forward + backward
   ≈ 3x forward) against a plain matmul of the same machine: a large square one and one of the shape
   the GRU's recurrence multiplies at each time step.
3. The epoch time this implies on this machine, and the total for the report's runs (at most
   `num_epochs` epochs each; early stopping makes it shorter).

Prints figures only; nothing is asserted. Needs the IMDb data (HW3_DATA_MIRROR).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hw3 import sentiment, text, utils


def gru_flops_per_token(c: sentiment.SentimentConfig) -> float:
    """Forward multiply-adds x 2 per real token: the GRU layers' 3 gates, attention scoring, nothing else
    of note (the embedding is a lookup; the head runs once per review)."""
    flops = 0.0
    for layer in range(c.num_layers):
        inp = c.embedding_dim if layer == 0 else c.hidden_size
        flops += 2 * 3 * c.hidden_size * (inp + c.hidden_size)  # W_i x_t and W_h h_{t-1} for r, z, n
    if c.model == "attention":
        flops += 2 * c.hidden_size * c.attention_dim + 2 * c.attention_dim + 2 * c.hidden_size  # W h, v, Σ α h
    return flops


def matmul_gflops(device, m: int, k: int, n: int, seconds: float = 1.0) -> float:
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    sync(device)
    return 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="attention", choices=sentiment.MODELS)
    p.add_argument("--max-len", type=int, default=sentiment.DEFAULT_MAX_LEN)
    p.add_argument("--reviews", type=int, default=512, help="training reviews timed each way (default: 512)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = utils.get_device(args.device)
    config = sentiment.SentimentConfig(model=args.model, max_len=args.max_len, batch_size=args.batch_size)

    corpus = text.corpus("train")
    train_idx, _ = sentiment.validation_split(corpus.labels)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(train_idx, size=args.reviews, replace=False))
    seqs = corpus.encode(config.vocab_size, config.max_len, sample)
    dataset = text.EncodedDataset(seqs, corpus.labels[sample])
    real_tokens = sum(len(s) for s in seqs)

    grouped = list(text.loader(dataset, config.batch_size, shuffle=True, seed=0))
    naive = list(text.loader(dataset, config.batch_size, shuffle=True, seed=0, grouped=False, pad_to=config.max_len))
    pad_grouped = 1 - real_tokens / sum(b.ids.numel() for b in grouped)
    pad_naive = 1 - real_tokens / sum(b.ids.numel() for b in naive)

    utils.seed_everything(0)
    model = sentiment.SentimentGRU.from_config(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    sentiment.train_step(model, grouped[0].to(device), opt, config.grad_clip)  # warm-up
    times = {"grouped": 0.0, "naive": 0.0}
    for i in utils.progress(range(max(len(grouped), len(naive))), desc="timing", leave=True):
        for name, batches in (("grouped", grouped), ("naive", naive)):
            if i < len(batches):
                b = batches[i].to(device)
                sync(device)
                t0 = time.perf_counter()
                sentiment.train_step(model, b, opt, config.grad_clip)
                sync(device)
                times[name] += time.perf_counter() - t0

    tps = {k: real_tokens / v for k, v in times.items()}
    flops_token = 3 * gru_flops_per_token(config)  # forward + backward
    step_gflops = {k: flops_token * v / 1e9 for k, v in tps.items()}
    mm_big = matmul_gflops(device, 1024, 1024, 1024)
    H = config.hidden_size
    mm_gru = matmul_gflops(device, config.batch_size, H, 3 * H)

    # the epoch on this machine: 22,500 training reviews cut to max_len, plus validation (~1/3 cost per token)
    val_idx = np.setdiff1d(np.arange(len(corpus)), train_idx)

    def epoch_tokens(L, idx):
        return np.minimum(corpus.lengths[idx], L).sum()

    def epoch_seconds(L):
        return (epoch_tokens(L, train_idx) + epoch_tokens(L, val_idx) / 3) / tps["grouped"]

    print(f"\ndevice: {device} ({torch.get_num_threads()} threads), model: {config.model}, max_len {config.max_len}, "
          f"batch {config.batch_size}, {args.reviews} real training reviews ({real_tokens:,} real tokens)")
    print(f"{'batching':<34}{'padding':>9}{'real tokens/s':>15}{'GFLOP/s':>10}")
    for key, name, pad in (("grouped", "length-grouped (this project)", pad_grouped),
                           ("naive", "naive (shuffle, pad to max_len)", pad_naive)):
        print(f"{name:<34}{100 * pad:>8.1f}%{tps[key]:>15,.0f}{step_gflops[key]:>10.2f}")
    speedup = tps["grouped"] / tps["naive"]
    print(f"speed-up of length-grouped batches: {speedup:.2f}x (target >= 1.5x: {'met' if speedup >= 1.5 else 'not met'})")
    print(f"plain matmul 1024x1024x1024: {mm_big:.1f} GFLOP/s; the recurrence's shape "
          f"{config.batch_size}x{H}x{3 * H}: {mm_gru:.1f} GFLOP/s; the training step reaches "
          f"{100 * step_gflops['grouped'] / mm_big:.0f}% of the large matmul")
    print(f"{gru_flops_per_token(config) / 1e6:.2f} MFLOP per real token forward, {flops_token / 1e6:.2f} forward+backward")
    total = 0.0
    for L in sentiment.MAX_LEN_CANDIDATES:
        s = epoch_seconds(L)
        print(f"epoch at max_len {L} (22,500 training + 2,500 validation reviews): ~{s / 60:.1f} min on this machine")
    for c in sentiment.report_configs():
        if isinstance(c, sentiment.SentimentConfig):
            total += c.num_epochs * epoch_seconds(c.max_len)
    print(f"all report GRU runs, at most num_epochs each, at the {config.model} model's speed: "
          f"~{total / 3600:.1f} h on this machine "
          f"(the issue's budget: 1 h on 2 CPU cores)")


if __name__ == "__main__":
    main()
