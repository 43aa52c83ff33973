"""What the GAN chapter (gan.qmd) states, computed in one place: `chapter()` returns a `GANFacts`.

The numbers come from the stored runs (the judge, the spec GAN, the study variants); the words chosen
from them ("met" / "missed", "farther" / "closer", the sentence on collapse between classes) are made
by the small functions below, each tested with synthetic inputs in tests/gan/test_gan_facts.py.
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
INTERP_SEED, INTERP_PAIRS = 3, 4  # the latent pairs of the interpolation figure (and of its norm ratio)


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
    device: str  # the spec's seed 0
    timing: str  # "3.0 to 19.3 minutes (3 seeds; a CPU with 1 or 2 threads, shared with other jobs)"
    saturation_logit: float
    saturation: dict  # bce_saturation(): {"sigmoid_bce" | "with_logits": {"loss", "grad"}}
    last: dict  # the spec's (seed 0) last history row (losses, D outputs, D accuracies)
    equilibrium_loss_d: float  # 2 log 2: D's loss when it outputs 0.5 everywhere
    equilibrium_loss_g: float  # log 2
    midpoint_norm_ratio: float  # for the pairs of fig-gan-interp (INTERP_SEED)
    interp_seed: int
    losses: str  # how the spec's two losses moved over training (seed 0), one clause
    # mode collapse and memorization
    most_digit: int
    most_share: float
    least_digit: int
    least_share: float
    collapse_between: str  # one sentence
    coverage_word: str  # "most" | "only part"
    memorization_ratio: float  # mean over the spec's seeds
    memorization_ratios: list[float]  # one per seed
    memorization_word: str  # "farther" | "closer" | "about as far" (for every seed / not for every seed)
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
    budget_sentence: str  # the study's measured training time, by device
    tradeoff: dict  # per architecture ("mlp", "dcgan"): (min, max) of the variants' mean precision and recall
    conv_vs_spec: dict  # "precision" / "recall": dcgan's validation value vs the spec's, a compare word
    tradeoff_sentence: str  # what those two comparisons establish
    planned_first_lowest: str  # the planned variant whose first seed had the lowest validation FID
    planned_first_lowest_test: str  # ... on the test reference: the only reference when round 2 was decided
    follow_up: str  # the follow-up variants, each with its parent: "dcgan-wide (from dcgan), ..."
    dcgan_epochs: int  # the first convolutional variant's epochs (the spec's: config.num_epochs)
    unranked_below: str  # unranked variants whose (single-seed) validation FID lies below the chosen mean, or ""
    unranked_note: str  # a sentence on them, or ""
    round_two: str  # why round 2 extended what it did, as it happened (a clause)
    memorization: str  # "farther for each of its three seeds (1.33 to 1.35 times)"
    verdict: str  # "met" | "missed"
    verdict_detail: str  # "(FID met, entropy missed)"
    tried: str  # what was tried, when the target was missed; else ""
    curves: dict  # validation_curves(): {variant: [(epochs, validation FIDs) per seed]}
    curves_reason: str  # curves_clause() of the short follow-up runs that logged a curve
    continued: str  # continued_clause(): how the longest follow-up was trained
    long_epochs: int  # the epochs of the longest-trained follow-up variant
    pilot_pick: tuple[str, str]  # which of them was trained longer, and why
    ema_vs_dcgan: str  # dcgan-ema's validation FID against dcgan's, in words from compare.seeds
    gain_source: str  # gain_source(): where the chosen variant's gain may come from, or ""
    precision_vs_spec: str  # the chosen variant's test precision against the spec's, in words (compare.seeds)
    ema_ratio: float  # dcgan-ema's mean test FID over the spec's: what was seen when it missed the target
    chosen_memorization: str  # memorization_clause() of the chosen variant's seeds
    seed_ratios: list[float]  # each chosen seed's test FID over the spec's mean test FID
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


def memorization_word(ratios) -> str:
    """Per seed, the ratio of the samples' median nearest-training distance to a test digit's: 'farther' when
    every seed's samples sit farther from the training set than test digits do (all ratios > 1), 'closer' when
    every seed's sit closer, else 'sometimes farther, sometimes closer' (the seeds disagree)."""
    ratios = [ratios] if isinstance(ratios, (int, float)) else list(ratios)
    if all(r > 1 for r in ratios):
        return "farther"
    if all(r < 1 for r in ratios):
        return "closer"
    return "sometimes farther, sometimes closer"


