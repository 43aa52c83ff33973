"""What the GAN chapter (gan.qmd) states, computed in one place: `chapter()` returns a `GANFacts`.

The numbers come from the stored runs (the judge, the spec GAN, the study variants); the words chosen
from them ("met" / "missed", "farther" / "closer", the sentence on collapse between classes) are made
by the small functions below, each tested with synthetic inputs in tests/gan/test_facts.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from .. import card, compare, fmt, runs
from . import study
from .models import GANConfig, build_models
from .sampling import load_generator, midpoint_norm_ratio
from .train import bce_saturation

SATURATION_LOGIT = 20.0  # D's logit on a fake it is sure is real, for the BCEWithLogitsLoss example
UPDATE_RUNS = ("lr5e-4", "lr1e-4", "batch32", "batch128")  # the runs that change the number of updates


@dataclass(frozen=True)
class GANFacts:
    """Everything gan.qmd's prose and figures use: runs, numbers, and the words chosen from them."""

    # the runs and what the figures and tables take
    judge: runs.Run
    spec: runs.Run  # the spec, seed 0 (figures of one training run)
    spec_runs: list[runs.Run]  # every seed of the spec
    best: runs.Run  # the chosen variant, seed 0
    best_runs: list[runs.Run]
    study: study.Outcome  # validation summary, choice, test summary, target
    target: dict  # study.target(...): on the test reference, after the choice
    generator: nn.Module  # the spec run's generator (seed 0), eval mode
    config: GANConfig  # the spec's
    metrics: dict  # the spec's test-reference metrics, mean over seeds (class counts summed)
    metrics_sd: dict  # their standard deviation over seeds
    best_metrics: dict
    best_metrics_sd: dict
    floor: dict  # the same metrics for real training digits against the test reference
    floor_val: dict  # ... against the validation reference
    # the model and training
    num_train: int
    spec_seeds: int
    wall_minutes: float  # mean over the spec's seeds
    device: str
    saturation_logit: float
    saturation: dict  # bce_saturation(): {"sigmoid_bce" | "with_logits": {"loss", "grad"}}
    last: dict  # the spec's (seed 0) last history row (losses, D outputs, D accuracies)
    equilibrium_loss_d: float  # 2 log 2: D's loss when it outputs 0.5 everywhere
    equilibrium_loss_g: float  # log 2
    midpoint_norm_ratio: float
    # mode collapse and memorization
    most_digit: int
    most_share: float
    least_digit: int
    least_share: float
    collapse_between: str  # one sentence
    coverage_word: str  # "most" | "only part"
    memorization_ratio: float
    memorization_word: str  # "farther" | "closer"
    # the study
    smoothing: float  # real label of the smoothed run
    dcgan_channels: dict[str, int]
    min_seeds: int
    ranked: list[str]  # variants with at least min_seeds seeds
    unranked: list[str]
    better_runs: str  # plain-text lists of variants by their comparison with the spec (validation FID)
    worse_runs: str
    same_runs: str
    update_story: str  # a sentence, or ""
    runner_up: str  # the second-lowest mean validation FID, or ""
    vs_runner_up: str  # the chosen variant's FID compared with the runner-up's: "lower" / "no clear difference"
    vs_runner_up_interval: str
    choice_detail: str  # how the chosen variant compares with the runner-up, as a clause
    budget: dict  # study.budget(): CPU hours, GPU minutes
    tradeoff: dict  # per architecture ("mlp", "dcgan"): (min, max) of the variants' mean precision and recall
    conv_vs_spec: dict  # "precision" / "recall": dcgan's validation value vs the spec's, a compare word
    tradeoff_sentence: str  # what those two comparisons establish
    planned_first_lowest: str  # the planned variant whose first seed had the lowest validation FID (what prompted round 2)
    verdict: str  # "met" | "missed"
    verdict_detail: str  # "(FID met, entropy missed)" when missed, else ""
    tried: str  # what was tried, when the target was missed; else ""
    card: pd.DataFrame  # the chapter's reproducibility card (hw3.card)


# --- words from numbers ------------------------------------------------------------------------------


