"""Do the stored GRU runs give their stored test accuracy through today's forward pass?

    python benchmarks/check_stored_runs.py                 # every stored sentiment run (about 2 min each on 2 cores)
    python benchmarks/check_stored_runs.py --only len800-s0

The stored runs were trained and scored with packed sequences (most on a GPU). The model now reads
right-padded batches without packing; this re-scores each run's 25,000 test reviews on the CPU and
prints, per run, the stored and re-computed accuracy (to 4 decimals), the largest change of P(positive)
and how many predicted labels changed. With `--cli RUN`, it also writes the 25,000 raw test reviews to
a file, one per line, runs `hw3 predict --run RUN --input FILE --output OUT`, and checks that one
prediction comes back per review and that their accuracy is the run's stored accuracy.
Needs the IMDb data (HW3_DATA_MIRROR).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hw3 import cli, data, runs
from hw3.sentiment import predict
from hw3.sentiment.data import load_data
from hw3.sentiment.model import load_model, predict_proba


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", help="runs whose name contains one of these")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--cli", metavar="RUN", help="also check `hw3 predict --input` on the test reviews with RUN")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    found = [r for r in runs.list_runs() if r.experiment == "sentiment" and (not args.only or any(o in r.name for o in args.only))]
    print(f"{'run':<28}{'stored':>9}{'now':>9}{'max |ΔP|':>10}{'labels changed':>16}{'seconds':>9}")
    mismatched = 0
    for run in found:
        t0 = time.perf_counter()
        model, _, config = load_model(run)
        data = load_data(config)
        probs, _ = predict_proba(model, data.test.seqs, "cpu")
        stored = run.load_tensors("test_predictions")
        labels = data.test.labels.numpy()
        acc = float(np.mean((probs >= 0.5) == labels))
        changed = int(np.sum((probs >= 0.5) != (stored["prob_pos"].numpy() >= 0.5)))
        same = round(acc, 4) == round(run.metrics["accuracy"], 4)
        mismatched += not same
        print(f"{run.name:<28}{run.metrics['accuracy']:>9.4f}{acc:>9.4f}"
              f"{np.abs(probs - stored['prob_pos'].numpy()).max():>10.1e}{changed:>16}"
              f"{time.perf_counter() - t0:>9.0f}{'' if same else '  DIFFERS'}", flush=True)
    print(f"{len(found) - mismatched} of {len(found)} runs reproduce their stored test accuracy to 4 decimals")
    if args.cli:
        mismatched += not check_cli(args.cli)
    return 1 if mismatched else 0


def check_cli(name: str) -> bool:
    """`hw3 predict --input` over the 25,000 raw test reviews, one per line."""
    run = predict.resolve_run(name)
    test = data.imdb("test")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "reviews.txt", Path(tmp) / "predictions.jsonl"
        src.write_text("".join(r.text.replace("\n", " ") + "\n" for r in test), encoding="utf-8")
        t0 = time.perf_counter()
        cli.main(["predict", "--run", run.name, "--input", str(src), "--output", str(out)])
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    acc = float(np.mean([(r["label"] == "pos") == bool(t.label) for r, t in zip(rows, test, strict=False)]))
    ok = len(rows) == len(test) and round(acc, 4) == round(run.metrics["accuracy"], 4)
    print(f"hw3 predict --input ({run.name}): {len(rows):,} predictions for {len(test):,} lines, accuracy "
          f"{acc:.4f} (stored {run.metrics['accuracy']:.4f}) in {time.perf_counter() - t0:.0f}s: "
          f"{'same' if ok else 'DIFFERS'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
