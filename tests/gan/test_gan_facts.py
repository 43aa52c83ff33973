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
    assert facts.verdict_detail(_target(True, True, True)) == "(FID met, entropy met)"  # no dangling space before '.'
    assert facts.verdict_detail(_target(False, False, True)) == "(FID missed, entropy met)"


def test_tried_sentence_says_which_half_was_missed():
    assert facts.tried_sentence(_target(True, True, True), 12, 5) == ""
    fid_missed = facts.tried_sentence(_target(False, False, True), 12, 5)
    assert "12 variants" in fid_missed and "5 of them convolutional" in fid_missed
    assert "reaches 0.31 of the spec's mean classifier FID where the target asks for at most 0.20." in fid_missed
    entropy_missed = facts.tried_sentence(_target(False, True, False), 12, 5)
    assert "reaches mean class entropy 0.971 where it asks for at least 0.98." in entropy_missed
    both = facts.tried_sentence(_target(False, False, False), 12, 5)  # both halves missed: both named
    assert "0.31 of the spec's mean classifier FID" in both and "mean class entropy 0.971" in both


def test_choice_detail_words_come_from_the_comparison():
    from hw3 import compare

    assert facts.choice_detail("", "", "") == "the only ranked variant"
    clear = facts.choice_detail(compare.LOWER, "lr5e-4", "[-80.1, -40.2]")
    assert "its mean is clearly lower than the runner-up's, lr5e-4's" in clear and "[-80.1, -40.2]" in clear
    assert "95% Welch interval" in clear  # the level from hw3.compare, not typed
    assert "not clearly different from" in facts.choice_detail(compare.SAME, "batch32", "[-5.0, 3.0]")


def test_tradeoff_sentence_claims_only_what_the_seeds_establish():
    from hw3 import compare

    assert "not yet a difference established" in facts.tradeoff_sentence(compare.UNRANKED, compare.UNRANKED, 1)
    clear = facts.tradeoff_sentence(compare.LOWER, compare.HIGHER, 3)
    assert "precision is clearly lower and its recall clearly higher" in clear
    mixed = facts.tradeoff_sentence(compare.SAME, compare.HIGHER, 3)
    assert "precision is not clearly different from and its recall clearly higher than the spec's" in mixed


# --- review of issue 15/16/17: words that follow from the seeds ---------------------------------------


def test_memorization_word_holds_for_every_seed_or_says_they_disagree():
    assert facts.memorization_word([1.33, 1.35, 1.34]) == "farther"
    assert facts.memorization_word([0.8, 0.9]) == "closer"
    assert facts.memorization_word([0.9, 1.2, 1.1]) == "sometimes farther, sometimes closer"  # overlapping seeds
    assert facts.memorization_clause([1.33, 1.35, 1.34]) == "farther for each of its three seeds (1.33 to 1.35 times)"
    assert facts.memorization_clause([1.2]) == "farther (one seed, 1.20 times)"  # single seed: no 'each'
    assert "depending on the seed" in facts.memorization_clause([0.9, 1.2])


def test_timing_is_a_range_over_seeds_with_their_devices():
    provs = [{"device": "cpu", "torch_threads": 2}, {"device": "cpu", "torch_threads": 1},
             {"device": "cpu", "torch_threads": 1}]
    text = facts.timing_sentence([3.0, 9.2, 19.3], provs)
    assert text == "between 3.0 and 19.3 minutes (three seeds, on a CPU with 1 or 2 threads, shared with other jobs)"
    assert "(s)" not in text and "cpu" not in text  # no plural hack, no lower-case device name
    assert facts.timing_sentence([3.0], provs[:1]) == "3.0 minutes (one seed, on a CPU with 2 threads)"
    assert facts.devices_text([{"device": "cpu", "torch_threads": 1}]) == "a CPU with 1 thread"
    gpu = {"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3"}
    assert facts.devices_text([gpu]) == "NVIDIA H100 80GB HBM3"


def test_losses_clause_reads_the_history():
    opposed = [{"epoch": e, "loss_d": d, "loss_g": g}
               for e, d, g in [(1, 1.0, 1.0), (2, 0.7, 1.8), (3, 0.9, 1.5), (4, 1.1, 1.2), (5, 1.2, 1.1)]]
    text = facts.losses_clause(opposed)
    assert text.startswith("D's loss was lowest in epoch 2 (0.70) and ended at 1.20; G's was highest in epoch 2 (1.80)")
    assert "move against each other" in text
    together = [{"epoch": e, "loss_d": v, "loss_g": v} for e, v in [(1, 1.0), (2, 0.8), (3, 0.9), (4, 0.7)]]
    assert "move against each other" not in facts.losses_clause(together)  # same direction: not claimed


def _val(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["variant", "round", "parent", "seeds", "fid_mean"])


