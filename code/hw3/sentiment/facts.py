"""What the attention chapter (attention.qmd) states, computed in one place: `chapter()` returns a
`SentimentFacts`.

The numbers come from the stored runs (the max_len sweep, every model at its chosen length for each seed,
TF-IDF); the words chosen from them ("met" / "not met", "widens" / "does not widen", the faithfulness
verdict) are made by the small functions below, each tested with synthetic inputs in
tests/sentiment/test_facts.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import fmt, runs
from . import analysis
from .model import MODELS, SentimentConfig
from .study import CPU_BUDGET_MINUTES, report_runs


@dataclass(frozen=True)
class SentimentFacts:
    """Everything attention.qmd's prose, tables and figures use: runs, numbers, and words chosen from them."""

    # the runs
    sweep: list[runs.Run]  # every model at every candidate max_len (seed 0)
    final: list[runs.Run]  # every model at its chosen max_len, every seed
    tfidf: runs.Run
    by_model: dict[str, list[runs.Run]]  # final runs per model, seed order
    seed0: dict[str, runs.Run]  # each model's seed-0 final run
    config: SentimentConfig  # the attention model's (seed 0)
    tfidf_config: object  # TfidfConfig
    # what the tables and figures take
    chosen: dict[str, int]  # each model's max_len, chosen on validation accuracy
    summary: pd.DataFrame  # analysis.summary: mean and std over seeds, per model
    targets: pd.DataFrame  # analysis.targets: key -> target, measured, met
    faithfulness: pd.DataFrame  # analysis.faithfulness_table of the attention runs
    # protocol
    num_train: int
    num_val: int
    num_test: int
    num_seeds: int
    parameters: dict[str, int]  # per model, seed 0
    # results
    accuracy: dict[str, str]  # per model (and "tfidf"): '89.12 ± 0.21%' (mean ± std over seeds)
    attention_vs: dict[str, float]  # attention's mean accuracy minus that of "baseline", "meanpool", "tfidf"
    met: dict[str, str]  # per target key: "met" | "not met"
    ece: dict[str, float]  # per model (and "tfidf"), mean over seeds
    # long and short reviews
    short_gap: float  # attention minus baseline accuracy in the shortest length quartile (mean over seeds)
    long_gap: float  # the same in the longest quartile
    long_word: str  # "widens" | "does not widen"
    longest_min_tokens: int  # where the longest quartile starts (seed 0)
    # faithfulness
    faith_k: int
    faith_top: float  # confidence drop (pp) after deleting the faith_k most-attended tokens
    faith_random: float  # after deleting faith_k random tokens
    faith_more: str  # "more" | "no more"
    faith_verdict: str  # one sentence over every k
    faith_reviews: int
    faith_ks: str  # "1, 3, 5, 10, 20"
    # the CPU recipe
    cpu: list[runs.Run]  # each model retrained on a CPU with the short recipe (study.cpu_configs)
    cpu_gpu: pd.DataFrame  # analysis.cpu_gpu: the CPU run beside the GPU runs, per model
    cpu_minutes: float  # the three CPU runs' wall time together
    cpu_budget: str  # "within the 90-minute budget" | "over the 90-minute budget"
    cpu_epochs: int
    cpu_noise: dict[str, str]  # per model: "within" | "outside" (two standard deviations of the GPU seeds)
    cpu_gap: dict[str, float]  # per model: CPU test accuracy minus the GPU seeds' mean
    cpu_summary: str  # one clause per model: its gap and whether it is within seed noise
    # reproducing
    wall_range: tuple[float, float]  # fastest and slowest GRU run, seconds
    devices: str


# --- words from numbers ------------------------------------------------------------------------------


def target_word(met: bool) -> str:
    return "met" if met else "not met"


def quartile_gaps(attention: list[float], baseline: list[float]) -> tuple[float, float, str]:
    """Attention minus baseline accuracy in the shortest and the longest length quartile, and whether the
    gap 'widens' with length."""
    short_gap, long_gap = attention[0] - baseline[0], attention[-1] - baseline[-1]
    return short_gap, long_gap, "widens" if long_gap > short_gap else "does not widen"


def budget_words(minutes: float, budget: float) -> str:
    return f"{'within' if minutes <= budget else 'over'} the {budget:.0f}-minute budget"


def seed_noise_word(gap_in_std: float) -> str:
    """Whether a test accuracy lies within two standard deviations of the seeds' mean."""
    return "within" if abs(gap_in_std) <= 2 else "outside"


def cpu_summary_words(comparison: pd.DataFrame) -> str:
    """'GRU + additive attention −0.42 points (within two standard deviations of its 3 GPU seeds), ...'
    from `analysis.cpu_gpu`."""
    parts = []
    for model, r in comparison.iterrows():
        gap = fmt.points(r["cpu_test"] - r["gpu_test_mean"])
        parts.append(f"{analysis.MODEL_LABELS[model]} {gap} points ({seed_noise_word(r['gap_in_std'])} two standard "
                     f"deviations of its {fmt.word(int(r['gpu_seeds']))} GPU seeds)")
    return fmt.and_list(parts)