def memorization_clause(ratios: list[float]) -> str:
    """Where the samples sit, per seed, against test digits: 'farther for each of its three seeds (1.33 to 1.35
    times)', or that the seeds disagree."""
    word = memorization_word(ratios)
    spread = f"{min(ratios):.2f} to {max(ratios):.2f} times" if len(ratios) > 1 else f"{ratios[0]:.2f} times"
    if len(ratios) == 1:
        return f"{word} (one seed, {spread})"
    if word.startswith("sometimes"):
        return f"{word}, depending on the seed ({spread})"
    return f"{word} for each of its {fmt.word(len(ratios))} seeds ({spread})"


def round_two_clause(lowest_test: str, lowest_val: str) -> str:
    """Why round 2 extended the planned variant it did, as it happened: the planned variants' first seeds were
    then scored on the test digits only; said with what the validation reference shows now."""
    text = (f"whose first seeds were then scored on the test digits alone, where {lowest_test} had the "
            "lowest FID")
    if lowest_test == lowest_val:
        return text + "; rescored on the validation reference, it has the lowest there too"
    return text + f"; rescored on the validation reference, the lowest is {lowest_val}"


def unranked_note(val: pd.DataFrame, chosen: str) -> str:
    """A sentence naming the unranked variants whose validation FID lies below the chosen mean, or ''."""
    names = unranked_below(val, chosen)
    if not names:
        return ""
    return (f"The rule cannot choose variants with fewer than {fmt.word(study.MIN_SEEDS)} seeds, and some of them "
            f"have a validation FID below the chosen variant's mean: {names}. With so few seeds that is not a "
            "ranking; those variants are candidates for more seeds, not results.")


def timing_sentence(minutes: list[float], provenances: list[dict]) -> str:
    """The spec's wall time per run over its seeds, with the devices they ran on: a range, not a mean
    alone, since the runs shared their machine with other jobs."""
    where = devices_text(provenances)
    if len(minutes) == 1:
        return f"{minutes[0]:.1f} minutes (one seed, on {where})"
    return (f"between {min(minutes):.1f} and {max(minutes):.1f} minutes ({fmt.word(len(minutes))} seeds, on {where}, "
            "shared with other jobs)")


def losses_clause(history: list[dict]) -> str:
    """How D's and G's losses moved over one run: D's lowest and G's highest epoch, where they ended, and
    whether their per-epoch changes move against each other (negative correlation) or not."""
    d = np.array([h["loss_d"] for h in history])
    g = np.array([h["loss_g"] for h in history])
    epochs = [h["epoch"] for h in history]
    text = (f"D's loss was lowest in epoch {epochs[int(d.argmin())]} ({d.min():.2f}) and ended at {d[-1]:.2f}; "
            f"G's was highest in epoch {epochs[int(g.argmax())]} ({g.max():.2f}) and ended at {g[-1]:.2f}")
    if len(d) < 3:
        return text
    r = float(np.corrcoef(np.diff(d), np.diff(g))[0, 1])
    if r < -0.5:
        return text + f". From epoch to epoch they move against each other (correlation of their changes {r:.2f})"
    return text + f" (correlation of their epoch-to-epoch changes {r:.2f})"


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
                "batch (larger or more updates per epoch) is clearly better, a smaller rate or a larger batch clearly "
                f"worse: within {spec_epochs} epochs, the spec GAN gains from more training.")
    return ""


def choice_detail(word: str, runner_up: str, interval: str) -> str:
    """The chosen variant against the runner-up, from `compare.seeds` of their validation FIDs."""
    if not runner_up:
        return "the only ranked variant"
    relation = {compare.LOWER: "clearly lower than", compare.HIGHER: "clearly higher than"}.get(
        word, "not clearly different from")
    return (f"its mean is {relation} the runner-up's, {runner_up}'s: the {compare.level_text()} Welch interval "
            f"over seeds for the difference is {interval}")


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def verdict_detail(target: dict) -> str:
    """Each half of the target: '(FID met, entropy missed)' (always given, so the sentence reads the same
    whether the target was met or missed)."""
    return f"(FID {verdict(target['fid_met'])}, entropy {verdict(target['entropy_met'])})"


