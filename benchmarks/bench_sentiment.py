"""Training and inference speed of the IMDb GRU on this machine, three ways side by side.

    python benchmarks/bench_sentiment.py                      # CPU, attention model, max_len 800
    python benchmarks/bench_sentiment.py --reviews 256 --threads 1 2
    python benchmarks/bench_sentiment.py --device cuda --reviews 4096 --model baseline

1. One training step (forward, backward, Adam) on the same real IMDb training reviews, batch by batch
   interleaved so every path sees the same machine load:
   - padded:  length-grouped batches, right-padded, the GRU runs over the padding (the project's path);
   - packed:  the same batches through `pack_padded_sequence` (the path before; slow, so it is timed on
     the first `--packed-batches` batches only and compared with the padded path on those batches);
   - naive:   shuffled batches padded to max_len, no grouping.
   Only real tokens are counted. Repeated for each `--threads` setting.
2. GFLOP/s of the training step (analytic multiply-adds of the real tokens, forward + backward ≈ 3x
   forward) against a large plain matmul on the same machine.
3. What that means: an epoch, the CPU recipe's three runs (`study.cpu_configs`), every GRU run of
   the report, and `hw3 predict` over the 25,000 test reviews (timed on `--predict-reviews` of them).

Prints figures and the issue's targets (>= 10x the packed path, >= 50% of the large matmul); asserts
nothing. Needs the IMDb data (HW3_DATA_MIRROR).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hw3 import data, text, utils
from hw3.sentiment import model as sentiment_model
from hw3.sentiment import predict, study, train
from hw3.sentiment.data import validation_split
from hw3.sentiment.model import MAX_LEN_CANDIDATES, MODELS, SentimentConfig


def gru_flops_per_token(c: SentimentConfig) -> float:
    """Forward multiply-adds x 2 per real token: the GRU layers' 3 gates and attention scoring (the
    embedding is a lookup; the head runs once per review)."""
    flops = 0.0
    for layer in range(c.num_layers):
        inp = c.embedding_dim if layer == 0 else c.hidden_size
        flops += 2 * 3 * c.hidden_size * (inp + c.hidden_size)  # W_i x_t and W_h h_{t-1} for r, z, n
    if c.model == "attention":
        flops += 2 * c.hidden_size * c.attention_dim + 2 * c.attention_dim + 2 * c.hidden_size  # W h, v, Σ α h
    return flops


def matmul_gflops(device, n: int = 1024, seconds: float = 1.0) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(config, device, paths: dict[str, list], packed_batches: int) -> dict[str, tuple[float, int]]:
    """Seconds and real tokens of one training step per batch, for each path, interleaved."""
    utils.seed_everything(0)
    model = sentiment_model.SentimentGRU.from_config(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    train.train_step(model, paths["padded"][0].to(device), opt, config.grad_clip)  # warm-up
    spent = {k: [0.0, 0] for k in (*paths, "padded (packed's batches)")}
    for i in utils.progress(range(max(len(b) for b in paths.values())), desc="timing", leave=True):
        for name, batches in paths.items():
            if i >= len(batches) or (name == "packed" and i >= packed_batches):
                continue
            b = batches[i].to(device)
            model.packed = name == "packed"
            sync(device)
            t0 = time.perf_counter()
            train.train_step(model, b, opt, config.grad_clip)
            sync(device)
            dt = time.perf_counter() - t0
            spent[name][0] += dt
            spent[name][1] += int(b.lengths.sum())
            if name == "padded" and i < packed_batches:
                spent["padded (packed's batches)"][0] += dt
                spent["padded (packed's batches)"][1] += int(b.lengths.sum())
    model.packed = False
    return {k: (s, n) for k, (s, n) in spent.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="attention", choices=MODELS)
    p.add_argument("--max-len", type=int, default=800)
    p.add_argument("--reviews", type=int, default=384, help="training reviews timed per path (default: 384)")
    p.add_argument("--packed-batches", type=int, default=2, help="batches timed through packing (default: 2)")
    p.add_argument("--predict-reviews", type=int, default=1000, help="test reviews timed through hw3 predict")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to compare")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    device = utils.get_device(args.device)
    config = SentimentConfig(model=args.model, max_len=args.max_len, batch_size=args.batch_size)

    corpus = text.corpus("train")
    train_idx, val_idx = validation_split(corpus.labels)
    sample = np.sort(np.random.default_rng(0).choice(train_idx, size=args.reviews, replace=False))
    dataset = text.EncodedDataset(corpus.encode(config.vocab_size, config.max_len, sample), corpus.labels[sample])
    real_tokens = sum(dataset.lengths)
    grouped = list(text.loader(dataset, config.batch_size, shuffle=True, seed=0))
    naive = list(text.loader(dataset, config.batch_size, shuffle=True, seed=0, grouped=False, pad_to=config.max_len))
    paths = {"padded": grouped, "packed": grouped, "naive": naive}
    padding = {"padded": 1 - real_tokens / sum(b.ids.numel() for b in grouped),
               "naive": 1 - real_tokens / sum(b.ids.numel() for b in naive)}
    padding["packed"] = padding["padded (packed's batches)"] = 0.0

    flops_token = 3 * gru_flops_per_token(config)  # forward + backward
    print(f"\ndevice: {device}, model: {config.model}, max_len {config.max_len}, batch {config.batch_size}, "
          f"{args.reviews} real training reviews ({real_tokens:,} real tokens); "
          f"{flops_token / 1e6:.2f} MFLOP per real token, forward + backward")
    best_tps = 0.0
    for threads in args.threads:
        torch.set_num_threads(threads)
        mm = matmul_gflops(device)
        spent = time_steps(config, device, paths, args.packed_batches)
        tps = {k: n / s for k, (s, n) in spent.items() if s}
        print(f"\n{threads} thread(s); plain 1024x1024 matmul: {mm:.1f} GFLOP/s")
        print(f"{'training step':<30}{'padding':>9}{'real tokens/s':>15}{'GFLOP/s':>10}{'of matmul':>11}")
        for k, v in tps.items():
            gflops = flops_token * v / 1e9
            print(f"{k:<30}{100 * padding[k]:>8.1f}%{v:>15,.0f}{gflops:>10.1f}{100 * gflops / mm:>10.0f}%")
        speedup = tps["padded (packed's batches)"] / tps["packed"]
        share = flops_token * tps["padded"] / 1e9 / mm
        print(f"padded vs packed on the same batches: {speedup:.1f}x (target >= 10x: {'met' if speedup >= 10 else 'MISSED'})")
        print(f"padded vs naive: {tps['padded'] / tps['naive']:.2f}x; share of the large matmul: {100 * share:.0f}% "
              f"(target >= 50%: {'met' if share >= 0.5 else 'MISSED'})")
        best_tps = max(best_tps, tps["padded"])

    # What the fastest setting means in wall time (validation is inference, about a third of a step).
    def epoch_seconds(L: int) -> float:
        cut = np.minimum(corpus.lengths, L)
        return (cut[train_idx].sum() + cut[val_idx].sum() / 3) / best_tps

    print(f"\nat {best_tps:,.0f} real tokens/s:")
    for L in MAX_LEN_CANDIDATES:
        print(f"  one epoch at max_len {L}: {epoch_seconds(L) / 60:.1f} min")
    cpu = sum(c.num_epochs * epoch_seconds(c.max_len) for c in study.cpu_configs())
    print(f"  the CPU recipe's 3 runs ({study.CPU_EPOCHS} epochs each): {cpu / 60:.0f} min (budget 90 min)")
    gpu_recipe = [c for c in study.report_configs() if isinstance(c, SentimentConfig)
                  and not c.name.endswith("-cpu")]
    total = sum(c.num_epochs * epoch_seconds(c.max_len) for c in gpu_recipe)
    print(f"  every other GRU run of the report ({len(gpu_recipe)}, at most num_epochs each): {total / 3600:.1f} h")

    # hw3 predict, as a user calls it: text in, tokenizer, vocabulary, model.
    run = predict.resolve_run("attention-s0")
    test = data.imdb("test")
    pick = np.random.default_rng(0).choice(len(test), size=args.predict_reviews, replace=False)
    reviews = [test[i].text.replace("\n", " ") for i in pick]
    for threads in args.threads:
        torch.set_num_threads(threads)
        predict.predict(run, reviews[:8])  # warm-up (loads the run)
        t0 = time.perf_counter()
        predict.predict(run, reviews)
        dt = time.perf_counter() - t0
        print(f"hw3 predict, {threads} thread(s): {len(reviews) / dt:,.0f} reviews/s; "
              f"the 25,000 test reviews in ~{25000 / len(reviews) * dt / 60:.1f} min ({run.name})")


if __name__ == "__main__":
    main()
