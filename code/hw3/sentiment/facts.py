"""What the attention chapter (attention.qmd) states, computed in one place: `chapter()` returns a
`SentimentFacts`.

The numbers come from the stored runs (the max_len sweep, every model at its chosen length for each seed,
TF-IDF, and the artefacts each run stores: `artefacts`); every comparative word comes from `hw3.compare`
(per-seed values: `compare.seeds`; the same test reviews scored twice: `compare.paired`), through the
small functions below, each tested with synthetic inputs in tests/sentiment/test_sentiment_facts.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import card, compare, fmt, runs
from . import analysis, artefacts, metrics
from .model import MAX_LEN_CANDIDATES, MODELS, SentimentConfig
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
    chosen_words: str  # "800 tokens for all three models" | "400 tokens for the attention model, ..."
    chosen_edge: str  # whether the chosen lengths are the longest candidate (so longer ones were not tried)
    sweep_margin: dict[str, compare.Comparison]  # per model: chosen length minus the runner-up, validation
    sweep_words: str  # every model's margin over its runner-up, and what they say together
    summary: pd.DataFrame  # analysis.summary: mean and std over seeds, per model
    targets: pd.DataFrame  # analysis.targets: key -> target, measured, met
    card: pd.DataFrame  # hw3.card.table of every run on the page
    level: str  # "95%": the level of every interval in the prose (hw3.compare's)
    # protocol
    num_reviews: int  # training split before the validation hold-out
    positive_share: float  # share of positive test reviews
    num_train: int
    num_val: int
    num_test: int
    num_seeds: int
    seeds_words: str  # "three seeds" | "one seed"
    parameters: dict[str, int]  # per model, seed 0
    # results: does attention classify better than the final state?
    accuracy: dict[str, str]  # per model (and "tfidf"): '89.12 ± 0.21%' (mean ± std over seeds)
    vs_seeds: dict[str, compare.Comparison]  # attention minus "baseline" / "meanpool" (Welch over seeds)
    vs_paired: dict[str, compare.Comparison]  # attention minus each, paired over the test reviews
    #   (per-review correctness averaged over the seeds; TF-IDF has one run)
    per_seed: list[compare.Comparison]  # attention minus baseline of the same seed, paired over reviews
    answer: str  # "No" | "Yes" | "Not clearly"
    answer_clause: str  # "the final state classifies better than attention" | ...
    per_seed_words: str  # "−0.44 [−0.77, −0.10] (McNemar p = 0.012), ..."
    pooling_vs_last: compare.Comparison  # mean pooling minus baseline, paired over reviews
    pooling_reading: str  # what the pooling comparisons say together
    why_lead: str  # the question the next paragraph checks, worded from `answer`
    why_caveat: str  # what those measurements do not show, worded from `answer`
    # why: where the verdict is, and where attention looks
    ending: compare.Comparison  # TF-IDF on the last minus the first n tokens, paired over reviews
    ending_first: float  # accuracy on the first n tokens alone
    ending_last: float
    ending_tokens: int
    ending_reviews: int
    attention_position: float  # attention-weighted mean relative position (0 start, 1 end), mean
    attention_last_tenth: float  # attention weight on the last 10% of tokens, mean
    uniform_last_tenth: float  # the same under uniform weights (mean pooling's), mean
    last_tenth_vs_uniform: compare.Comparison  # attention minus uniform, paired over the reviews
    met: dict[str, str]  # per target key: "met" | "not met"
    lean: dict[str, compare.Comparison]  # per model (and "tfidf"): share predicted positive minus share positive
    lean_words: str  # every model's lean, read (what the confusion matrices show)
    # long and short reviews
    quartiles: list[compare.Comparison]  # attention minus baseline per length quartile, paired over reviews
    quartile_ranges: list[tuple[int, int]]  # (min, max) tokens of each quartile
    quartile_words: str  # every quartile's difference, interval and word
    quartile_trend: compare.Comparison  # the longest quartile's difference minus the shortest's
    quartile_summary: str  # the reading of all four
    quartile_verdict: str  # what that says about the hypothesis
    over_max_len: float  # share of the test reviews longer than the attention model's max_len
    # confidence and calibration
    ece: dict[str, list[float]]  # per model (and "tfidf"): one ECE per seed
    ece_words: dict[str, str]  # per model: "1.13 / 6.07 / 1.18%"
    ece_vs: compare.Comparison  # attention minus baseline ECE, over seeds
    ece_epoch_rho: float  # Spearman correlation of ECE with the kept epoch over the GRU runs
    ece_epoch_p: float
    ece_runs: int
    ece_epoch_reading: str  # what the correlation says (its word from the p-value at `level`)
    overconfident: dict[str, str]  # per model (and "tfidf"): how many seeds have mean confidence clearly above accuracy
    confident: float  # the threshold of the two shares below (CONFIDENT)
    wrong_confident: dict[str, float]  # per model: share of wrong predictions made with confidence >= CONFIDENT
    right_confident: dict[str, float]  # per model: share of correct predictions with confidence >= CONFIDENT
    confident_vs: dict[str, compare.Comparison]  # per model: right minus wrong share, paired over the seeds
    confident_reading: str  # the words for attention's confident_vs
    calibration: pd.DataFrame  # per run: kept epoch, accuracy, mean confidence, ECE
    # the reviews shown
    examples: list  # analysis.Example: the attention run's stored example reviews (seed 0)
    examples_words: str  # "four test reviews (two negative, two positive; two of them misclassified)"
    # faithfulness: attention's top-k against gradient × input and random deletion
    faithfulness: pd.DataFrame  # analysis.faithfulness_reference_table
    faith_k: int
    faith_reviews: int
    faith_ks: str  # "1, 3, 5, 10, 20"
    faith_attention: float  # drop (pp) after deleting the faith_k most-attended tokens (mean)
    faith_gradient: float  # ... with the largest gradient × input
    faith_random: float
    faith_vs_random: compare.Comparison  # attention minus random drop at faith_k, paired over reviews
    faith_vs_gradient: compare.Comparison  # attention minus gradient × input drop at faith_k
    faith_overlap: float  # share of the faith_k most-attended tokens among the faith_k by gradient × input
    faith_verdict: str  # over every k
    faith_reading: str  # what the two references together say
    # the CPU recipe
    cpu: list[runs.Run]  # each model retrained on a CPU with the short recipe (study.cpu_configs)
    cpu_gpu: pd.DataFrame  # analysis.cpu_gpu: the CPU run beside the GPU runs, per model
    cpu_minutes: float  # the three CPU runs' wall time together
    cpu_budget: str  # "within the 90-minute budget" | "over the 90-minute budget"
    cpu_epochs: int
    cpu_noise: dict[str, str]  # per model: "within" | "outside" (two standard deviations of the GPU seeds)
    cpu_gap: dict[str, float]  # per model: CPU test accuracy minus the GPU seeds' mean
    cpu_summary: str  # one clause per model: its gap and whether it is within seed noise
    cpu_vs: compare.Comparison  # CPU recipe: attention minus baseline, paired over the test reviews
    cpu_answer: str  # whether the CPU recipe gives the chapter's answer
    # reproducing
    wall_range: tuple[float, float]  # fastest and slowest GPU-trained GRU run, seconds
    devices: str  # e.g. "an NVIDIA H100 80GB HBM3"


# --- words from numbers ------------------------------------------------------------------------------


def target_word(met: bool) -> str:
    return "met" if met else "not met"


def chosen_words(chosen: dict[str, int]) -> str:
    """'800 tokens for all three models', or each model's length when they differ."""
    names = {"attention": "the attention model", "baseline": "the baseline", "meanpool": "mean pooling"}
    if len(set(chosen.values())) == 1:
        return f"{next(iter(chosen.values()))} tokens for all {fmt.word(len(chosen))} models"
    parts = [f"{chosen[m]} tokens for {names.get(m, m)}" if i == 0 else f"{chosen[m]} for {names.get(m, m)}"
             for i, m in enumerate(chosen)]
    return fmt.and_list(parts)