def tried_sentence(target: dict, num_variants: int, num_convolutional: int) -> str:
    """When the target was missed: what was tried and how close the chosen variant came; '' when met."""
    if target["met"]:
        return ""
    tried = (f"What was tried on a CPU is the study's table ({num_variants} variants, "
             f"{num_convolutional} of them convolutional; the wider DCGANs tried on a GPU were removed, as the design "
             "says): ")
    missed = []
    if not target["fid_met"]:
        missed.append(f"{target['ratio']:.2f} of the spec's mean classifier FID where the target asks for at most "
                      f"{target['fid_ratio']:.2f}")
    if not target["entropy_met"]:
        missed.append(f"mean class entropy {target['best_entropy']:.3f} where it asks for at least "
                      f"{target['min_entropy']:.2f}")
    return tried + "the chosen one reaches " + " and ".join(missed) + "."


def follow_up_list(val: pd.DataFrame) -> str:
    """The follow-up variants shown, each with its parent: 'dcgan-wide (from dcgan), dcgan-xl (from dcgan-wide)'."""
    rows = val[val["round"] == "follow-up"]
    return fmt.and_list([f"{v} (from {p})" for v, p in zip(rows["variant"], rows["parent"], strict=True)]) or "none"


def unranked_below(val: pd.DataFrame, chosen: str) -> str:
    """The unranked variants (too few seeds) whose mean validation FID lies below the chosen variant's mean,
    with that FID: what the rule could not choose. '' when there are none."""
    fid = val.set_index("variant")["fid_mean"]
    rows = val[(val["variant"] != study.SPEC) & (val["seeds"] < study.MIN_SEEDS) & (val["fid_mean"] < fid[chosen])]
    rows = rows.sort_values("fid_mean")
    return fmt.and_list([f"{v} ({f:.1f}, {fmt.word(int(n))} seed{'s' if n != 1 else ''})"
                         for v, f, n in zip(rows["variant"], rows["fid_mean"], rows["seeds"], strict=True)])


def budget_sentence(grouped: dict, judge_run=None) -> str:
    """The study's measured training time by device, the judge's run included: CPU hours of the runs trained
    on a CPU, set against the study's CPU budget (`study.CPU_BUDGET_HOURS`), and GPU minutes of the others
    (by GPU name); the CPU time of GPU-trained runs was not measured, and the sentence says so."""
    all_runs = [r for rs in grouped.values() for r in rs] + ([judge_run] if judge_run is not None else [])
    cpu_runs = [r for r in all_runs if r.provenance.get("device") == "cpu"]
    gpu_runs = [r for r in all_runs if r.provenance.get("device") != "cpu"]
    hours = sum(r.provenance["wall_time_s"] for r in cpu_runs) / 3600
    judge = ", the judge's included," if judge_run is not None and judge_run in cpu_runs else ""
    if not cpu_runs:
        text = "No run was trained on a CPU"
    elif len(cpu_runs) == 1:
        text = f"The one run trained on a CPU took {hours:.1f} hours"
    else:
        text = f"The {fmt.word(len(cpu_runs))} runs trained on a CPU{judge} took {hours:.1f} hours of wall time together"
    if not gpu_runs:
        where = "within" if hours <= study.CPU_BUDGET_HOURS else "over"
        return text + f", {where} the study's budget of {study.CPU_BUDGET_HOURS:g} hours on a 2-core CPU." if cpu_runs else text + "."
    names = sorted({card_device(r.provenance) for r in gpu_runs})
    gpu = sum(r.provenance["wall_time_s"] for r in gpu_runs)
    return (text + f"; the {fmt.word(len(gpu_runs))} trained on a GPU ({' and '.join(names)}) took "
            f"{gpu / 60:.0f} minutes, and how long they would take on the CPU was not measured.")


def validation_curves(grouped: dict) -> dict[str, list[tuple[list[int], list[float]]]]:
    """{variant: [(epochs, validation FIDs) per seed]} for the runs that logged a validation curve."""
    out = {}
    for name, rs in grouped.items():
        seeds = [([h["epoch"] for h in r.history if "val_fid" in h], [h["val_fid"] for h in r.history if "val_fid" in h])
                 for r in rs]
        if any(e for e, _ in seeds):
            out[name] = [s for s in seeds if s[0]]
    return out