def test_unranked_variants_below_the_choice_are_named_not_ranked():
    val = _val([("spec", "spec", "—", 5, 270.0), ("lr5e-4", "planned", "spec", 3, 164.0),
                ("dcgan", "planned", "spec", 1, 100.9), ("hidden256", "planned", "spec", 1, 207.6),
                ("dcgan-wide", "follow-up", "dcgan", 2, 84.9), ("batch32", "planned", "spec", 3, 150.0)])
    # batch32 has enough seeds (ranked): never listed; hidden256 lies above the chosen mean: not listed
    assert facts.unranked_below(val, "lr5e-4") == "dcgan-wide (84.9, two seeds) and dcgan (100.9, one seed)"
    note = facts.unranked_note(val, "lr5e-4")
    assert "fewer than three seeds" in note and "not a ranking" in note
    val.loc[val["variant"].isin(["dcgan", "dcgan-wide"]), "seeds"] = 3  # every variant ranked: nothing to say
    assert facts.unranked_note(val, "lr5e-4") == ""


def test_follow_up_round_names_each_parent():
    val = _val([("spec", "spec", "—", 5, 1.0), ("dcgan", "planned", "spec", 1, 1.0),
                ("dcgan-wide", "follow-up", "dcgan", 1, 1.0), ("dcgan-ema", "follow-up", "dcgan", 3, 1.0)])
    assert facts.follow_up_list(val) == "dcgan-wide (from dcgan) and dcgan-ema (from dcgan)"
    assert facts.follow_up_list(val[val["round"] != "follow-up"]) == "none"


def test_round_two_says_the_test_digits_decided_it():
    same = facts.round_two_clause("dcgan", "dcgan")
    assert "scored on the test digits alone, where dcgan had the lowest FID" in same and "lowest there too" in same
    assert "the lowest is hidden1024" in facts.round_two_clause("dcgan", "hidden1024")


class _Run:
    def __init__(self, device, seconds, name=None):
        self.provenance = {"device": device, "wall_time_s": seconds, "torch_threads": 1}
        if name:
            self.provenance["device_name"] = name


def test_budget_sentence_by_device_and_says_what_was_not_measured():
    grouped = {"spec": [_Run("cpu", 1800), _Run("cpu", 1800)], "dcgan": [_Run("cuda", 240, "NVIDIA H100 80GB HBM3")]}
    text = facts.budget_sentence(grouped)
    assert text.startswith("The two runs trained on a CPU took 1.0 hours")
    assert "the one trained on a GPU (NVIDIA H100 80GB HBM3) took 4 minutes" in text and "not measured" in text
    assert facts.budget_sentence({"spec": [_Run("cpu", 3600)]}) == (
        "The one run trained on a CPU took 1.0 hours, within the study's budget of 8 hours on a 2-core CPU.")


def test_budget_sentence_sets_the_cpu_total_against_the_budget():
    judge_run = _Run("cpu", 600)
    within = facts.budget_sentence({"spec": [_Run("cpu", 3600)] * 3}, judge_run)
    assert within.startswith("The four runs trained on a CPU, the judge's included, took 3.2 hours")
    assert within.endswith("within the study's budget of 8 hours on a 2-core CPU.")
    over = facts.budget_sentence({"spec": [_Run("cpu", 3 * 3600)] * 3}, judge_run)
    assert "took 9.2 hours" in over and "over the study's budget" in over


def test_walk_sentence_follows_the_export_not_the_wish():
    assert facts.walk_sentence(["spec", "lr5e-4"], "lr5e-4") == "the spec GAN and the chosen variant, lr5e-4"
    stale = facts.walk_sentence(["spec", "dcgan-wide-batch128"], "lr5e-4")
    assert "exported before the current choice (lr5e-4)" in stale and "chosen variant" not in stale
    assert facts.walk_sentence(["spec"], "lr5e-4") == "the spec GAN only (no variant exported yet)"


def test_tradeoff_needs_enough_seeds_of_dcgan():
    from hw3 import compare

    two = facts.tradeoff_sentence(compare.LOWER, compare.HIGHER, 2)  # clear words from two seeds: still not enough
    assert "two seeds of dcgan" in two and "not yet a difference established" in two and "(s)" not in two
    assert "no stored run" in facts.tradeoff_sentence(compare.UNRANKED, compare.UNRANKED, 0)


def test_update_story_claims_no_convergence_it_did_not_measure():
    import pandas as pd

    rows = {"spec": "—", "lr5e-4": "better", "lr1e-4": "worse", "batch32": "better", "batch128": "worse"}
    val = pd.DataFrame({"variant": list(rows), "fid_vs_spec": list(rows.values()), "seeds": [5, 3, 3, 3, 3]})
    assert "converged" not in facts.update_story(val, 50)


def test_study_labels_never_collide():
    from hw3.gan import figures

    labels = [("a", 0.5, 0.70), ("b", 0.52, 0.705), ("c", 0.55, 0.71), ("far", 0.9, 0.70)]
    placed = {n: (x, ly) for n, x, (_, ly) in figures._spread_labels(labels)}
    near = [placed[n] for n in "abc"]
    assert all(abs(p[1] - q[1]) >= 0.028 - 1e-9 for i, p in enumerate(near) for q in near[i + 1:])
    assert placed["far"][1] == 0.70  # a label with no neighbour stays at its point