def mean_quartile_accuracy(run_list: list[runs.Run]) -> list[float]:
    """Accuracy in each length quartile, mean over the runs (seeds)."""
    return [float(np.mean([r.metrics["length_quartiles"][i]["accuracy"] for r in run_list])) for i in range(4)]


def faithfulness_words(table: pd.DataFrame, k: int = 5) -> tuple[int, float, float, str, str]:
    """From `analysis.faithfulness_table`: the k shown (k if measured, else the smallest), the drops after
    deleting the top-k and k random tokens, 'more' / 'no more', and the verdict over every k."""
    k = k if k in table.index else int(table.index[0])
    top = float(table.loc[k, "drop, top-k removed (pp)"])
    rand = float(table.loc[k, "drop, random k removed (pp)"])
    every = bool((table["drop, top-k removed (pp)"] > table["drop, random k removed (pp)"]).all())
    verdict = ("The attended tokens matter more to the decision than random ones" if every
               else "The attended tokens do not matter more than random ones for every k")
    return k, top, rand, "more" if top > rand else "no more", verdict


# --- the chapter -------------------------------------------------------------------------------------


def chapter() -> SentimentFacts:
    """Load (or, outside HW3_NO_TRAIN, train) the chapter's runs and state what attention.qmd says."""
    report = report_runs()
    return from_runs(report.sweep, report.final, report.tfidf, report.cpu)


def from_runs(sweep: list[runs.Run], final: list[runs.Run], tfidf: runs.Run, cpu: list[runs.Run]) -> SentimentFacts:
    by_model = {m: [r for r in final if r.config_dict["model"] == m] for m in MODELS}
    seed0 = {m: rs[0] for m, rs in by_model.items()}
    summary = analysis.summary(final, tfidf)
    targets = analysis.targets(final, tfidf)
    faith = analysis.faithfulness_table(by_model["attention"])
    m_att = seed0["attention"].metrics
    mean_acc = summary["accuracy_mean"]
    short_gap, long_gap, long_word = quartile_gaps(mean_quartile_accuracy(by_model["attention"]),
                                                   mean_quartile_accuracy(by_model["baseline"]))
    k, top, rand, more, verdict = faithfulness_words(faith)
    gru_runs = [*sweep, *final]
    cpu_gpu = analysis.cpu_gpu(cpu, final)
    walls = [r.provenance["wall_time_s"] for r in gru_runs]
    return SentimentFacts(
        sweep=sweep, final=final, tfidf=tfidf, by_model=by_model, seed0=seed0,
        config=seed0["attention"].config, tfidf_config=tfidf.config,
        chosen=analysis.chosen_lengths(sweep), summary=summary, targets=targets, faithfulness=faith,
        num_train=m_att["num_train"], num_val=m_att["num_val"], num_test=m_att["num_test"],
        num_seeds=len(by_model["attention"]),
        parameters={m: seed0[m].metrics["num_parameters"] for m in MODELS},
        accuracy={m: fmt.accuracy(row["accuracy_mean"], row["accuracy_std"], row["seeds"])
                  for m, row in summary.iterrows()},
        attention_vs={m: float(mean_acc["attention"] - mean_acc[m]) for m in ("baseline", "meanpool", "tfidf")},
        met={key: target_word(bool(v)) for key, v in targets["met"].items()},
        ece={m: float(summary.loc[m, "ece_mean"]) for m in [*MODELS, "tfidf"]},
        short_gap=short_gap, long_gap=long_gap, long_word=long_word,
        longest_min_tokens=m_att["length_quartiles"][3]["min_tokens"],
        faith_k=k, faith_top=top, faith_random=rand, faith_more=more, faith_verdict=verdict,
        faith_reviews=int(faith["reviews"].iloc[0]), faith_ks=", ".join(map(str, faith.index)),
        cpu=cpu, cpu_gpu=cpu_gpu, cpu_minutes=float(cpu_gpu["cpu_wall_s"].sum() / 60),
        cpu_budget=budget_words(float(cpu_gpu["cpu_wall_s"].sum() / 60), CPU_BUDGET_MINUTES),
        cpu_epochs=int(cpu_gpu["cpu_epochs"].max()),
        cpu_noise={m: seed_noise_word(g) for m, g in cpu_gpu["gap_in_std"].items()},
        cpu_gap={m: float(r["cpu_test"] - r["gpu_test_mean"]) for m, r in cpu_gpu.iterrows()},
        cpu_summary=cpu_summary_words(cpu_gpu),
        wall_range=(min(walls), max(walls)),
        devices=", ".join(sorted({r.provenance.get("device_name") or r.provenance["device"] for r in gru_runs})),
    )
