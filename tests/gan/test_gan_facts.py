"""The words gan.qmd chooses from its numbers (hw3.gan.facts), on small synthetic inputs."""

import dataclasses

import pytest

from hw3.gan import facts


def test_facts_are_frozen():
    assert dataclasses.is_dataclass(facts.GANFacts)
    assert facts.GANFacts.__dataclass_params__.frozen


def test_class_shares_name_the_most_and_least_frequent_digit():
    counts = [10, 30, 5, 10, 10, 10, 10, 5, 5, 5]  # 100 samples; ties: the first digit
    assert facts.class_shares(counts) == (1, 0.30, 2, 0.05)


@pytest.mark.parametrize("entropy,least,expected", [
    (0.995, 0.09, "no collapse between classes"),  # within 0.01 of the floor
    (0.95, 0.03, "partial collapse"),  # every digit still produced
    (0.80, 0.005, "all but vanished"),  # the rarest digit under 1%
])
def test_collapse_sentence(entropy, least, expected):
    assert expected in facts.collapse_sentence(entropy, floor_entropy=0.999, least_share=least)


def test_coverage_and_memorization_words():
    assert facts.coverage_word(0.90, floor_recall=0.93) == "most"
    assert facts.coverage_word(0.80, floor_recall=0.93) == "only part"
    assert facts.memorization_word(1.2) == "farther"
    assert facts.memorization_word(0.8) == "closer"


def test_update_story_needs_all_four_runs_clearly_pointing_the_same_way():
    import pandas as pd

    rows = {"spec": "—", "lr5e-4": "better", "lr1e-4": "worse", "batch32": "better", "batch128": "worse"}
    val = pd.DataFrame({"variant": list(rows), "fid_vs_spec": list(rows.values()), "seeds": [5, 3, 3, 3, 3]})
    assert "50 epochs" in facts.update_story(val, 50)
    val.loc[val["variant"] == "batch128", "fid_vs_spec"] = "no clear difference"  # overlapping spreads: no story
    assert facts.update_story(val, 50) == ""
    val.loc[val["variant"] == "batch128", ["fid_vs_spec", "seeds"]] = ["worse", 1]  # one seed: not ranked
    assert facts.update_story(val, 50) == ""


def _target(met, fid_met, entropy_met):
    return {"met": met, "fid_met": fid_met, "entropy_met": entropy_met, "ratio": 0.31, "fid_ratio": 0.2,
            "best_entropy": 0.971, "min_entropy": 0.98}


def test_verdict_words():
    assert facts.verdict(True) == "met" and facts.verdict(False) == "missed"
    assert facts.verdict_detail(_target(True, True, True)) == ""
    assert facts.verdict_detail(_target(False, False, True)) == "(FID missed, entropy met)"


def test_tried_sentence_says_which_half_was_missed():
    assert facts.tried_sentence(_target(True, True, True), 12, 5) == ""
    fid_missed = facts.tried_sentence(_target(False, False, True), 12, 5)
    assert "12 variants" in fid_missed and "5 of them convolutional" in fid_missed
    assert "reaches 0.31 of the spec's mean classifier FID on the test digits, not 0.20." in fid_missed
    entropy_missed = facts.tried_sentence(_target(False, True, False), 12, 5)
    assert "mean class entropy 0.971, below 0.98." in entropy_missed


def test_choice_detail_words_come_from_the_comparison():
    from hw3 import compare

    assert facts.choice_detail("", "", "") == "the only ranked variant"
    clear = facts.choice_detail(compare.LOWER, "lr5e-4", "[-80.1, -40.2]")
    assert "clearly lower than that of the runner-up, lr5e-4" in clear and "[-80.1, -40.2]" in clear
    assert "not clearly different from" in facts.choice_detail(compare.SAME, "batch32", "[-5.0, 3.0]")


def test_tradeoff_sentence_claims_only_what_the_seeds_establish():
    from hw3 import compare

    assert "not yet a difference established" in facts.tradeoff_sentence(compare.UNRANKED, compare.UNRANKED, 1)
    clear = facts.tradeoff_sentence(compare.LOWER, compare.HIGHER, 3)
    assert "precision is clearly lower and its recall clearly higher" in clear
    mixed = facts.tradeoff_sentence(compare.SAME, compare.HIGHER, 3)
    assert "precision is not clearly different from and its recall clearly higher than the spec's" in mixed