def class_shares(counts: list[int]) -> tuple[int, float, int, float]:
    """The most and the least frequent predicted digit and their shares: (digit, share, digit, share)."""
    total = sum(counts)
    hi = max(range(len(counts)), key=counts.__getitem__)
    lo = min(range(len(counts)), key=counts.__getitem__)
    return hi, counts[hi] / total, lo, counts[lo] / total


def collapse_sentence(entropy: float, floor_entropy: float, least_share: float) -> str:
    """Collapse between classes: none (entropy within 0.01 of real digits'), partial, or whole digits lost
    (the rarest digit under 1% of the samples)."""
    if entropy >= floor_entropy - 0.01:
        return "Every digit is produced about as often as in real data: no collapse between classes."
    if least_share > 0.01:
        return ("Every digit is still produced, but unevenly: a partial collapse towards some classes, "
                "not the loss of whole ones.")
    return "Some digits have all but vanished: a collapse between classes."


def coverage_word(recall: float, floor_recall: float) -> str:
    """'most' when recall is within 0.05 of the real floor's, else 'only part'."""
    return "most" if recall >= floor_recall - 0.05 else "only part"


def memorization_word(ratio: float) -> str:
    """Samples sit 'farther' from the training set than test digits do (ratio > 1), or 'closer'."""
    return "farther" if ratio > 1 else "closer"


def by_word(val: pd.DataFrame, word: str) -> list[str]:
    """The ranked variants whose validation FID compares with the spec's as `word` ("better", "worse",
    "no clear difference"; from `compare.seeds` in study.summary)."""
    rows = study.ranked(val)
    return rows.loc[rows["fid_vs_spec"] == word, "variant"].tolist()


def update_story(val: pd.DataFrame, spec_epochs: int) -> str:
    """A sentence when the learning-rate and batch-size runs agree: more updates (a larger rate, a smaller
    batch) clearly better and fewer clearly worse than the spec; '' otherwise (or while not all are ranked)."""
    rows = study.ranked(val).set_index("variant")["fid_vs_spec"]
    if not all(k in rows for k in UPDATE_RUNS):
        return ""
    if (rows["lr5e-4"], rows["batch32"], rows["lr1e-4"], rows["batch128"]) == ("better", "better", "worse", "worse"):
        return ("The learning-rate and batch-size runs point the same way: a larger learning rate or a smaller "
                "batch (more updates per epoch) is clearly better, a smaller rate or a larger batch clearly "
                f"worse, as expected of a spec GAN that has not converged after its {spec_epochs} epochs.")
    return ""


def choice_detail(word: str, runner_up: str, interval: str) -> str:
    """The chosen variant against the runner-up, from `compare.seeds` of their validation FIDs."""
    if not runner_up:
        return "the only ranked variant"
    relation = {compare.LOWER: "clearly lower than", compare.HIGHER: "clearly higher than"}.get(
        word, "not clearly different from")
    return (f"its mean validation FID is {relation} that of the runner-up, {runner_up} "
            f"(95 % interval of the difference {interval})")


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def verdict_detail(target: dict) -> str:
    """Which half of a missed target was missed: '(FID met, entropy missed)'; '' when it was met."""
    if target["met"]:
        return ""
    return f"(FID {verdict(target['fid_met'])}, entropy {verdict(target['entropy_met'])})"


def tried_sentence(target: dict, num_variants: int, num_convolutional: int) -> str:
    """When the target was missed: what was tried and how close the chosen variant came; '' when met."""
    if target["met"]:
        return ""
    tried = (f"What was tried is the table itself: {num_variants} variants, "
             f"{num_convolutional} of them convolutional; ")
    if not target["fid_met"]:
        return tried + (f"the chosen one reaches {target['ratio']:.2f} of the spec's mean classifier FID on the "
                        f"test digits, not {target['fid_ratio']:.2f}.")
    return tried + (f"the chosen one has mean class entropy {target['best_entropy']:.3f}, "
                    f"below {target['min_entropy']:.2f}.")


# --- the chapter -------------------------------------------------------------------------------------