class _CurveRun:
    def __init__(self, fids, every=2):
        self.history = [{"epoch": e, **({"val_fid": fids[e // every - 1]} if e % every == 0 else {})}
                        for e in range(1, every * len(fids) + 1)]


def test_validation_curves_and_the_reason_to_train_longer():
    grouped = {"spec": [_CurveRun([])], "a": [_CurveRun([300.0, 200.0, 150.0]), _CurveRun([310.0, 190.0, 180.0])],
               "b": [_CurveRun([400.0, 120.0, 125.0])]}
    curves = facts.validation_curves(grouped)
    assert list(curves) == ["a", "b"]  # the spec logged none
    assert curves["a"][0] == ([2, 4, 6], [300.0, 200.0, 150.0])
    assert facts.curves_clause(curves, ["a"]) == "its validation FID was still falling at its last epoch"
    assert facts.curves_clause(curves, ["a", "b"]) == "although the validation FID of b had stopped falling at its last epoch"
    grouped["b"] = [_CurveRun([400.0, 130.0, 125.0])]
    assert "the validation curves of both were still falling at their last epoch" == facts.curves_clause(facts.validation_curves(grouped), ["a", "b"])


class _LongRun(_Run):
    def __init__(self, name, fids_by_epoch, continued_from=None):
        super().__init__("cpu", 60)
        self.name = name
        self.history = [{"epoch": e, "val_fid": f} for e, f in fids_by_epoch.items()]
        if continued_from:
            self.provenance["continued_from"] = continued_from


def test_continued_runs_are_said_from_their_provenance():
    curve = {40: 65.0, 50: 57.0, 100: 45.0}
    grouped = {"spec": [_Run("cpu", 60)], "long": [_LongRun("long", curve)]}
    assert facts.continued_clause(grouped, 100) == "for 100 epochs"
    grouped["long"] = [_LongRun("long", curve, {"run": "short", "epoch": 50}),
                       _LongRun("long-s1", curve, {"run": "short-s1", "epoch": 50}), _LongRun("long-s2", curve)]
    text = facts.continued_clause(grouped, 100)
    assert text.startswith("first for 50 epochs, then, while the validation FID of its first two seeds was still "
                           "falling, before they reached epoch 50 (their test scores")
    assert "for 100: those seeds continue" in text
    grouped["long"][1] = _LongRun("long-s1", {40: 60.0, 50: 61.0}, {"run": "short-s1", "epoch": 50})
    assert "once its first two seeds had run 50 epochs" in facts.continued_clause(grouped, 100)


def test_pilot_pick_and_what_cannot_be_separated():
    import pandas as pd


    val = pd.DataFrame({"variant": ["a", "b"], "fid_mean": [114.9, 99.5]})
    name, why = facts.pilot_pick(val, ["a", "b"])
    assert name == "b" and why == ("its one seed had the lower validation FID of the additions (99.5 against 114.9 "
                                   "for a; one seed each, so not a ranking)")
    assert facts.gain_source({}, "c", "r", "b") == ""


class _CfgRun(_Run):
    def __init__(self, epochs, fid):
        super().__init__("cpu", 60)
        from hw3.gan import models

        self.config = models.GANConfig(arch="dcgan", num_epochs=epochs)
        self.metrics = {"val": {"fid": fid}}


def test_gain_source_says_what_the_study_cannot_tell():
    grouped = {"base": [_CfgRun(20, 94.4), _CfgRun(20, 109.2), _CfgRun(20, 99.6)], "recipe": [_CfgRun(20, 99.5)],
               "long": [_CfgRun(100, 45.0)]}
    text = facts.gain_source(grouped, "long", "recipe", "base")
    assert "At 20 epochs the recipe's one seed (99.5) lies within the range of base's three seeds (94.4 to 109.2)" in text
    assert text.endswith("the study cannot tell.")
    assert facts.gain_source(grouped, "recipe", "recipe", "base") == ""  # not trained longer: nothing to say


def test_tradeoff_ranges_leave_out_one_seed_variants():
    import pandas as pd

    from hw3.gan import study

    table = study.variants()
    val = pd.DataFrame({"variant": ["spec", "lr5e-4", "hidden1024", "dcgan"], "seeds": [5, 3, 1, 3],
                        "precision_mean": [0.64, 0.77, 0.99, 0.56], "recall_mean": [0.39, 0.55, 0.95, 0.78]})
    r = facts.tradeoff_ranges(val, table)
    assert r["mlp"] == {"precision": (0.64, 0.77), "recall": (0.39, 0.55)}  # hidden1024's one seed is no mean
    assert r["dcgan"] == {"precision": (0.56, 0.56), "recall": (0.78, 0.78)}
