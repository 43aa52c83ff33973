"""A chapter's reproducibility card: the items of the NeurIPS reproducibility checklist (sections 5-8
and 12: data, seeds and error bars, compute, code and licences) as one two-column table, computed from
the runs the chapter shows.

A chapter builds it from its stored runs and its own words for the error bars:

    card.table(runs, error_bars="± one standard deviation over 3 seeds", data=card.MNIST)

and shows it with `tables.show(..., index=False)` under a `tbl-` label.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

MNIST = ("MNIST (LeCun, Cortes and Burges): 60,000 training and 10,000 test digits, 28 × 28 grey levels; "
         "yann.lecun.com/exdb/mnist; licence: CC BY-SA 3.0")
IMDB = ("Large Movie Review Dataset v1.0 (Maas et al., ACL 2011): 25,000 training and 25,000 test reviews, "
        "balanced; ai.stanford.edu/~amaas/data/sentiment; free for research use, cite the paper")


def _devices(provenances: list[dict]) -> str:
    names = []
    for p in provenances:
        dev = str(p.get("device", "?"))
        name = "CPU" if dev == "cpu" else (p.get("device_name") or dev.upper())
        threads = p.get("torch_threads")
        if dev == "cpu" and threads:
            name += f", {threads} thread{'s' if threads != 1 else ''}"
        names.append(name)
    return "; ".join(sorted(set(names)))


def _range(values: list[float], unit: str) -> str:
    if not values:
        return "not recorded"
    lo, hi = min(values), max(values)
    return f"{lo:,.0f} {unit}" if round(lo) == round(hi) else f"{lo:,.0f}–{hi:,.0f} {unit}"


def versions(provenances: list[dict]) -> str:
    """'Python 3.11.7, PyTorch 2.14.1, NumPy 2.4.6' (every version met among the runs)."""
    parts = []
    for key, label in (("python", "Python"), ("torch", "PyTorch"), ("numpy", "NumPy")):
        vals = sorted({str(p[key]).split("+")[0] for p in provenances if p.get(key)})
        if vals:
            parts.append(f"{label} {' / '.join(vals)}")
    return ", ".join(parts) or "not recorded"


def table(runs: Iterable, *, error_bars: str, data: str, parameters: dict[str, int] | None = None,
          seeds: str | None = None, code: str = "the hw3 package in this repository (code/hw3/)",
          extra: dict[str, str] | None = None) -> pd.DataFrame:
    """The card as a DataFrame with columns item / value.

    runs: the stored runs the chapter shows (`runs.Run`: `.config`, `.provenance`).
    error_bars: what every ± and band of the chapter is, in words.
    parameters: trainable parameter counts by model name.
    seeds: the seeds in words; by default the distinct seeds of the runs and how many runs there are.
    """
    runs = list(runs)
    prov = [r.provenance for r in runs]
    if seeds is None:
        found = sorted({getattr(r.config, "seed", None) for r in runs} - {None})
        seeds = (f"{len(runs)} stored runs; seeds {', '.join(map(str, found))}" if found
                 else f"{len(runs)} stored runs")
    rows = {
        "data": data,
        "runs and seeds": seeds,
        "error bars": error_bars,
        "hardware": _devices(prov) or "not recorded",
        "wall time per run": _range([p["wall_time_s"] for p in prov if "wall_time_s" in p], "s"),
        "total training time": _range([sum(p.get("wall_time_s", 0) for p in prov) / 60], "min"),
        "software": versions(prov),
        "code": code,
    }
    if parameters:
        rows["trainable parameters"] = ", ".join(f"{k}: {v:,}" for k, v in parameters.items())
    rows.update(extra or {})
    return pd.DataFrame({"item": list(rows), "value": list(rows.values())})