CONFIDENT = 0.9  # the confidence the chapter calls "confident" (its share of right and wrong predictions)
NAMES = {"attention": "the attention model", "baseline": "the baseline", "meanpool": "mean pooling"}


def chosen_edge(chosen: dict[str, int], candidates: tuple[int, ...]) -> str:
    """Whether the choice sits at the longest length tried, where the sweep cannot show a peak."""
    at_edge = [m for m, L in chosen.items() if L == max(candidates)]
    if not at_edge:
        return "inside the range tried"
    who = "every model's" if len(at_edge) == len(chosen) else fmt.and_list([NAMES.get(m, m) for m in at_edge]) + "'s"
    return f"the longest length tried is {who} choice, so a longer one was not ruled out"


def validation_margin(chosen_accuracy: float, other_accuracy: float, num_val: int) -> compare.Comparison:
    """Chosen minus runner-up validation accuracy. The runs store no per-review validation outcomes, so the
    two runs' correct/incorrect counts are compared as independent samples of reviews (Welch over the
    reviews): wider than the paired interval the same reviews would allow, so a 'clear' word is safe."""
    a = np.zeros(num_val)
    a[: round(chosen_accuracy * num_val)] = 1
    b = np.zeros(num_val)
    b[: round(other_accuracy * num_val)] = 1
    return compare.seeds(a, b)


