"""The words the theory essays choose from their numbers, on small synthetic inputs, including the cases
the essays once got wrong (issue 16): a transferred model below the unadapted one, L2 vs weight decay
with momentum, augmentation sharing the batch-order generator, the sigmoid's uncompensated gain, a
"best" chosen on test, one-shot accuracy mixing seen and unseen digits."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hw3 import compare
from hw3.theory import activations, common, layers, regularization, siamese, transfer


@pytest.mark.parametrize("cls", [transfer.TransferFacts, layers.LayersFacts, regularization.RegularizationFacts,
                                 siamese.SiameseFacts, activations.ActivationsFacts])
def test_facts_are_frozen_dataclasses(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


# --- transfer ----------------------------------------------------------------------------------------


def test_transfer_side_comes_from_the_comparison():
    above = compare.paired([1, 1, 1, 1, 0] * 40, [0, 0, 1, 0, 0] * 40)
    below = above.flipped()
    level = compare.paired([1, 0] * 50, [0, 1] * 50)
    assert transfer.side(above) == "clearly above"
    assert transfer.side(below) == "clearly below"  # e.g. an adapted model under the unadapted source model
    assert transfer.side(level) == "not clearly different from"


def test_source_head_methods_start_at_the_source_model_and_new_heads_do_not():
    """The near-domain flaw: every method used to start from a random head although the labels match."""
    torch.manual_seed(0)
    source = transfer.DigitCNN()
    X, y = torch.rand(40, 1, 28, 28), torch.arange(10).repeat(4)
    with torch.no_grad():
        y = source(X).argmax(1)  # labels the source model gets right: its step-0 accuracy is 1
    config = dataclasses.replace(transfer.TransferConfig(), adapt_steps=4, eval_every=2)
    for method in ("linear probe", "fine-tune"):
        val, test, _, correct = transfer.adapt(source, method, X, y, X, y, X, y, config, "cpu")
        assert val[0] == 1.0 and test[0] == 1.0 and correct.shape == (3, 40)
    torch.manual_seed(1)
    _, test, _, _ = transfer.adapt(source, "fine-tune, new head", X, y, X, y, X, y, config, "cpu")
    assert test[0] < 0.5


def test_adaptation_methods_train_what_they_claim():
    torch.manual_seed(0)
    source = transfer.DigitCNN()
    X, y = torch.rand(20, 1, 28, 28), torch.arange(10).repeat(2)
    config = dataclasses.replace(transfer.TransferConfig(), adapt_steps=4, eval_every=2)
    everything = common.count_params(source)
    expected = {"linear probe": 64 * 10 + 10, "fine-tune": everything, "fine-tune, new head": everything,
                "LP-FT, new head": everything, "from scratch": everything}
    body_before = [p.clone() for p in source.body.parameters()]
    for method, n in expected.items():
        val, test, trainable, correct = transfer.adapt(source, method, X, y, X, y, X, y, config, "cpu")
        assert trainable == n
        assert len(test) == len(val) == 3 and all(0.0 <= a <= 1.0 for a in test)  # steps 0, 2, 4
    assert all(torch.equal(a, b) for a, b in zip(body_before, source.body.parameters(), strict=True))
    with pytest.raises(ValueError):
        transfer.adapt(source, "source only", X, y, X, y, X, y, config, "cpu")


def test_the_step_is_chosen_on_validation_earliest_first():
    val = torch.tensor([[0.8, 0.7, 0.6], [0.5, 0.9, 0.9], [0.1, 0.2, 0.3]])
    assert transfer.chosen_step(val).tolist() == [0, 1, 2]  # step 0 (no adaptation) can win


# --- regularization ----------------------------------------------------------------------------------


def test_l2_and_weight_decay_differ_with_momentum_and_agree_without():
    """PyTorch's SGD weight_decay is the L2 gradient term, which enters the momentum buffer; decoupled weight
    decay (SGDW) shrinks the weights outside it. Plain SGD: the same update; with momentum: not."""
    lr, lam = 0.1, 0.05

    def train(momentum: float, decoupled: bool) -> torch.Tensor:
        torch.manual_seed(0)
        w = nn.Parameter(torch.randn(5))
        opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=0.0 if decoupled else lam)
        for _ in range(5):
            loss = (w * torch.arange(5.0)).sum() ** 2 / 10
            opt.zero_grad()
            loss.backward()
            if decoupled:
                with torch.no_grad():
                    w.mul_(1 - lr * lam)
            opt.step()
        return w.detach()

    torch.testing.assert_close(train(0.0, False), train(0.0, True), rtol=1e-4, atol=1e-6)
    assert not torch.allclose(train(0.9, False), train(0.9, True), rtol=1e-3, atol=1e-4)


def test_augmentation_does_not_change_the_batch_order():
    """The augmented variant used to draw its transforms from the batch-order generator."""
    X, y = torch.rand(30, 1, 28, 28), torch.randint(0, 10, (30,))
    aug_g = torch.Generator().manual_seed(5)
    states = []
    for augment in (None, lambda X_b: common.random_affine(X_b, aug_g)):
        torch.manual_seed(0)
        model = regularization.MLP(8)
        g = torch.Generator().manual_seed(0)
        common.fit_epoch(model, torch.optim.SGD(model.parameters(), lr=0.01), X, y, batch_size=10, generator=g,
                         augment=augment)
        states.append(g.get_state())
    assert torch.equal(states[0], states[1])


def test_best_regularizer_is_chosen_on_validation_not_test():
    metrics = {"variants": ["none", "a", "b"], "val_acc/none": 0.5, "val_acc/a": 0.9, "val_acc/b": 0.8,
               "test_acc/none": 0.5, "test_acc/a": 0.7, "test_acc/b": 0.95}
    assert regularization.best_on_validation(metrics) == "a"


def test_regularization_verdict_names_every_variant_once():
    text = regularization.verdict(["data augmentation"], ["early stopping"], ["dropout", "L2 penalty"], 4)
    assert text == ("Data augmentation clearly raises test accuracy; early stopping clearly lowers it; for the "
                    "other two (dropout and L2 penalty) the 95% interval of the difference includes zero.")
    assert regularization.verdict([], [], ["a", "b"], 2) == \
        "For none of the 2 techniques does the 95% interval of the difference exclude zero."
    # "within the spread over seeds" misread a 95% interval of the mean difference as the seeds' spread
    assert "spread" not in text


def test_pytorch_weight_decay_is_called_an_l2_penalty():
    """SGD(weight_decay=...) adds lambda * w to the gradient before momentum: an L2 penalty, not SGDW."""
    assert regularization.label("weight decay") == "L2 penalty"
    assert regularization.label("dropout") == "dropout"


def test_regularization_ahead_of():
    hi, same = compare.seeds([0.9, 0.91, 0.92], [0.5, 0.51, 0.52]), compare.seeds([0.5, 0.6, 0.7], [0.55, 0.6, 0.65])
    assert regularization.ahead_of({"a": hi, "b": hi}) == "clearly ahead of every other technique"
    assert regularization.ahead_of({"a": hi, "b": same}) == "clearly ahead of a, not clearly of b"
    assert regularization.ahead_of({"a": same}) == "not clearly ahead of any other technique"


# --- activations -------------------------------------------------------------------------------------


def test_sigmoid_recommended_gain_is_1_and_the_compensated_gain_restores_the_gradient():
    """calculate_gain('sigmoid') = 1 does not compensate sigma' <= 1/4: it must not be called matched."""
    assert activations.gain("sigmoid") == 1.0
    assert "gain-matched" not in activations.INITS
    torch.manual_seed(0)
    X, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    ratios = {}
    for init in ("recommended gain", activations.COMPENSATED):
        torch.manual_seed(0)
        model = activations.DeepMLP("sigmoid", depth=10, width=64, init=init)
        w = model.linears[1].weight
        expected = activations.SIGMOID_GAIN if init == activations.COMPENSATED else 1.0
        assert w.std().item() == pytest.approx(expected / 64**0.5, rel=0.1)
        n = activations.layer_grad_norms(model, X, y)
        ratios[init] = (n[1] / n[-2]).item()
    assert ratios[activations.COMPENSATED] > 100 * ratios["recommended gain"]
    with pytest.raises(ValueError):
        activations.DeepMLP("relu", init=activations.COMPENSATED)


