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