def chapter() -> GANFacts:
    """Load (or, outside HW3_NO_TRAIN, train) the chapter's runs and state what gan.qmd says about them."""
    configs = study.report_configs()  # the judge, then each variant's seeds (the spec first)
    judge_run = runs.load_or_train(configs[0])
    study_runs = [runs.load_or_train(c) for c in configs[1:]]
    return from_runs(judge_run, study_runs)


def pooled(rs: list[runs.Run], split: str = "test") -> tuple[dict, dict]:
    """Mean and standard deviation over seeds of each judge metric (class counts summed over seeds)."""
    keys = ("fid", "precision", "recall", "class_entropy", "confidence")
    mean = {k: float(np.mean([r.metrics[split][k] for r in rs])) for k in keys}
    sd = {k: float(np.std([r.metrics[split][k] for r in rs], ddof=1)) if len(rs) > 1 else math.nan for k in keys}
    mean["class_counts"] = np.sum([r.metrics[split]["class_counts"] for r in rs], axis=0).tolist()
    mean["num_samples"] = rs[0].metrics[split]["num_samples"]
    mean["nn_distance_median"] = float(np.mean([r.metrics["nn_distance_median"] for r in rs]))
    return mean, sd


def from_runs(judge_run: runs.Run, study_runs: list[runs.Run]) -> GANFacts:
    """`GANFacts` of given runs: the judge and every stored seed of the study's variants."""
    out = study.outcome(study_runs)
    spec_runs, best_runs = out.grouped[study.SPEC], out.grouped[out.chosen]
    spec = spec_runs[0]
    cfg, floor = spec.config, judge_run.metrics["floor"]
    m, m_sd = pooled(spec_runs)
    bm, bm_sd = pooled(best_runs)
    hi, hi_share, lo, lo_share = class_shares(m["class_counts"])
    table = study.variants()
    shown = set(out.val["variant"])  # variants with stored runs (planned ones without runs are not shown)
    dcgan_channels = {v.name: study.variant_config(v, 0, table).hidden_size for v in study.VARIANTS
                      if v.name in shown and study.variant_config(v, 0, table).arch == "dcgan"}
    planned = out.val[out.val["round"] == "planned"]
    first_seed_fid = {n: out.grouped[n][0].metrics["val"]["fid"] for n in planned["variant"]}
    mem_ratio = m["nn_distance_median"] / floor["nn_distance_median"]
    ranked = study.ranked(out.val)["variant"].tolist()
    vs = None
    if out.runner_up:
        vs = compare.seeds(study.values(best_runs, "fid"), study.values(out.grouped[out.runner_up], "fid"))
    return GANFacts(
        judge=judge_run, spec=spec, spec_runs=spec_runs, best=best_runs[0], best_runs=best_runs,
        study=out, target=out.target, generator=load_generator(spec), config=cfg,
        metrics=m, metrics_sd=m_sd, best_metrics=bm, best_metrics_sd=bm_sd,
        floor=floor["test"], floor_val=floor["val"],
        num_train=spec.metrics["num_train"], spec_seeds=len(spec_runs),
        wall_minutes=float(np.mean([r.provenance["wall_time_s"] for r in spec_runs])) / 60,
        device=card_device(spec.provenance),
        saturation_logit=SATURATION_LOGIT, saturation=bce_saturation(SATURATION_LOGIT), last=spec.history[-1],
        equilibrium_loss_d=2 * math.log(2), equilibrium_loss_g=math.log(2),
        midpoint_norm_ratio=midpoint_norm_ratio(latent_dim=cfg.latent_dim),
        most_digit=hi, most_share=hi_share, least_digit=lo, least_share=lo_share,
        collapse_between=collapse_sentence(m["class_entropy"], floor["test"]["class_entropy"], lo_share),
        coverage_word=coverage_word(m["recall"], floor["test"]["recall"]),
        memorization_ratio=mem_ratio, memorization_word=memorization_word(mem_ratio),
        smoothing=next(v.changes["real_label"] for v in study.VARIANTS if "real_label" in v.changes),
        dcgan_channels=dcgan_channels, min_seeds=study.MIN_SEEDS,
        ranked=ranked, unranked=[n for n in out.val["variant"] if n not in ranked and n != study.SPEC],
        better_runs=fmt.and_list(by_word(out.val, "better")) or "none",
        worse_runs=fmt.and_list(by_word(out.val, "worse")) or "none",
        same_runs=fmt.and_list(by_word(out.val, "no clear difference")) or "none",
        update_story=update_story(out.val, cfg.num_epochs),
        runner_up=out.runner_up or "",
        vs_runner_up=vs.say(higher="higher", lower="lower") if vs else "",
        vs_runner_up_interval=vs.interval(digits=1) if vs else "",
        choice_detail=choice_detail(vs.word if vs else "", out.runner_up or "", vs.interval(digits=1) if vs else ""),
        budget=study.budget(out.grouped),
        tradeoff=tradeoff_ranges(out.val, table),
        conv_vs_spec=(conv := {m: compare.seeds(study.values(out.grouped["dcgan"], m), study.values(spec_runs, m)).word
                               for m in ("precision", "recall")}),
        tradeoff_sentence=tradeoff_sentence(conv["precision"], conv["recall"], len(out.grouped["dcgan"])),
        planned_first_lowest=min(first_seed_fid, key=first_seed_fid.get),
        verdict=verdict(out.target["met"]), verdict_detail=verdict_detail(out.target),
        tried=tried_sentence(out.target, len(out.val) - 1, len(dcgan_channels)),
        card=chapter_card(judge_run, out, best_runs[0]),
    )


