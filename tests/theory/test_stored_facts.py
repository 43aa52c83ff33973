"""The essays' fixed words against the stored runs: every sentence, caption or alt text that is written out
in a theory essay rather than computed states something these tests check on `results/` (issue 16).
No data set is needed; a run that is not stored (or stored with another config) skips its test."""

import pytest

from hw3 import compare, runs, utils
from hw3.theory import activations, layers, regularization, siamese, transfer


def stored(module, config_cls):
    config = config_cls()
    path = utils.project_root() / "results" / config.experiment / config.name
    if not path.exists() or not runs.same_config(runs.Run(path).config_dict, config):
        pytest.skip(f"{config.experiment} not stored with the current config")
    return module.facts()


@pytest.fixture(autouse=True)
def stored_results(monkeypatch):
    monkeypatch.delenv("HW3_QUICK", raising=False)
    monkeypatch.delenv("HW3_RESULTS", raising=False)
    monkeypatch.setenv("HW3_NO_TRAIN", "1")


def test_transfer_words():
    f = stored(transfer, transfer.TransferConfig)
    word = lambda d, a, b, at="chosen": f.comparison(d, a, b, at).word  # noqa: E731
    # the near-domain summary sentence is computed; it used to read "hard to beat"
    assert f.near_chosen_summary.startswith("At the step chosen on validation, no method ends clearly above")
    assert all(word("near", m, "source only") != compare.HIGHER for m in transfer.METHODS[1:])
    # key points: "validation chose to leave a nearby source model as it was"
    assert all(s == 0 for m in ("linear probe", "fine-tune") for s in f.chosen_steps["near", m])
    # "Training from scratch shows what the source model's features are worth"
    assert word("near", "source only", "from scratch") == compare.HIGHER
    assert word("near", "from scratch", "source only") == compare.LOWER
    # "The frozen features no longer fit"
    assert word("far", "linear probe", "from scratch") == compare.LOWER
    # "the pre-trained starting point gives no measurable advantage over a random one" (Raghu et al.'s pattern)
    assert word("far", "fine-tune", "from scratch") != compare.HIGHER
    # "the chosen step is itself noisy: ... at the chosen steps against ... after all steps"
    assert f.accuracy["far", "fine-tune, new head"] < f.final["far", "fine-tune, new head"]
    assert f.chosen_vs_final["far", "fine-tune, new head"].word == compare.LOWER
    assert f.chosen_against_final("far", "fine-tune, new head").startswith("clearly below its accuracy after all")
    # the far domain's source-only accuracy is read as "where guessing scores 10%": near chance
    assert abs(f.accuracy["far", "source only"] - 0.1) < 0.05


def test_regularization_words():
    f = stored(regularization, regularization.RegularizationConfig)
    losses = f.first_seed_losses
    # "the textbook picture of overfitting"; fig-alt: "the validation loss rises after a few epochs"
    assert f.base["train_acc"] > 0.99 and losses["end_val"] > losses["min_val"] and f.min_val_epoch <= 10
    # "No technique closes the gap: the six leave between ... points"
    assert f.gap_range[0] > 0.02 and len(f.others) == 6
    # "stopping at the lowest loss is not stopping at the highest accuracy"
    assert f.max_val_acc_epoch != f.min_val_epoch and f.max_val_acc > f.val_acc_at_min_loss
    # the table and the prose call PyTorch's SGD weight_decay an L2 penalty
    assert "L2 penalty" in regularization.results_table(f.run).index and f.best_label == regularization.label(f.best)
    # the headline variant is the one chosen on validation
    assert f.best == max(f.others, key=lambda v: f.metrics[f"val_acc/{v}"])