def sweep_words(margins: dict[str, compare.Comparison]) -> str:
    """'the baseline +0.40 [−1.26, +2.06], ...: no model's choice is clearly above its runner-up'."""
    parts = fmt.and_list([f"{NAMES.get(m, m)} {fmt.points(c.a_minus_b)} {c.interval(100)}" for m, c in margins.items()])
    clear = [m for m, c in margins.items() if c.word == compare.HIGHER]
    if not clear:
        verdict = "no model's choice is clearly above its runner-up, so the rule picks among lengths the data do not rank"
    elif len(clear) == len(margins):
        verdict = "every model's choice is clearly above its runner-up"
    else:
        verdict = (f"only {fmt.and_list([NAMES.get(m, m) for m in clear])}'s choice is clearly above its runner-up; "
                   "for the others the rule picks among lengths the data do not rank")
    return f"{parts}: {verdict}"


def answer_followups(answer: str) -> tuple[str, str]:
    """The question the 'why' paragraph asks and its closing caveat, both worded from the chapter's answer
    (a fixed 'why does the final state do better?' would survive a re-run that reversed it)."""
    if answer == "No":
        return ("Why would the final state do better? One reason the data can check cheaply:",
                "they do not prove that the ending is why the final state leads")
    return ("Where in a review is the verdict, and does attention look there? The data can check cheaply:",
            "they do not by themselves explain the comparison above")


def correlation_reading(rho: float, p: float, level: float = 0.95) -> str:
    """ECE against the kept epoch over the GRU runs, read at the chapter's level."""
    if p < 1 - level and rho > 0:
        return ("ECE rises with the kept epoch, consistent with later epochs fitting the training reviews more "
                "tightly and pushing probabilities towards 0 and 1; early stopping on accuracy does not watch "
                "calibration")
    if p < 1 - level:
        return "ECE falls as the kept epoch grows"
    return "ECE is not clearly related to the kept epoch"


def confident_reading(right_minus_wrong: compare.Comparison, wrong_share: float) -> str:
    """From the right minus the wrong predictions' share with confidence >= CONFIDENT, paired over seeds."""
    first = {compare.HIGHER: "correct predictions are more often that confident than wrong ones",
             compare.LOWER: "wrong predictions are more often that confident than correct ones"}.get(
        right_minus_wrong.word, "correct and wrong predictions are not clearly different in how often they are "
                                "that confident")
    return f"{first}, {'but' if right_minus_wrong.word == compare.HIGHER else 'and'} " + (
        "such a confidence does not rule out a mistake" if wrong_share > 0 else "no mistake is made with it")


def lean_words(leans: dict[str, compare.Comparison]) -> str:
    """'the baseline +0.18 [−0.20, +0.56], no clear lean; ...': which way each model's errors fall, from the
    share of reviews it calls positive minus the share that are (paired over the test reviews)."""
    names = NAMES | {"tfidf": "TF-IDF"}
    return "; ".join(f"{names.get(m, m)} {fmt.points(c.a_minus_b)} {c.interval(100)}, "
                     + c.say(higher="leaning positive", lower="leaning negative", same="no clear lean")
                     for m, c in leans.items())


def predicted_positive(run_list: list[runs.Run]) -> tuple[np.ndarray, np.ndarray]:
    """Per test review: the share of the runs (seeds) that call it positive, and its label."""
    t = [r.load_tensors("test_predictions") for r in run_list]
    return np.mean([(x["prob_pos"].numpy() >= 0.5).astype(float) for x in t], axis=0), t[0]["label"].numpy().astype(float)


def examples_words(examples: list) -> str:
    """'four test reviews (two negative, two positive; two of them misclassified)'."""
    neg = sum(e.label == 0 for e in examples)
    wrong = sum((e.prob_pos >= 0.5) != bool(e.label) for e in examples)
    n = len(examples)
    wrong_words = {0: "all classified correctly", n: "all misclassified"}.get(
        wrong, f"{fmt.word(wrong)} of them misclassified")
    return (f"{fmt.word(n)} test review{'s' if n != 1 else ''} ({fmt.word(neg)} negative, {fmt.word(n - neg)} "
            f"positive; {wrong_words})")


def cpu_answer(gpu: compare.Comparison, cpu: compare.Comparison) -> str:
    """Whether the CPU recipe's attention-minus-baseline word is the GPU runs' (over seeds)."""
    if cpu.word == gpu.word:
        return "as over the GPU seeds, so the short recipe reproduces the chapter's answer"
    return f"where the GPU seeds give {gpu.word}, so the short recipe does not reproduce the chapter's answer"


def seeds_words(n: int) -> str:
    return f"{fmt.word(n)} seed{'s' if n != 1 else ''}"


def pp(c: compare.Comparison, digits: int = 2) -> str:
    """'−0.59 [−0.81, −0.38] points': a difference of shares with its interval, in percentage points."""
    return f"{fmt.points(c.a_minus_b, digits)} {c.interval(100, digits)} points"


