"""The words the theory essays choose from their numbers, on small synthetic inputs."""

import dataclasses

import pytest

from hw3.theory import activations, layers, regularization, siamese, transfer


@pytest.mark.parametrize("cls", [transfer.TransferFacts, layers.LayersFacts, regularization.RegularizationFacts,
                                 siamese.SiameseFacts, activations.ActivationsFacts])
def test_facts_are_frozen_dataclasses(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def test_transfer_side():
    assert transfer.side(0.02) == "above" and transfer.side(0.0) == "above" and transfer.side(-0.01) == "below"


def test_regularization_also_helped_agrees_in_number():
    assert regularization.also_helped(["dropout"], "dropout") == ("No other technique", "help")
    assert regularization.also_helped(["dropout", "weight decay"], "dropout") == ("Weight decay", "helps")
    assert regularization.also_helped(["a", "b", "c"], "c") == ("A and b", "help")