def test_activations_words():
    f = stored(activations, activations.ActivationsConfig)
    rec, comp = f.recommended_init, f.compensated
    # fig-alt: "the tanh, ReLU, leaky ReLU and GELU lines are flat, the sigmoid's with gain 1 still falls steeply
    # towards the input, and the sigmoid's with gain 4 falls much less"
    assert 0.5 < f.others_ratio_range[0] <= f.others_ratio_range[1] < 2
    assert f.ratio[rec, "sigmoid"] < 1e-3 and f.ratio[comp, "sigmoid"] > 100 * f.ratio[rec, "sigmoid"]
    # "every activation then loses gradient towards the input" (PyTorch's default initialisation)
    assert all(f.ratio[f.default_init, a] < 0.5 for a in f.metrics["activations"])
    # key points: "gain 4 raised the ratio", over the initialisations (log scale, Welch interval)
    assert f.gain4_ratio_word == "raised" and f.gain4_ratio.n_a == f.config.grad_inits
    # "The compensation is not complete ... the mean of sigma' ... below the 1/4 that the gain undoes"
    assert f.ratio[comp, "sigmoid"] < 0.5 and f.mean_derivative[comp] < 0.25
    # fig-alt: "The sigmoid line with gain 1 stays flat at the loss of random guessing; the other lines fall"
    assert f.sigmoid_learns == "does not learn" and abs(f.final_loss["sigmoid"] - f.chance_loss) < 0.1
    assert all(activations.learns(f.final_loss[n], f.chance_loss) != "does not learn"
               for n in f.metrics["trained"] if n != "sigmoid")
    # "about one digit in ten"
    assert abs(f.test["sigmoid"] - 0.1) < 0.03
    # "every activation then loses gradient towards the input (the ratio is at most ...)"
    assert f.default_ratio_max[1] == activations.fmt_sci(max(f.ratio[f.default_init, a] for a in f.metrics["activations"]))
    # "dead units exist, but here they are rare"
    assert 0 < f.metrics["dead_fraction/relu"] < 0.05


def test_siamese_words():
    f = stored(siamese, siamese.SiameseConfig)
    p = f.metrics["per_seed"]
    # "Each training digit forms its own compact cluster ... verification among the seen digits"
    assert f.auc_seen > 0.98
    # "the held-out digits have no cluster of their own" goes with a clearly lower AUC for them
    assert f.auc_gap.word == compare.HIGHER and f.held_out_auc_side == "clearly above"
    # fig-alt: the held-out ROC curves "lie lower but above the diagonal" in every run
    assert all(0.5 < h < s for h, s in zip(p["auc/held-out digits"], p["auc/seen digits"], strict=True))
    # one-shot accuracy is reported per group; the all-digit number is called mixed
    assert len({tuple(h) for h in p["held_out"]}) == f.num_runs
    # the digits every run holds out are named (the draws share 1 and 5)
    assert f.held_out_in_every_run == sorted(set.intersection(*(set(h) for h in p["held_out"])))
    assert (f.held_out_note != "") == bool(f.held_out_in_every_run)


def test_layers_words():
    f = stored(layers, layers.LayersConfig)
    # fig-alt: "the accuracy of all three models falls as the shift grows; the CNN line lies above both MLP lines"
    assert f.cnn_above_at_every_shift
    acc = f.run.load_tensors("results")["shift_acc"]
    assert (acc[:, 0] > acc[:, -1]).all()
    # "Even so, the CNN is far from invariant"
    assert f.shifted_drop[f.cnn] > 0.2


@pytest.mark.parametrize("module, config_cls, draw", [
    (transfer, transfer.TransferConfig, ["plot_adaptation"]),
    (layers, layers.LayersConfig, ["plot_shift_robustness"]),
    (regularization, regularization.RegularizationConfig, ["plot_curves"]),
    (siamese, siamese.SiameseConfig, ["plot_embedding_and_roc"]),
    (activations, activations.ActivationsConfig, ["plot_functions", "plot_grad_norms", "plot_training"]),
])
def test_dark_renderings_draw_in_the_dark_palette(module, config_cls, draw):
    """Dark mode: each line of a chart drawn under the dark style has the dark counterpart of its light
    colour (the palette's i-th colour, the neutral grey), so no hard-coded light colour (black, the dark
    blue) is left on the dark background."""
    from matplotlib.colors import to_hex

    from hw3 import plots
    from hw3.theory import common

    run = stored(module, config_cls).run
    counterpart = {to_hex(a): to_hex(b) for a, b in zip(plots.OKABE_ITO, plots.OKABE_ITO_DARK, strict=True)}
    with plots.style("light"):
        counterpart[to_hex(common.neutral())] = None  # filled in below
    with plots.style("dark"):
        counterpart = {k: v or to_hex(common.neutral()) for k, v in counterpart.items()}
    counterpart |= {"#999999": "#999999", "#aa4499": "#aa4499"}  # the Siamese figure's two extra digit colours
    for name in draw:
        drawn = {}
        for style in ("light", "dark"):
            with plots.style(style):
                fig = getattr(module, name)(run)
            drawn[style] = [to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()]
        assert drawn["light"] and len(drawn["light"]) == len(drawn["dark"])
        assert [counterpart.get(c) for c in drawn["light"]] == drawn["dark"], name
        assert "#000000" not in drawn["dark"]