def p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def answer_words(over_seeds: compare.Comparison, paired: list[compare.Comparison]) -> tuple[str, str]:
    """The chapter's question answered from the comparison over seeds and the per-seed paired ones:
    ('No', 'the final state classifies better than attention') when both designs say attention is lower."""
    words = {over_seeds.word, *(c.word for c in paired)}
    if words == {compare.LOWER}:
        return "No", "the final state classifies better than attention"
    if words == {compare.HIGHER}:
        return "Yes", "attention classifies better than the final state"
    return "Not clearly", "neither classifies clearly better in every comparison"


def per_seed_words(paired: list[compare.Comparison]) -> str:
    """'−0.44 [−0.77, −0.10] (p = 0.012), ...' for seeds 0, 1, 2."""
    return fmt.and_list([f"{fmt.points(c.a_minus_b)} {c.interval(100)} ({p_value(c.p_value)})" for c in paired])


def quartile_words(quartiles: list[compare.Comparison], ranges: list[tuple[int, int]]) -> str:
    """Every quartile read, not only the ends: 'Q1 (7–127 tokens) −0.47 [−0.93, −0.02], lower; ...'."""
    parts = [f"Q{i + 1} ({lo}–{hi} tokens) {fmt.points(c.a_minus_b)} {c.interval(100)}, {c.word}"
             for i, (c, (lo, hi)) in enumerate(zip(quartiles, ranges, strict=True))]
    return "; ".join(parts)


def quartile_summary(quartiles: list[compare.Comparison], trend: compare.Comparison) -> str:
    """What the four quartiles together say about attention and review length."""
    lower = sum(c.word == compare.LOWER for c in quartiles)
    higher = sum(c.word == compare.HIGHER for c in quartiles)
    n = len(quartiles)
    if higher == 0 and lower == n:
        lead = "the baseline is ahead in every quartile"
    elif higher == 0 and lower:
        lead = (f"the baseline is ahead in {fmt.word(lower)} of the {fmt.word(n)} quartiles and no quartile "
                "favours attention")
    elif lower == 0 and higher:
        lead = f"attention is ahead in {fmt.word(higher)} of the {fmt.word(n)} quartiles and no quartile favours the baseline"
    else:
        lead = "neither model is ahead in every quartile"
    if trend.word == compare.HIGHER:
        trend_words = "attention gains on the baseline from the shortest to the longest quartile"
    elif trend.word == compare.LOWER:
        trend_words = "attention loses ground from the shortest to the longest quartile"
    else:
        trend_words = "the difference does not change clearly from the shortest to the longest quartile"
    return f"{lead}, and {trend_words}"


def overconfidence_words(per_seed: list[compare.Comparison]) -> str:
    """From compare.paired(confidence, correctness) per seed: how many seeds are clearly overconfident."""
    n, over = len(per_seed), sum(c.word == compare.HIGHER for c in per_seed)
    under = sum(c.word == compare.LOWER for c in per_seed)
    if over == n:
        return f"overconfident in all {fmt.word(n)} seeds" if n > 1 else "overconfident"
    if under == n:
        return f"underconfident in all {fmt.word(n)} seeds" if n > 1 else "underconfident"
    return (f"overconfident in {fmt.word(over)}, underconfident in {fmt.word(under)} and neither in "
            f"{fmt.word(n - over - under)} of {fmt.word(n)} seeds")


def pooling_words(pool_vs_last: compare.Comparison, attention_vs_pool: compare.Comparison) -> str:
    """The reading of mean pooling minus the baseline and attention minus mean pooling (both paired)."""
    first = {compare.LOWER: "pooling over every position costs accuracy against the final state",
             compare.HIGHER: "pooling over every position gains accuracy over the final state"}.get(
        pool_vs_last.word, "pooling over every position is not clearly different from the final state")
    second = {compare.HIGHER: "attention's learned weighting does better than uniform weights",
              compare.LOWER: "attention's learned weighting does worse than uniform weights"}.get(
        attention_vs_pool.word, "attention's learned weighting is not clearly different from uniform weights")
    return f"{first}, and {second}"


def quartile_verdict(quartiles: list[compare.Comparison], trend: compare.Comparison) -> str:
    if trend.word == compare.HIGHER and quartiles[-1].word == compare.HIGHER:
        return "The data support attention helping on long reviews."
    if trend.word == compare.HIGHER:
        return "Attention gains ground with length, but does not lead in the longest quartile."
    return "The data do not show attention helping on long reviews."