def curves_clause(curves: dict, names: list[str]) -> str:
    """Whether the named variants' validation FID was still falling at their last logged epoch (every seed):
    the reason, as measured, for training longer."""
    falling = {n: all(f[-1] < f[-2] for _, f in curves[n] if len(f) > 1) for n in names if n in curves}
    if not falling:
        return "no validation curve said whether it would help"
    if all(falling.values()):
        if len(falling) == 1:
            return "its validation FID was still falling at its last epoch"
        which = "both" if len(falling) == 2 else f"all {fmt.word(len(falling))}"
        return f"the validation curves of {which} were still falling at their last epoch"
    flat = [n for n, f in falling.items() if not f]
    return f"although the validation FID of {fmt.and_list(flat)} had stopped falling at its last epoch"


def continued_clause(grouped: dict, long_epochs: int) -> str:
    """How the longest follow-up came to be trained, from its runs' provenance ("continued_from": a shorter
    run whose last checkpoint it continues) and validation curves: 'for 100 epochs' when none was
    continued; else first the shorter runs, then, while their validation FID was still falling (lower at
    their last epoch than ten epochs before), the longer. Training before a run's last epoch does not depend
    on its number of epochs (tested), so a continued run is exactly the longer run from the start."""
    cont = [(r, r.provenance["continued_from"]) for rs in grouped.values() for r in rs
            if r.provenance.get("continued_from")]
    if not cont:
        return f"for {long_epochs} epochs"
    short = cont[0][1]["epoch"]
    curve = lambda r: {h["epoch"]: h["val_fid"] for h in r.history if "val_fid" in h}  # noqa: E731
    falling = all(short - 10 in curve(r) and curve(r)[short] < curve(r)[short - 10] for r, _ in cont)
    n = fmt.word(len(cont))
    when = (f"while the validation FID of its first {n} seeds was still falling, before they reached epoch "
            f"{short} (their test scores, computed when they ended, were seen but read by no choice)"
            if falling else f"once its first {n} seeds had run {short} epochs")
    return (f"first for {short} epochs, then, {when}, for {long_epochs}: those seeds continue their {short}-epoch "
            f"runs from the last checkpoint, which gives exactly the run a {long_epochs}-epoch training from the "
            f"start gives (no epoch before the last depends on the number of epochs), and the {short}-epoch runs "
            "are not kept, being these runs' first epochs")


def pilot_pick(val: pd.DataFrame, pilots: list[str]) -> tuple[str, str]:
    """Which one-seed pilot was trained longer and why: (name, clause) — the lower validation FID, said as
    what it is: one seed each, not a ranking."""
    rows = val.set_index("variant").loc[pilots].sort_values("fid_mean")
    best, rest = rows.index[0], rows.index[1:]
    others = ", ".join(f"{rows.loc[n, 'fid_mean']:.1f} for {n}" for n in rest)
    return best, (f"its one seed had the lower validation FID of the additions ({rows.loc[best, 'fid_mean']:.1f} "
                  f"against {others}; one seed each, so not a ranking)")


def gain_source(grouped: dict, chosen: str, recipe: str, base: str) -> str:
    """Where the chosen variant's gain over `base` (its three-seed ancestor) may come from: the recipe's one
    seed at base's epochs against base's seeds, and that base was never trained as long. '' unless the
    chosen variant is the recipe trained longer."""
    if not (grouped.get(chosen) and grouped.get(recipe) and grouped.get(base)):
        return ""
    c, r, b = grouped[chosen][0].config, grouped[recipe][0].config, grouped[base][0].config
    if r.num_epochs != b.num_epochs or c.num_epochs <= r.num_epochs:
        return ""
    bv, rv = study.values(grouped[base], "fid"), study.values(grouped[recipe], "fid")[0]
    where = "within" if bv.min() <= rv <= bv.max() else ("below" if rv < bv.min() else "above")
    return (f"The chosen variant differs from {base} by the SAGAN recipe and by {c.num_epochs} epochs instead of "
            f"{b.num_epochs}. At {b.num_epochs} epochs the recipe's one seed ({rv:.1f}) lies {where} the range of "
            f"{base}'s {fmt.word(len(bv))} seeds ({bv.min():.1f} to {bv.max():.1f}), and {base} was never trained "
            f"for {c.num_epochs} epochs, so much of the gain may come from the longer training alone: the study "
            "cannot tell.")


