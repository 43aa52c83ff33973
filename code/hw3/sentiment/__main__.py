"""`python -m hw3.sentiment --all`: train (or load) every run of the attention chapter, in order."""

from __future__ import annotations

import argparse
import sys
import time

from .. import runs
from .model import MODELS
from .study import chosen_max_len, final_configs, report_configs, sweep_configs
from .tfidf import TfidfConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw3.sentiment", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="train (or load) every run attention.qmd shows, in order: "
                        "the max_len sweep, then every seed at each model's chosen max_len, then TF-IDF")
    parser.add_argument("--only", help="with --all: only runs whose name contains this (e.g. attention, s0, len400)")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs from their last epoch")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    parser.add_argument("--artefacts", action="store_true", help="store the small artefacts the chapter shows "
                        "(quoted reviews with their attention weights, confident mistakes, per-review faithfulness) "
                        "in the stored runs that lack them; reads their weights and the data, trains nothing")
    args = parser.parse_args(argv)
    if args.artefacts:
        from .artefacts import backfill

        done = backfill([args.only] if args.only else None, device=args.device or "cpu")
        print("stored artefacts for: " + (", ".join(done) or "nothing (every run has them)"))
        return 0
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
    done.append(runs.load_or_train(TfidfConfig(), resume=args.resume, device=args.device))
    for run in done:
        m = run.metrics
        print(f"{run.experiment}/{run.name}: val {m['val_accuracy']:.4f} test {m['accuracy']:.4f} "
              f"({run.provenance['wall_time_s']:.0f}s on {run.provenance['device']})")
    print(f"chosen max_len: {', '.join(f'{m} {chosen_max_len(m)}' for m in MODELS)}; "
          f"done in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