def faithfulness_reading(vs_random: compare.Comparison, vs_gradient: compare.Comparison) -> str:
    """What the random and the gradient × input references say together, at one k."""
    if vs_random.word == compare.HIGHER and vs_gradient.word == compare.LOWER:
        return ("The weights point at tokens the decision uses, more than chance does, but they rank tokens "
                "below a gradient-based importance measure: read the shading as where the model looked, not as "
                "an explanation of the decision.")
    if vs_random.word == compare.HIGHER and vs_gradient.word != compare.LOWER:
        return ("The weights point at tokens the decision uses, more than chance does, and rank them as well as "
                "gradient × input does.")
    return "The weights do not point at the tokens the decision uses more clearly than chance does."


def faithfulness_verdict(vs_random: list[compare.Comparison], vs_gradient: list[compare.Comparison]) -> str:
    """One sentence over every k, from the paired comparisons at each k."""
    if all(c.word == compare.HIGHER for c in vs_random):
        first = "At every k, deleting the most-attended tokens lowers confidence more than deleting random ones"
    elif any(c.word == compare.HIGHER for c in vs_random):
        first = "Deleting the most-attended tokens lowers confidence more than deleting random ones at some k only"
    else:
        first = "Deleting the most-attended tokens does not lower confidence clearly more than deleting random ones"
    if all(c.word == compare.LOWER for c in vs_gradient):
        second = "and at every k less than deleting the tokens with the largest gradient × input"
    elif all(c.word == compare.HIGHER for c in vs_gradient):
        second = "and at every k more than deleting the tokens with the largest gradient × input"
    else:
        second = "and against gradient × input the ranking differs between k"
    return f"{first}, {second}"


def budget_words(minutes: float, budget: float) -> str:
    return f"{'within' if minutes <= budget else 'over'} the {budget:.0f}-minute budget"


def seed_noise_word(gap_in_std: float) -> str:
    """Whether a test accuracy lies within two standard deviations of the seeds' mean."""
    return "within" if abs(gap_in_std) <= 2 else "outside"


def cpu_summary_words(comparison: pd.DataFrame) -> str:
    """'GRU + additive attention −0.49 points (4.9 times the standard deviation of its three GPU seeds), ...'
    from `analysis.cpu_gpu`: the size of each gap, in points and against the seeds' spread. One CPU run
    per model cannot be ranked against the seeds (`compare.seeds` needs two values a side), so no word."""
    parts = []
    for model, r in comparison.iterrows():
        gap = fmt.points(r["cpu_test"] - r["gpu_test_mean"])
        parts.append(f"{analysis.MODEL_LABELS[model]} {gap} points ({abs(r['gap_in_std']):.1f} times the standard "
                     f"deviation of its {fmt.word(int(r['gpu_seeds']))} GPU seeds)")
    return fmt.and_list(parts)


def devices_words(provenances: list[dict]) -> str:
    """'an NVIDIA H100 80GB HBM3' / 'a CPU (1 thread)': the hardware named as a reader writes it."""
    names = []
    for p in provenances:
        if p.get("device") == "cpu":
            t = p.get("torch_threads") or 1
            names.append(f"a CPU ({t} thread{'s' if t != 1 else ''})")
        else:
            names.append(f"an {p['device_name']}" if p.get("device_name") else f"a {str(p['device']).upper()}")
    return fmt.and_list(sorted(set(names)))


# --- numbers from the stored predictions -------------------------------------------------------------


def correctness(run: runs.Run) -> np.ndarray:
    """Per test review (in stored order), 1 if the run classified it correctly."""
    t = run.load_tensors("test_predictions")
    return ((t["prob_pos"].numpy() >= 0.5) == t["label"].numpy().astype(bool)).astype(float)


def mean_correctness(run_list: list[runs.Run]) -> np.ndarray:
    """Per test review, the share of the runs (seeds) that classified it correctly."""
    index = run_list[0].load_tensors("test_predictions")["index"].numpy()
    for r in run_list[1:]:
        if not np.array_equal(r.load_tensors("test_predictions")["index"].numpy(), index):
            raise ValueError(f"{r.name} scored other test reviews than {run_list[0].name}")
    return np.mean([correctness(r) for r in run_list], axis=0)


def quartile_comparisons(a: np.ndarray, b: np.ndarray, lengths: np.ndarray
                         ) -> tuple[list[compare.Comparison], list[tuple[int, int]], compare.Comparison]:
    """a minus b in each quartile of review length (`metrics.length_quartile_of`), paired over the reviews
    of the quartile, and the longest quartile's per-review difference against the shortest's (different
    reviews: Welch)."""
    q = metrics.length_quartile_of(lengths)
    comps = [compare.paired(a[q == i], b[q == i]) for i in range(4)]
    ranges = [(int(lengths[q == i].min()), int(lengths[q == i].max())) for i in range(4)]
    d = a - b
    return comps, ranges, compare.seeds(d[q == 3], d[q == 0])