def test_log_ratios_compare_layer_2_with_the_last_hidden_layer_per_initialisation():
    norms = torch.tensor([[5.0, 1e-3, 1.0, 1.0, 10.0, 2.0], [5.0, 1e-2, 1.0, 1.0, 1.0, 7.0]])  # (init, layer)
    assert activations.log_ratios(norms) == pytest.approx([-4.0, -2.0])


def test_learns_and_ahead_of_words():
    assert activations.learns(2.30, 2.3026) == "does not learn"
    assert activations.learns(0.3, 2.3026) == "learns"
    assert activations.learns(1.9, 2.3026) == "learns only slowly"
    hi = compare.seeds([0.95, 0.951, 0.952], [0.90, 0.901, 0.902])
    same = compare.seeds([0.9, 0.95, 0.92], [0.91, 0.93, 0.94])
    labels = activations.LABELS
    assert activations.ahead_of({"relu": hi, "gelu": hi}, labels) == "clearly ahead of every other one"
    assert activations.ahead_of({"relu": hi, "gelu": same}, labels) == "clearly ahead of ReLU, not clearly of GELU"
    assert activations.ahead_of({"relu": same}, labels) == "not clearly ahead of any other"


def test_figures_take_their_colours_from_the_current_style():
    """Dark mode: figure colours come from the style's cycle; the reference grey reads on either background."""
    from hw3 import plots

    with plots.style("light"):
        assert common.palette() == plots.OKABE_ITO and common.neutral() == "#767676"
    with plots.style("dark"):
        assert common.palette() == plots.OKABE_ITO_DARK and common.neutral() == "#A0A0A0"