def walk_sentence(walk_names: list[str], chosen: str) -> str:
    """What the page's generators are, from the exported bundle's names: the chosen variant when it is the one
    exported, else said plainly that the export predates the choice."""
    rest = [n for n in walk_names if n != study.SPEC]
    if rest == [chosen]:
        return f"the spec GAN and the chosen variant, {chosen}"
    if not rest:
        return "the spec GAN only (no variant exported yet)"
    return (f"the spec GAN and {fmt.and_list(rest)}, exported before the current choice ({chosen}) "
            "and not yet replaced by it")


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
    mem_ratios = [r.metrics["nn_distance_median"] / floor["nn_distance_median"] for r in spec_runs]
    first_seed_test = {n: out.grouped[n][0].metrics["test"]["fid"] for n in planned["variant"]}
    dcgan_runs = out.grouped.get("dcgan", [])
    conv = {k: (compare.seeds(study.values(dcgan_runs, k), study.values(spec_runs, k)).word if dcgan_runs
                else compare.UNRANKED) for k in ("precision", "recall")}
    conv_cfg = {n: study.variant_config(table[n], 0, table) for n in ("dcgan",) if n in table}
    ranked = study.ranked(out.val)["variant"].tolist()
    curves = validation_curves(out.grouped)
    long_epochs = max((out.grouped[n][0].config.num_epochs for n in curves), default=0)
    short_logged = [n for n in curves if out.grouped[n][0].config.num_epochs < long_epochs]
    ema_vs_dcgan = ""
    if out.grouped.get("dcgan-ema") and out.grouped.get("dcgan"):
        ema_vs_dcgan = compare.seeds(study.values(out.grouped["dcgan-ema"], "fid"),
                                     study.values(out.grouped["dcgan"], "fid")).say(
            higher="clearly higher than", lower="clearly lower than", same="not clearly different from")
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
        timing=timing_sentence([r.provenance["wall_time_s"] / 60 for r in spec_runs],
                               [r.provenance for r in spec_runs]),
        saturation_logit=SATURATION_LOGIT, saturation=bce_saturation(SATURATION_LOGIT), last=spec.history[-1],
        equilibrium_loss_d=2 * math.log(2), equilibrium_loss_g=math.log(2),
        midpoint_norm_ratio=midpoint_norm_ratio(INTERP_PAIRS, cfg.latent_dim, INTERP_SEED), interp_seed=INTERP_SEED,
        losses=losses_clause(spec.history),
        most_digit=hi, most_share=hi_share, least_digit=lo, least_share=lo_share,
        collapse_between=collapse_sentence(m["class_entropy"], floor["test"]["class_entropy"], lo_share),
        coverage_word=coverage_word(m["recall"], floor["test"]["recall"]),
        memorization_ratio=mem_ratio, memorization_ratios=mem_ratios, memorization_word=memorization_word(mem_ratios),
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
        budget=study.budget(out.grouped), budget_sentence=budget_sentence(out.grouped, judge_run),
        tradeoff=tradeoff_ranges(out.val, table),
        conv_vs_spec=conv,
        tradeoff_sentence=tradeoff_sentence(conv["precision"], conv["recall"], len(dcgan_runs)),
        planned_first_lowest=min(first_seed_fid, key=first_seed_fid.get),
        planned_first_lowest_test=min(first_seed_test, key=first_seed_test.get),
        follow_up=follow_up_list(out.val),
        dcgan_epochs=conv_cfg["dcgan"].num_epochs if "dcgan" in conv_cfg else 0,
        unranked_below=unranked_below(out.val, out.chosen), unranked_note=unranked_note(out.val, out.chosen),
        round_two=round_two_clause(min(first_seed_test, key=first_seed_test.get), min(first_seed_fid, key=first_seed_fid.get)),
        memorization=memorization_clause(mem_ratios),
        verdict=verdict(out.target["met"]), verdict_detail=verdict_detail(out.target),
        tried=tried_sentence(out.target, len(out.val) - 1, len(dcgan_channels)),
        curves=curves, curves_reason=curves_clause(curves, short_logged),
        continued=continued_clause(out.grouped, long_epochs), long_epochs=long_epochs,
        pilot_pick=pilot_pick(out.val, short_logged) if short_logged else ("", ""),
        ema_vs_dcgan=ema_vs_dcgan,
        gain_source=gain_source(out.grouped, out.chosen, "dcgan-ema-sngan", "dcgan-ema"),
        precision_vs_spec=compare.seeds(study.values(best_runs, "precision", "test"),
                                        study.values(spec_runs, "precision", "test")).say(
            higher="clearly higher than", lower="clearly lower than", same="not clearly different from"),
        ema_ratio=float(study.values(out.grouped["dcgan-ema"], "fid", "test").mean()) / out.target["spec_fid"]
        if out.grouped.get("dcgan-ema") else math.nan,
        chosen_memorization=memorization_clause(
            [r.metrics["nn_distance_median"] / floor["nn_distance_median"] for r in best_runs]),
        seed_ratios=[r.metrics["test"]["fid"] / out.target["spec_fid"] for r in best_runs],
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
        error_bars=("± one standard deviation over seeds (ddof 1); comparisons: Welch t "
                    f"{compare.level_text()} intervals over seeds"),
        seeds=(f"spec: {spec_seeds} seeds; ranked variants: at least {study.MIN_SEEDS}; "
               f"{len(gan_runs)} GAN runs and 1 judge run"),
        parameters={"spec G": count(G), "spec D": count(D), f"{best.config.name} G": count(G_best)})