def overconfidence(run: runs.Run) -> compare.Comparison:
    """Mean confidence of the predicted class minus accuracy, paired over the test reviews."""
    t = run.load_tensors("test_predictions")
    p, y = t["prob_pos"].numpy().astype(float), t["label"].numpy().astype(bool)
    return compare.paired(np.maximum(p, 1 - p), ((p >= 0.5) == y).astype(float))


def confident_share(run: runs.Run, threshold: float = 0.9) -> tuple[float, float]:
    """Shares of the wrong and of the correct predictions made with confidence >= threshold."""
    t = run.load_tensors("test_predictions")
    p, y = t["prob_pos"].numpy().astype(float), t["label"].numpy().astype(bool)
    conf, ok = np.maximum(p, 1 - p), (p >= 0.5) == y
    return float((conf[~ok] >= threshold).mean()), float((conf[ok] >= threshold).mean())


def faithfulness_pooled(attention_runs: list[runs.Run]) -> dict[str, np.ndarray] | None:
    """The attention runs' per-review faithfulness measurements averaged over the seeds (the reviews are
    the same for every seed): arrays (K, N), and `ks`."""
    per = [artefacts.faithfulness_reviews(r) for r in attention_runs]
    per = [p for p in per if p is not None]
    if not per:
        return None
    for p in per[1:]:
        if not np.array_equal(p["index"], per[0]["index"]):
            raise ValueError("the attention runs measured faithfulness on different reviews")
    fixed = ("ks", "index")  # the same in every run
    return {k: per[0][k] if k in fixed else np.mean([p[k] for p in per], axis=0) for k in per[0]}


def lengths_by_index(run: runs.Run, index: np.ndarray) -> np.ndarray:
    """Token counts (before any cut) of the test reviews at positions `index` of the test split."""
    t = run.load_tensors("test_predictions")
    where = {int(i): j for j, i in enumerate(t["index"].numpy())}
    return t["length"].numpy()[[where[int(i)] for i in index]]


def uniform_last_tenth(n: int) -> float:
    """The weight uniform attention over n tokens puts on the last tenth (positions (t - 0.5) / n > 0.9)."""
    return float(((np.arange(n) + 0.5) / n > 0.9).mean())


