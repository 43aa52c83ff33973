"""The theory experiments (hw3.theory): closed forms, losses and metrics on synthetic tensors, and each
experiment's quick run returning the quantities its essay states."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from hw3 import runs, utils
from hw3.theory import activations, common, layers, regularization, report_configs, siamese, transfer

from conftest import needs_data

# --- the report's runs -------------------------------------------------------------------------------


def test_report_configs_cover_the_five_essays():
    configs = report_configs()
    assert [c.experiment for c in configs] == ["theory-transfer", "theory-layers", "theory-regularization",
                                              "theory-siamese", "theory-activations"]
    for c in configs:
        assert runs.TRAINERS[c.experiment] is not None
        assert type(c).from_dict(c.to_dict()) == c  # JSON round trip (tuples included)
        assert c.quick() != c


@pytest.mark.parametrize("config", report_configs(), ids=lambda c: c.experiment)
def test_committed_run_matches_its_config(config):
    """A committed run must be loadable by `load_or_train` without retraining (same config)."""
    path = utils.project_root() / "results" / config.experiment / config.name
    if not path.exists():
        pytest.skip(f"{path} not trained yet")
    run = runs.Run(path)
    assert run.config_dict == config.to_dict()
    assert not run.provenance["quick_profile"]


# --- layers: parameter counts ------------------------------------------------------------------------


@pytest.mark.parametrize("n_in,n_out,bias", [(784, 256, True), (10, 3, False), (1, 1, True)])
def test_linear_count_equals_closed_form(n_in, n_out, bias):
    assert common.count_params(nn.Linear(n_in, n_out, bias=bias)) == layers.linear_params(n_in, n_out, bias)


@pytest.mark.parametrize("c_in,c_out,k,bias", [(1, 32, 3, True), (3, 64, 7, True), (16, 8, 1, False)])
def test_conv_count_equals_closed_form(c_in, c_out, k, bias):
    assert common.count_params(nn.Conv2d(c_in, c_out, k, bias=bias)) == layers.conv2d_params(c_in, c_out, k, bias)


def test_layer_comparison_counts_agree_and_favour_convolution():
    df = layers.layer_comparison()
    assert (df["parameters (module)"] == df["parameters (formula)"]).all()
    conv, dense = df.iloc[0::2], df.iloc[1::2]
    assert (conv["parameters (module)"].to_numpy() < dense["parameters (module)"].to_numpy()).all()
    assert df["parameters (module)"].iloc[3] == 3 * 224 * 224 * 64 * 224 * 224 + 64 * 224 * 224


def test_models_have_the_closed_form_counts_and_similar_budgets():
    config = layers.LayersConfig()
    models = layers.build_models(config)
    cnn, mlp, wide = models.values()
    assert common.count_params(cnn) == layers.SmallCNN.closed_form_params(config.cnn_channels)
    assert common.count_params(mlp) == layers.MLP.closed_form_params(mlp.net[1].out_features)
    assert abs(common.count_params(mlp) - common.count_params(cnn)) / common.count_params(cnn) < 0.05
    assert common.count_params(wide) / common.count_params(cnn) == pytest.approx(config.wide_factor, rel=0.05)
    X = torch.rand(2, 1, 28, 28)
    for m in models.values():
        assert m(X).shape == (2, 10)


def test_translate_and_shifted_sets():
    X = torch.zeros(1, 1, 5, 5)
    X[0, 0, 2, 2] = 1.0
    Y = common.translate(X, dx=1, dy=-2)
    assert Y[0, 0, 0, 3] == 1.0 and Y.sum() == 1.0
    sets = layers.shifted_test_sets(torch.rand(16, 1, 28, 28), max_shift=2, seed=0)
    assert len(sets) == 3 and torch.equal(sets[0], sets[0])
    assert all(s.shape == (16, 1, 28, 28) for s in sets)


# --- activations -------------------------------------------------------------------------------------


def test_activation_derivatives_match_closed_forms():
    x = torch.linspace(-5, 5, 101)
    t = activations.function_table(x)
    d = dict(zip(activations.ACTIVATIONS, t["derivatives"], strict=True))
    s = torch.sigmoid(x)
    torch.testing.assert_close(d["sigmoid"], s * (1 - s))
    torch.testing.assert_close(d["tanh"], 1 - torch.tanh(x) ** 2)
    torch.testing.assert_close(d["relu"], (x > 0).float())
    assert d["sigmoid"].max().item() == pytest.approx(0.25)
    assert d["tanh"].max().item() == pytest.approx(1.0)


def test_grad_norms_per_layer_and_vanishing_sigmoid():
    torch.manual_seed(0)
    X, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    norms = {}
    for act in ("sigmoid", "relu"):
        torch.manual_seed(0)
        model = activations.DeepMLP(act, depth=10, width=64, init="recommended gain")
        norms[act] = activations.layer_grad_norms(model, X, y)
        assert norms[act].shape == (10,)
        assert torch.isfinite(norms[act]).all() and (norms[act] > 0).all()
    # sigmoid: the gradient shrinks by orders of magnitude from layer 9 down to layer 2; ReLU's does not
    assert norms["sigmoid"][1] / norms["sigmoid"][-2] < 1e-2
    assert norms["relu"][1] / norms["relu"][-2] > 0.1


def test_dead_fraction_counts_units_that_never_fire():
    model = activations.DeepMLP("relu", depth=3, width=8)
    with torch.no_grad():
        model.linears[0].bias[:4] = -1e6  # four of eight first-layer units can never be positive
    assert activations.dead_fraction(model, torch.rand(32, 1, 28, 28)) >= 4 / 16


# --- siamese -----------------------------------------------------------------------------------------


def test_contrastive_loss_cases():
    z = torch.tensor([[0.0, 0.0]])
    far, near = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.5, 0.0]])
    one, zero = torch.tensor([1]), torch.tensor([0])
    assert siamese.contrastive_loss(z, z, one, margin=1.0).item() == 0.0  # identical matching pair
    assert siamese.contrastive_loss(z, far, zero, margin=1.0).item() == 0.0  # non-matching beyond the margin
    assert siamese.contrastive_loss(z, near, zero, margin=1.0).item() == pytest.approx(0.5 * 0.5**2)
    assert siamese.contrastive_loss(z, near, one, margin=1.0).item() == pytest.approx(0.5 * 0.5**2)


def test_pairs_and_verification_metrics():
    i, j = siamese.batch_pairs(7)
    assert len(i) == 7 * 6 // 2 and (i < j).all()
    y = torch.arange(4).repeat_interleave(25)  # 4 classes x 25
    pairs = siamese.verification_pairs(y, 200, seed=0)
    same = (y[pairs[:, 0]] == y[pairs[:, 1]])
    assert same.sum().item() == 100 and (pairs[:, 0] != pairs[:, 1]).all()
    Z = torch.nn.functional.one_hot(y, 4).float() * 10 + 0.01 * torch.randn(100, 4)  # well-separated clusters
    labels, scores = siamese.verification_scores(Z, y, pairs)
    from sklearn.metrics import roc_auc_score, roc_curve

    assert roc_auc_score(labels, scores) == 1.0
    fpr, tpr, _ = roc_curve(labels, scores)
    assert siamese.equal_error_rate(fpr, tpr) == 0.0
    assert siamese.one_shot_accuracy(Z, y, episodes=5, seed=0) == 1.0


# --- transfer ----------------------------------------------------------------------------------------


def test_elastic_without_displacement_is_identity_and_far_domain_inverts():
    X = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(transfer.elastic(X, 0.0, 4.0, torch.Generator().manual_seed(0)), X,
                               atol=1e-5, rtol=0)
    digits = torch.zeros(8, 1, 28, 28)
    digits[:, :, 10:18, 12:16] = 1.0  # a bright stroke on black
    config = transfer.TransferConfig()
    near = transfer.shift_domain(digits, config, seed=0, domain="near")
    far = transfer.shift_domain(digits, config, seed=0, domain="far")
    assert near.mean() < 0.5 < far.mean()  # inverted: a bright background
    assert far.min() >= 0 and far.max() <= 1
    with pytest.raises(ValueError):
        transfer.shift_domain(digits, config, seed=0, domain="mars")


# --- regularization and shared pieces ----------------------------------------------------------------


def test_regularization_variants_build_the_right_network():
    plain = regularization.MLP(32)
    assert not any(isinstance(m, (nn.Dropout, nn.BatchNorm1d)) for m in plain.modules())
    assert sum(isinstance(m, nn.Dropout) for m in regularization.MLP(32, dropout=0.5).modules()) == 2
    assert sum(isinstance(m, nn.BatchNorm1d) for m in regularization.MLP(32, batch_norm=True).modules()) == 2
    with pytest.raises(ValueError):
        regularization.train_variant("magic", regularization.RegularizationConfig(), {}, "cpu", print)


def test_random_affine_with_zero_ranges_is_identity():
    X = torch.rand(3, 1, 28, 28)
    Y = common.random_affine(X, torch.Generator().manual_seed(0), max_shift=0, max_degrees=0, max_scale=0)
    torch.testing.assert_close(Y, X, atol=1e-5, rtol=0)


def test_split_is_disjoint_and_deterministic():
    a, b = common.split(100, (30, 50), seed=3)
    assert len(set(a.tolist()) | set(b.tolist())) == 80
    assert torch.equal(common.split(100, (30, 50), seed=3)[0], a)
    with pytest.raises(ValueError):
        common.split(10, (6, 6), seed=0)


def test_single_threaded_restores_the_thread_count():
    before = torch.get_num_threads()
    seen = {}

    @common.single_threaded
    def fn(config, run, device):
        seen["threads"] = torch.get_num_threads()

    class Writer:
        metrics = {}

    fn(None, Writer(), torch.device("cpu"))
    assert seen["threads"] == 1 and torch.get_num_threads() == before


# --- each experiment's quick run returns what its essay states ---------------------------------------


@needs_data
def test_transfer_quick_run(quick_env):
    run = runs.load_or_train(transfer.TransferConfig())
    m = run.metrics
    for d in transfer.DOMAINS:
        for method in transfer.METHODS:
            assert 0.0 <= m[f"acc/{d}/{method}"] <= 1.0
    assert m["trainable_params/linear probe"] < m["trainable_params/fine-tune"]
    assert m["pixel_mean/far"] > m["pixel_mean/source"]  # the far domain is inverted
    assert list(transfer.accuracy_table(run).index) == list(transfer.METHODS)
    t = run.load_tensors("results")
    n_eval = t["adapt_steps"].numel()
    assert t["correct"].shape == (2, len(transfer.METHODS) - 1, run.config.repeats, n_eval, run.config.target_test_size)
    assert t["val_curves"].shape == t["adapt_curves"].shape
    # the accuracy at the chosen step is the test curve's value at that step
    k, m_ = 0, transfer.METHODS.index("fine-tune") - 1
    picked = t["adapt_curves"][k, m_].gather(-1, t["chosen_eval"][k, m_][:, None]).squeeze(-1)
    assert m["acc/near/fine-tune"] == pytest.approx(picked.mean().item())
    f = transfer.facts()
    assert set(f.versus) == {(d, a, b) for d in transfer.DOMAINS for a, b in transfer.CONTRASTS}


@needs_data
def test_layers_quick_run(quick_env):
    run = runs.load_or_train(layers.LayersConfig())
    m = run.metrics
    for name, model in layers.build_models(run.config).items():
        assert m[f"params/{name}"] == common.count_params(model)
        assert 0.0 <= m[f"shifted_acc/{name}"] <= 1.0
    t = run.load_tensors("results")
    assert t["shift_acc"].shape == (3, run.config.max_shift + 1)
    assert t["test_correct"].shape == (3, 2, run.config.test_size)
    assert t["test_correct"][:, 0].double().mean(1).tolist() == pytest.approx(t["shift_acc"][:, 0].tolist())


@needs_data
def test_regularization_quick_run(quick_env):
    run = runs.load_or_train(regularization.RegularizationConfig())
    table = regularization.results_table(run)
    assert list(table.index) == [regularization.label(v) for v in regularization.VARIANTS]
    es = run.metrics["early stopping"]
    assert all(b <= e <= run.config.num_epochs for b, e in zip(es["best_epoch"], es["epochs_run"], strict=True))
    h = run.history_frame()
    assert set(h.variant) == set(regularization.VARIANTS) and set(h.seed) == set(run.config.seeds)
    assert run.metrics["best_on_validation"] == regularization.best_on_validation(run.metrics)
    assert run.load_tensors("results")["test_correct"].shape == (len(regularization.VARIANTS), len(run.config.seeds),
                                                                  run.config.test_size)
    f = regularization.facts()
    assert f.best == run.metrics["best_on_validation"] and set(f.vs_base) == set(f.others)


@needs_data
def test_siamese_small_run_verifies_better_than_chance(quick_env):
    config = dataclasses.replace(siamese.SiameseConfig(), train_size=2_000, num_epochs=2, test_pairs=400,
                                 scatter_size=200, shots_episodes=10)
    run = runs.train_run(config, root=quick_env)
    m = run.metrics
    assert 0.0 <= m["auc/held-out digits"] <= 1.0
    assert m["auc/seen digits"] > 0.8  # a tiny trained encoder already separates seen digits
    t = run.load_tensors("results")
    assert t["embedding"].shape == (200, 2)
    assert 0.0 <= m["train_positive_fraction"] <= 1.0
    p = m["per_seed"]
    assert [len(h) for h in p["held_out"]] == [config.num_held_out] * len(config.seeds)
    assert len(p["one_shot/held-out digits"]) == len(config.seeds)
    table = siamese.verification_table(run)
    assert list(table.index) == list(siamese.GROUPS)


@needs_data
def test_activations_quick_run(quick_env):
    run = runs.load_or_train(activations.ActivationsConfig())
    t = run.load_tensors("results")
    config = run.config
    assert t["grad_norms"].shape == (len(activations.ACTIVATIONS), len(activations.INITS), config.grad_inits,
                                     config.depth)
    assert t["grad_norms_sigmoid_gain4"].shape == (config.grad_inits, config.depth)
    assert t["train_losses"].shape[:2] == (len(activations.TRAINED), len(config.seeds))
    m = run.metrics
    assert m["max_derivative/sigmoid"] == pytest.approx(0.25)
    assert m["grad_ratio/recommended gain/sigmoid"] < m["grad_ratio/recommended gain/relu"]
    assert m["grad_ratio/recommended gain/sigmoid"] < m[f"grad_ratio/{activations.COMPENSATED}/sigmoid"]
    assert all(0.0 <= m[f"test_acc/{a}"] <= 1.0 for a in activations.TRAINED)
    assert m["best_on_validation"] == max((a for a in activations.TRAINED if not a.startswith("sigmoid")),
                                          key=lambda a: m[f"val_acc/{a}"])
    assert not np.isnan(t["train_losses"].numpy()).any()
    assert math.isclose(m["derivative_at_0/relu"], 0.0)
