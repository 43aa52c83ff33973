"""The words attention.qmd chooses from its numbers (hw3.sentiment.facts), on small synthetic inputs."""

import dataclasses

import pandas as pd

from hw3.sentiment import facts


def test_facts_are_frozen():
    assert dataclasses.is_dataclass(facts.SentimentFacts)
    assert facts.SentimentFacts.__dataclass_params__.frozen


def test_target_word():
    assert facts.target_word(True) == "met" and facts.target_word(False) == "not met"


def test_quartile_gaps_widen_only_when_the_longest_gap_is_larger():
    short, long, word = facts.quartile_gaps([0.90, 0.89, 0.88, 0.87], [0.89, 0.88, 0.86, 0.83])
    assert round(short, 6) == 0.01 and round(long, 6) == 0.04 and word == "widens"
    assert facts.quartile_gaps([0.90, 0, 0, 0.85], [0.88, 0, 0, 0.84])[2] == "does not widen"


class _Run:
    def __init__(self, accuracies):
        self.metrics = {"length_quartiles": [{"accuracy": a} for a in accuracies]}


def test_mean_quartile_accuracy_averages_over_seeds():
    got = facts.mean_quartile_accuracy([_Run([0.8, 0.9, 1.0, 0.7]), _Run([0.6, 0.9, 0.8, 0.5])])
    assert [round(x, 6) for x in got] == [0.7, 0.9, 0.9, 0.6]


def _faith(top, rand, ks=(1, 5, 10)):
    return pd.DataFrame({"reviews": [100] * len(ks), "drop, top-k removed (pp)": top,
                         "drop, random k removed (pp)": rand}, index=pd.Index(ks, name="k"))


def test_faithfulness_words():
    k, top, rand, more, verdict = facts.faithfulness_words(_faith([2.0, 5.0, 9.0], [0.5, 1.0, 2.0]))
    assert (k, top, rand, more) == (5, 5.0, 1.0, "more")
    assert verdict.startswith("The attended tokens matter more")
    k, _, _, more, verdict = facts.faithfulness_words(_faith([0.1, 3.0], [0.5, 1.0], ks=(1, 3)))
    assert k == 1 and more == "no more"  # k = 5 was not measured: the smallest k is shown
    assert "do not matter more than random ones for every k" in verdict


def test_budget_words():
    assert facts.budget_words(89.6, 90) == "within the 90-minute budget"
    assert facts.budget_words(93.1, 90) == "over the 90-minute budget"


def test_seed_noise_word_is_two_standard_deviations():
    assert facts.seed_noise_word(1.9) == "within" and facts.seed_noise_word(-2.0) == "within"
    assert facts.seed_noise_word(-2.1) == "outside" and facts.seed_noise_word(float("nan")) == "outside"


class _Stored:
    def __init__(self, model, accuracy, val, wall, device, epochs=3):
        self.config_dict, self.experiment = {"model": model}, "sentiment"
        self.metrics = {"accuracy": accuracy, "epochs_trained": epochs, "val_accuracy": max(val)}
        self.history = [{"val_accuracy": v} for v in val]
        self.provenance = {"wall_time_s": wall, "device": device}


def test_cpu_gpu_compares_the_cpu_run_with_the_gpu_seeds():
    from hw3.sentiment import analysis

    gpu = [_Stored("attention", a, [0.80, 0.85, 0.88, 0.90], 300, "cuda", 4) for a in (0.89, 0.90, 0.91)]
    cpu = [_Stored("attention", 0.87, [0.82, 0.86, 0.87], 1800, "cpu")]
    table = analysis.cpu_gpu(cpu, gpu)
    row = table.loc["attention"]
    assert row["gpu_val_same_epochs"] == 0.88 and row["cpu_val"] == 0.87  # both at epoch 3
    assert round(row["gap_in_std"], 6) == -3.0  # (0.87 - 0.90) / 0.01
    words = facts.cpu_summary_words(table)
    assert words == "GRU + additive attention -3.00 points (outside two standard deviations of its three GPU seeds)"
    shown = analysis.cpu_gpu_table(table)
    assert list(shown["device"]) == ["cuda", "CPU, 1 thread"] and list(shown["wall (min)"]) == ["5.0", "30.0"]
