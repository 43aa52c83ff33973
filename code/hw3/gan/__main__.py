"""`python -m hw3.gan --study`: train (or load) every run of the GAN chapter."""

from __future__ import annotations

import argparse
import sys
import time

from .. import runs
from .study import report_configs


def main(argv: list[str] | None = None) -> int:
    """`python -m hw3.gan --study`: train (or load) every run of the report, one after another."""
    parser = argparse.ArgumentParser(prog="python -m hw3.gan", description=main.__doc__)
    parser.add_argument("--study", action="store_true", help="all runs of report_configs() (judge, spec, study)")
    parser.add_argument("--only", nargs="*", default=None, help="only these run names")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs from their checkpoint")
    parser.add_argument("--rescore", action="store_true",
                        help="give stored runs today's metrics and stored artefacts from their weights (no training)")
    args = parser.parse_args(argv)
    if args.rescore:
        from .rescore import rescore_all

        for name in rescore_all(device=args.device or "cpu"):
            print(f"rescored {name}", file=sys.stderr)
        return 0
    if not args.study and args.only is None:
        parser.error("pass --study, --only NAME ... or --rescore")
    for config in report_configs():
        if args.only is not None and config.name not in args.only:
            continue
        t0 = time.perf_counter()
        run = runs.load_or_train(config, resume=args.resume, device=args.device)
        shown = {k: round(v, 4) for k, v in run.metrics.items() if isinstance(v, float)}
        print(f"{config.experiment}/{config.name}: {shown} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
