"""What the GAN chapter (gan.qmd) states, computed in one place: `chapter()` returns a `GANFacts`.

The numbers come from the stored runs (the judge, the spec GAN, the study variants); the words chosen
from them ("met" / "missed", "farther" / "closer", the sentence on collapse between classes) are made
by the small functions below, each tested with synthetic inputs in tests/gan/test_facts.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from torch import nn

from .. import data, fmt, runs
from .models import GANConfig
from .sampling import load_generator, midpoint_norm_ratio
from .study import report_configs, study_table, study_target
from .train import bce_saturation

SATURATION_LOGIT = 20.0  # D's logit on a fake it is sure is real, for the BCEWithLogitsLoss example
UPDATE_RUNS = ("lr5e-4", "lr1e-4", "batch32", "batch128")  # the runs that change the number of updates


@dataclass(frozen=True)
class GANFacts:
    """Everything gan.qmd's prose and figures use: runs, numbers, and the words chosen from them."""

    # the runs and what the figures and tables take
    judge: runs.Run
    spec: runs.Run
    best: runs.Run  # the study variant with the lowest classifier FID
    study: list[runs.Run]  # the spec first, then the variants
    table: pd.DataFrame  # study.study_table(study)
    target: dict  # study.study_target(table)
    generator: nn.Module  # the spec run's generator, eval mode
    config: GANConfig  # the spec's
    metrics: dict  # the spec's judge metrics
    floor: dict  # the same metrics for real training digits
    # the model and training
    num_train: int
    wall_minutes: float
    device: str
    saturation_logit: float
    saturation: dict  # bce_saturation(): {"sigmoid_bce" | "with_logits": {"loss", "grad"}}
    last: dict  # the spec's last history row (losses, D outputs, D accuracies)
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
    shorter_runs: str  # the runs trained for fewer epochs than the spec, as prose
    better_runs: str
    worse_runs: str
    update_story: str  # a sentence, or ""
    verdict: str  # "met" | "missed"
    verdict_detail: str  # "(FID met, entropy missed)" when missed, else ""
    tried: str  # what was tried, when the target was missed; else ""


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


def better_and_worse(fid_of: dict[str, float], spec: str = "spec") -> tuple[list[str], list[str]]:
    """The variants with a lower classifier FID than the spec, and the others."""
    better = [r for r in fid_of if r != spec and fid_of[r] < fid_of[spec]]
    worse = [r for r in fid_of if r != spec and fid_of[r] >= fid_of[spec]]
    return better, worse


def more_updates_help(fid_of: dict[str, float], spec: str = "spec") -> bool:
    """A larger learning rate and a smaller batch beat the spec, a smaller rate and a larger batch lose."""
    if not all(k in fid_of for k in UPDATE_RUNS):
        return False
    return (fid_of["lr5e-4"] < fid_of[spec] < fid_of["lr1e-4"]
            and fid_of["batch32"] < fid_of[spec] < fid_of["batch128"])


def update_story(helps: bool, spec_epochs: int) -> str:
    if not helps:
        return ""
    return ("The learning-rate and batch-size runs point the same way: a larger learning rate or a smaller "
            "batch (more updates per epoch) helps, a smaller rate or a larger batch hurts, as expected of a "
            f"spec GAN that has not converged after its {spec_epochs} epochs.")


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def verdict_detail(target: dict) -> str:
    """Which half of a missed target was missed: '(FID met, entropy missed)'; '' when it was met."""
    if target["met"]:
        return ""
    return f"(FID {verdict(target['fid_met'])}, entropy {verdict(target['entropy_met'])})"


def tried_sentence(target: dict, num_variants: int, num_convolutional: int) -> str:
    """When the target was missed: what was tried and how close the best variant came; '' when met."""
    if target["met"]:
        return ""
    tried = (f"What was tried is the table itself: {num_variants} single changes to the spec, "
             f"{num_convolutional} of them convolutional architectures; ")
    if not target["fid_met"]:
        return tried + (f"the best reaches {target['ratio']:.2f} of the spec's classifier FID, "
                        f"not {target['fid_ratio']:.2f}.")
    return tried + (f"the best has class entropy {target['best_entropy']:.3f}, "
                    f"below {target['min_entropy']:.2f}.")


# --- the chapter -------------------------------------------------------------------------------------


def chapter() -> GANFacts:
    """Load (or, outside HW3_NO_TRAIN, train) the chapter's runs and state what gan.qmd says about them."""
    configs = report_configs()  # the judge, the spec GAN, then the study variants
    judge_run = runs.load_or_train(configs[0])
    study = [runs.load_or_train(c) for c in configs[1:]]
    return from_runs(judge_run, study, [c for c in configs[1:] if isinstance(c, GANConfig)])


def from_runs(judge_run: runs.Run, study: list[runs.Run], configs: list[GANConfig]) -> GANFacts:
    """`GANFacts` of given runs: the judge, the study runs (the spec first) and the study's configs."""
    spec = study[0]
    cfg, m, floor = spec.config, spec.metrics, judge_run.metrics["floor"]
    table = study_table(study)
    target = study_target(table)
    hi, hi_share, lo, lo_share = class_shares(m["class_counts"])
    fid_of = dict(zip(table["run"], table["classifier FID"], strict=True))
    better, worse = better_and_worse(fid_of)
    dcgan_channels = {c.name: c.hidden_size for c in configs if c.arch == "dcgan"}
    mem_ratio = m["nn_distance_median"] / floor["nn_distance_median"]
    shorter = table.loc[table["epochs"] < cfg.num_epochs, "run"].tolist()
    return GANFacts(
        judge=judge_run, spec=spec, best=next(r for r in study if r.name == target["best"]), study=study,
        table=table, target=target, generator=load_generator(spec), config=cfg, metrics=m, floor=floor,
        num_train=len(data.mnist_float(True)[0]),
        wall_minutes=spec.provenance["wall_time_s"] / 60, device=spec.provenance["device"],
        saturation_logit=SATURATION_LOGIT, saturation=bce_saturation(SATURATION_LOGIT), last=spec.history[-1],
        equilibrium_loss_d=2 * math.log(2), equilibrium_loss_g=math.log(2),
        midpoint_norm_ratio=midpoint_norm_ratio(latent_dim=cfg.latent_dim),
        most_digit=hi, most_share=hi_share, least_digit=lo, least_share=lo_share,
        collapse_between=collapse_sentence(m["class_entropy"], floor["class_entropy"], lo_share),
        coverage_word=coverage_word(m["recall"], floor["recall"]),
        memorization_ratio=mem_ratio, memorization_word=memorization_word(mem_ratio),
        smoothing=next(c.real_label for c in configs if c.real_label != 1.0),
        dcgan_channels=dcgan_channels,
        shorter_runs=fmt.italic_list(shorter, empty="No run"),
        better_runs=fmt.italic_list(better), worse_runs=fmt.italic_list(worse),
        update_story=update_story(more_updates_help(fid_of), cfg.num_epochs),
        verdict=verdict(target["met"]), verdict_detail=verdict_detail(target),
        tried=tried_sentence(target, len(table) - 1, len(dcgan_channels)),
    )