def faithfulness_table(pooled: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per k: the mean confidence drop (pp) after deleting the k most-attended, the k most important by
    gradient × input and k random tokens, with the paired 95% intervals of attention minus each."""
    rows = []
    for j, k in enumerate(pooled["ks"]):
        att, grad, rand = (100 * pooled[n][j].astype(float) for n in ("attention_drop", "gradient_drop", "random_drop"))
        vr, vg = compare.paired(att, rand), compare.paired(att, grad)
        rows.append({"k": int(k), "attention top-k (pp)": att.mean(), "gradient × input top-k (pp)": grad.mean(),
                     "random k (pp)": rand.mean(), "attention − random (pp)": f"{vr.a_minus_b:+.2f} {vr.interval()}",
                     "attention − gradient (pp)": f"{vg.a_minus_b:+.2f} {vg.interval()}",
                     "overlap (%)": 100 * float(pooled["overlap"][j].mean())})
    return pd.DataFrame(rows).set_index("k")


# --- the chapter -------------------------------------------------------------------------------------


def chapter() -> SentimentFacts:
    """Load (or, outside HW3_NO_TRAIN, train) the chapter's runs and state what attention.qmd says."""
    report = report_runs()
    return from_runs(report.sweep, report.final, report.tfidf, report.cpu)


def from_runs(sweep: list[runs.Run], final: list[runs.Run], tfidf: runs.Run, cpu: list[runs.Run]) -> SentimentFacts:
    by_model = {m: [r for r in final if r.config_dict["model"] == m] for m in MODELS}
    seed0 = {m: rs[0] for m, rs in by_model.items()}
    summary = analysis.summary(final, tfidf)
    m_att = seed0["attention"].metrics
    chosen = analysis.chosen_lengths(sweep)
    margins = {}
    for m, L in chosen.items():
        val = {r.config_dict["max_len"]: r.metrics["val_accuracy"] for r in sweep if r.config_dict["model"] == m}
        others = [v for k, v in val.items() if k != L]
        if others:
            margins[m] = validation_margin(val[L], max(others), m_att["num_val"])

    # does attention classify better than the final state?
    acc = {m: [r.metrics["accuracy"] for r in rs] for m, rs in by_model.items()}
    vs_seeds = {m: compare.seeds(acc["attention"], acc[m]) for m in ("baseline", "meanpool")}
    correct = {m: mean_correctness(rs) for m, rs in by_model.items()} | {"tfidf": correctness(tfidf)}
    vs_paired = {m: compare.paired(correct["attention"], correct[m]) for m in ("baseline", "meanpool", "tfidf")}
    per_seed = [compare.paired(correctness(a), correctness(b))
                for a, b in zip(by_model["attention"], by_model["baseline"], strict=True)]
    answer, clause = answer_words(vs_seeds["baseline"], per_seed)
    why_lead, why_caveat = answer_followups(answer)
    targets = analysis.targets(final, tfidf, beats_tfidf=vs_paired["tfidf"].word == compare.HIGHER)

    lean = {}
    for m, rs in [*by_model.items(), ("tfidf", [tfidf])]:
        called, label = predicted_positive(rs)
        lean[m] = compare.paired(called, label)

    # where the verdict is, and where attention looks
    ends = artefacts.ending_accuracy(tfidf)
    first, last = np.array(ends["first_correct"], float), np.array(ends["last_correct"], float)
    faith = faithfulness_pooled(by_model["attention"])

    # review length
    lengths = seed0["attention"].load_tensors("test_predictions")["length"].numpy()
    quartiles, ranges, trend = quartile_comparisons(correct["attention"], correct["baseline"], lengths)

    # calibration
    ece = {m: [r.metrics["ece"] for r in rs] for m, rs in by_model.items()} | {"tfidf": [tfidf.metrics["ece"]]}
    gru = [r for rs in by_model.values() for r in rs]
    # imported here, not at import time: a render's setup stays light (tests/test_render_imports.py)
    from scipy import stats

    rho, rho_p = stats.spearmanr([r.metrics["best_epoch"] for r in gru], [r.metrics["ece"] for r in gru])
    shares = {m: [confident_share(r, CONFIDENT) for r in rs] for m, rs in by_model.items()}
    confident_vs = {m: compare.paired([s[1] for s in v], [s[0] for s in v]) for m, v in shares.items()}
    calibration = pd.DataFrame([{"model": analysis.MODEL_LABELS[analysis.model_of(r)],
                                 "seed": str(r.config_dict["seed"]) if r is not tfidf else "–",
                                 "kept epoch": str(r.metrics["best_epoch"]) if r is not tfidf else "–",
                                 "accuracy (%)": 100 * r.metrics["accuracy"],
                                 "mean confidence (%)": 100 * overconfidence(r).a_minus_b + 100 * r.metrics["accuracy"],
                                 "ECE (%)": 100 * r.metrics["ece"]} for r in [*gru, tfidf]])
    examples = artefacts.examples(seed0["attention"])
    cpu_by = {analysis.model_of(r): r for r in cpu}
    cpu_vs = compare.paired(correctness(cpu_by["attention"]), correctness(cpu_by["baseline"]))

    # faithfulness
    ks = [int(k) for k in faith["ks"]]
    k = 5 if 5 in ks else ks[0]
    j = ks.index(k)
    read = np.minimum(lengths_by_index(seed0["attention"], faith["index"]), seed0["attention"].config_dict["max_len"])
    uniform = np.array([uniform_last_tenth(n) for n in read])  # mean pooling's weight on the last tenth
    cmp = {n: [compare.paired(faith["attention_drop"][i].astype(float), faith[n][i].astype(float))
               for i in range(len(ks))] for n in ("random_drop", "gradient_drop")}

    gpu = [r for r in [*sweep, *final] if r.provenance.get("device") != "cpu"]
    cpu_gpu = analysis.cpu_gpu(cpu, final)
    walls = [r.provenance["wall_time_s"] for r in gpu] or [r.provenance["wall_time_s"] for r in [*sweep, *final]]
    # each run once: the seed-0 final runs are the sweep's runs at the chosen length (loaded twice)
    shown, seen = [], set()
    for r in [*sweep, *final, tfidf, *cpu]:
        if r.path.resolve() not in seen:
            seen.add(r.path.resolve())
            shown.append(r)
    return SentimentFacts(
        sweep=sweep, final=final, tfidf=tfidf, by_model=by_model, seed0=seed0,
        config=seed0["attention"].config, tfidf_config=tfidf.config,
        chosen=chosen, chosen_words=chosen_words(chosen), summary=summary, targets=targets,
        chosen_edge=chosen_edge(chosen, MAX_LEN_CANDIDATES), sweep_margin=margins, sweep_words=sweep_words(margins),
        card=card.table(shown,
                        error_bars="± one standard deviation over the seeds (accuracy in the tables); figure error "
                                   "bars: the seeds' range (length quartiles), 95% t intervals over the reviews "
                                   "(faithfulness); bracketed intervals: 95% intervals of a difference, Welch over "
                                   "seeds or paired over the same reviews",
                        data=card.IMDB, parameters={analysis.MODEL_LABELS[m]: seed0[m].metrics["num_parameters"]
                                                    for m in MODELS}),
        level=fmt.pct(vs_seeds["baseline"].level, 0),
        num_reviews=m_att["num_train"] + m_att["num_val"],
        positive_share=float(seed0["attention"].load_tensors("test_predictions")["label"].float().mean()),
        num_train=m_att["num_train"], num_val=m_att["num_val"], num_test=m_att["num_test"],
        num_seeds=len(by_model["attention"]), seeds_words=seeds_words(len(by_model["attention"])),
        parameters={m: seed0[m].metrics["num_parameters"] for m in MODELS},
        accuracy={m: fmt.accuracy(row["accuracy_mean"], row["accuracy_std"], row["seeds"])
                  for m, row in summary.iterrows()},
        vs_seeds=vs_seeds, vs_paired=vs_paired, per_seed=per_seed, answer=answer, answer_clause=clause,
        per_seed_words=per_seed_words(per_seed),
        pooling_vs_last=compare.paired(correct["meanpool"], correct["baseline"]),
        pooling_reading=pooling_words(compare.paired(correct["meanpool"], correct["baseline"]), vs_paired["meanpool"]),
        why_lead=why_lead, why_caveat=why_caveat,
        ending=compare.paired(last, first), ending_first=float(first.mean()), ending_last=float(last.mean()),
        ending_tokens=int(ends["n_tokens"]), ending_reviews=int(ends["reviews"]),
        attention_position=float(faith["attention_position"].mean()),
        attention_last_tenth=float(faith["last_tenth_weight"].mean()),
        uniform_last_tenth=float(uniform.mean()),
        last_tenth_vs_uniform=compare.paired(faith["last_tenth_weight"].astype(float), uniform),
        met={key: target_word(bool(v)) for key, v in targets["met"].items()},
        lean=lean, lean_words=lean_words(lean),
        quartiles=quartiles, quartile_ranges=ranges, quartile_words=quartile_words(quartiles, ranges),
        quartile_trend=trend, quartile_summary=quartile_summary(quartiles, trend),
        quartile_verdict=quartile_verdict(quartiles, trend),
        over_max_len=float((lengths > seed0["attention"].config_dict["max_len"]).mean()),
        ece=ece, ece_words={m: " / ".join(f"{100 * e:.2f}" for e in v) + "%" for m, v in ece.items()},
        ece_vs=compare.seeds(ece["attention"], ece["baseline"]), ece_epoch_rho=float(rho), ece_epoch_p=float(rho_p),
        ece_runs=len(gru), ece_epoch_reading=correlation_reading(float(rho), float(rho_p), vs_seeds["baseline"].level),
        overconfident={m: overconfidence_words([overconfidence(r) for r in rs]) for m, rs in by_model.items()}
        | {"tfidf": overconfidence_words([overconfidence(tfidf)])},
        confident=CONFIDENT,
        wrong_confident={m: float(np.mean([s[0] for s in v])) for m, v in shares.items()},
        right_confident={m: float(np.mean([s[1] for s in v])) for m, v in shares.items()},
        confident_vs=confident_vs,
        confident_reading=confident_reading(confident_vs["attention"], float(np.mean([s[0] for s in shares["attention"]]))),
        calibration=calibration,
        examples=examples, examples_words=examples_words(examples),
        faithfulness=faithfulness_table(faith), faith_k=k, faith_reviews=int(faith["attention_drop"].shape[1]),
        faith_ks=", ".join(str(x) for x in ks),
        faith_attention=float(100 * faith["attention_drop"][j].mean()),
        faith_gradient=float(100 * faith["gradient_drop"][j].mean()),
        faith_random=float(100 * faith["random_drop"][j].mean()),
        faith_vs_random=cmp["random_drop"][j], faith_vs_gradient=cmp["gradient_drop"][j],
        faith_overlap=float(faith["overlap"][j].mean()),
        faith_verdict=faithfulness_verdict(cmp["random_drop"], cmp["gradient_drop"]),
        faith_reading=faithfulness_reading(cmp["random_drop"][j], cmp["gradient_drop"][j]),
        cpu=cpu, cpu_gpu=cpu_gpu, cpu_minutes=float(cpu_gpu["cpu_wall_s"].sum() / 60),
        cpu_budget=budget_words(float(cpu_gpu["cpu_wall_s"].sum() / 60), CPU_BUDGET_MINUTES),
        cpu_epochs=int(cpu_gpu["cpu_epochs"].max()),
        cpu_noise={m: seed_noise_word(g) for m, g in cpu_gpu["gap_in_std"].items()},
        cpu_gap={m: float(r["cpu_test"] - r["gpu_test_mean"]) for m, r in cpu_gpu.iterrows()},
        cpu_summary=cpu_summary_words(cpu_gpu), cpu_vs=cpu_vs, cpu_answer=cpu_answer(vs_seeds["baseline"], cpu_vs),
        wall_range=(min(walls), max(walls)),
        devices=devices_words([r.provenance for r in gpu] or [r.provenance for r in [*sweep, *final]]),
    )