def test_sci_prints_no_markdown():
    assert common.sci(4.7e-05) == "4.7 × 10⁻⁵"
    assert common.sci(0.0106) == "0.0106"
    assert "^" not in common.sci(1e-7)


# --- siamese -----------------------------------------------------------------------------------------


def test_held_out_digits_are_several_and_differ_between_seeds():
    """Two held-out digits made held-out verification a single 8-vs-9 contrast."""
    sets = [siamese.held_out_digits(4, s) for s in range(3)]
    assert all(len(set(h)) == 4 and h == sorted(h) and all(0 <= d <= 9 for d in h) for h in sets)
    assert len({tuple(h) for h in sets}) > 1
    assert siamese.held_out_digits(4, 0) == siamese.held_out_digits(4, 0)


def test_digits_held_out_in_every_run_are_named():
    f = object.__new__(siamese.SiameseFacts)
    object.__setattr__(f, "num_runs", 3)
    object.__setattr__(f, "held_out_in_every_run", [1, 5])
    assert f.held_out_note == "; 1 and 5 are held out in all three, so the held-out results lean on them"
    object.__setattr__(f, "held_out_in_every_run", [])
    assert f.held_out_note == ""


def test_one_shot_on_a_group_uses_only_that_groups_classes():
    y = torch.arange(10).repeat_interleave(20)
    Z = F.one_hot(y, 10).float() * 10
    held = torch.isin(y, torch.tensor([6, 7, 8, 9]))
    assert siamese.one_shot_accuracy(Z[held], y[held], episodes=3, seed=0) == 1.0


# --- layers ------------------------------------------------------------------------------------------


def test_layers_paired_words():
    N = 400
    cnn = torch.ones(2, N, dtype=torch.uint8)  # right on every digit, shifted or not
    mlp = torch.ones(2, N, dtype=torch.uint8)
    mlp[0, :40] = 0  # wrong on 10% of the unshifted digits
    mlp[1, :200] = 0  # and on half of the shifted ones
    same = cnn.clone()
    t = {"test_correct": torch.stack([cnn, mlp, same]), "shift_acc": torch.tensor([[1.0, 1.0], [0.9, 0.5],
                                                                                   [1.0, 1.0]])}
    acc, acc_word, drop, drop_word, above = layers.paired_words(t, ["CNN", "MLP", "twin"])
    assert acc_word == {"MLP": "more accurate than", "twin": "not clearly different from"}
    assert drop_word == {"MLP": "loses less than", "twin": "loses about as much as"}
    assert not above  # the twin ties the CNN


def test_weight_decay_reading_only_when_supported():
    same = compare.seeds([0.89, 0.895, 0.892], [0.891, 0.893, 0.890])
    lower = compare.seeds([0.35, 0.36, 0.355], [0.58, 0.57, 0.59])
    assert "confident" in regularization.weight_decay_reading(same, lower)
    assert regularization.weight_decay_reading(lower, lower) == ""  # accuracy changed: no such reading
    assert regularization.weight_decay_reading(same, same) == ""