def chapter_card(judge_run: runs.Run, out: study.Outcome, best: runs.Run) -> pd.DataFrame:
    G, D = build_models(study.variant_config(study.variants()[study.SPEC]))
    G_best, _ = build_models(best.config)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    gan_runs = [r for rs in out.grouped.values() for r in rs]
    spec_seeds = len(out.grouped[study.SPEC])
    return card.table(
        [judge_run, *gan_runs], data=card.MNIST,
        error_bars="± one standard deviation over seeds (ddof 1); comparisons: Welch t 95 % intervals over seeds",
        seeds=(f"spec: {spec_seeds} seeds; ranked variants: at least {study.MIN_SEEDS}; "
               f"{len(gan_runs)} GAN runs and 1 judge run"),
        parameters={"spec G": count(G), "spec D": count(D), f"{best.config.name} G": count(G_best)})


def tradeoff_ranges(val: pd.DataFrame, table: dict) -> dict:
    """{"mlp": {"precision": (lo, hi), "recall": (lo, hi)}, "dcgan": {...}} over the variants' means (spec included)."""
    arch = {name: study.variant_config(v, 0, table).arch for name, v in table.items()}
    out = {}
    for a in ("mlp", "dcgan"):
        rows = val[val["variant"].map(arch) == a]
        out[a] = {m: (float(rows[f"{m}_mean"].min()), float(rows[f"{m}_mean"].max())) for m in ("precision", "recall")}
    return out


def tradeoff_sentence(precision: str, recall: str, seeds: int) -> str:
    """The fidelity/coverage trade-off of the convolutional generator against the spec, only as far as the
    seed comparisons (`compare.seeds` words) establish it."""
    if compare.UNRANKED in (precision, recall):
        return (f"With {fmt.word(seeds)} seed of dcgan so far, that trade-off is what single runs suggest, "
                "not yet a difference established against the seed spread.")
    if (precision, recall) == (compare.LOWER, compare.HIGHER):
        return ("Against the spec, dcgan's precision is clearly lower and its recall clearly higher: the "
                "convolutional generator covers more of the variety of real digits, at the price of more samples "
                "off the real manifold, and FID counts both.")
    words = {compare.HIGHER: "clearly higher than", compare.LOWER: "clearly lower than",
             compare.SAME: "not clearly different from"}
    return (f"Against the spec, dcgan's precision is {words[precision]} and its recall {words[recall]} the "
            "spec's: no clean trade of fidelity for coverage.")


def card_device(provenance: dict) -> str:
    """'a CPU (2 threads)' or the GPU's name."""
    if provenance.get("device") == "cpu":
        t = provenance.get("torch_threads")
        return f"a CPU ({t} thread{'s' if t != 1 else ''})" if t else "a CPU"
    return provenance.get("device_name") or str(provenance.get("device")).upper()
