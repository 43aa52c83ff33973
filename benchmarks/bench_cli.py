"""Start-up time of the `hw3` command, side by side: the commands that must answer at once (`--help`,
`runs`, an argument error, `freeze`) against Python itself and against `import torch`, which only the
training commands pay for (`hw3 train ... --help` builds its options from the experiment modules).

    python benchmarks/bench_cli.py [--repeat 5]

Each line: the median and the fastest of `--repeat` fresh processes (wall time, from start to exit),
and whether the process imported PyTorch. A benchmark, not a test: timings depend on the machine and
its load (tests/test_cli.py checks the imports, which do not).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PROBE = "import sys, runpy; sys.argv = ['hw3', *{argv!r}]; " \
        "exec(\"try:\\n runpy.run_module('hw3.cli', run_name='__main__')\\nexcept SystemExit: pass\"); " \
        "print('TORCH' if 'torch' in sys.modules else '', file=sys.stderr)"

ENV = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}  # `hw3 runs`: the real store
CASES = [
    ("python -c pass", None),
    ("hw3 --help", ["--help"]),
    ("hw3 runs", ["runs"]),
    ("hw3 runs --bogus (argument error)", ["runs", "--bogus"]),
    ("hw3 freeze", ["freeze"]),
    ("hw3 reproduce --help", ["reproduce", "--help"]),
    ("python -c 'import torch'", "torch"),
    ("hw3 train gan --help", ["train", "gan", "--help"]),
]


def once(case) -> tuple[float, bool]:
    if case is None:
        code = "pass"
    elif case == "torch":
        code = "import torch, sys; print('TORCH', file=sys.stderr)"
    else:
        code = PROBE.format(argv=case)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - t0
    return elapsed, "TORCH" in out.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="processes per command (default: 5)")
    args = parser.parse_args()
    print(f"{'command':<36} {'median s':>9} {'min s':>7}  torch   ({args.repeat} runs each, {os.cpu_count()} CPUs)")
    for label, case in CASES:
        times, torch = [], False
        for _ in range(args.repeat):
            t, torch = once(case)
            times.append(t)
        print(f"{label:<36} {statistics.median(times):>9.2f} {min(times):>7.2f}  {'yes' if torch else 'no'}")


if __name__ == "__main__":
    main()