def tradeoff_ranges(val: pd.DataFrame, table: dict) -> dict:
    """{"mlp": {"precision": (lo, hi), "recall": (lo, hi)}, "dcgan": {...}} over the means of the ranked
    variants (enough seeds) and the spec; a one-seed run is no mean to set a range with."""
    arch = {name: study.variant_config(v, 0, table).arch for name, v in table.items()}
    val = val[(val["seeds"] >= study.MIN_SEEDS) | (val["variant"] == study.SPEC)]
    out = {}
    for a in ("mlp", "dcgan"):
        rows = val[val["variant"].map(arch) == a]
        out[a] = {m: (float(rows[f"{m}_mean"].min()), float(rows[f"{m}_mean"].max())) for m in ("precision", "recall")}
    return out


def tradeoff_sentence(precision: str, recall: str, seeds: int) -> str:
    """The fidelity/coverage trade-off of the convolutional generator against the spec, only as far as the
    seed comparisons (`compare.seeds` words) establish it."""
    if not seeds:
        return "There is no stored run of dcgan to compare with the spec."
    if compare.UNRANKED in (precision, recall) or seeds < study.MIN_SEEDS:
        runs_text = "one seed" if seeds == 1 else f"{fmt.word(seeds)} seeds"
        return (f"With {runs_text} of dcgan so far (a comparison needs {fmt.word(study.MIN_SEEDS)}), that trade-off is "
                "what these runs suggest, not yet a difference established against the seed spread.")
    if (precision, recall) == (compare.LOWER, compare.HIGHER):
        return ("Against the spec, dcgan's precision is clearly lower and its recall clearly higher: the "
                "convolutional generator covers more of the variety of real digits, at the price of more samples "
                "off the real manifold, and FID counts both.")
    words = {compare.HIGHER: "clearly higher than", compare.LOWER: "clearly lower than",
             compare.SAME: "not clearly different from"}
    return (f"Against the spec, dcgan's precision is {words[precision]} and its recall {words[recall]} the "
            "spec's: no clean trade of fidelity for coverage.")


def devices_text(provenances: list[dict]) -> str:
    """'a CPU with 1 or 2 threads', 'a CPU with 2 threads', or the devices' names joined: where runs ran."""
    if all(p.get("device") == "cpu" for p in provenances):
        threads = sorted({p["torch_threads"] for p in provenances if p.get("torch_threads")})
        if not threads:
            return "a CPU"
        return f"a CPU with {' or '.join(map(str, threads))} thread{'s' if threads != [1] else ''}"
    return " or ".join(sorted({card_device(p) for p in provenances}))


def card_device(provenance: dict) -> str:
    """'a CPU (2 threads)' or the GPU's name."""
    if provenance.get("device") == "cpu":
        t = provenance.get("torch_threads")
        return f"a CPU ({t} thread{'s' if t != 1 else ''})" if t else "a CPU"
    return provenance.get("device_name") or str(provenance.get("device")).upper()
