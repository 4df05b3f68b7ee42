"""One success rule (issue 15, item 5): the engine's criteria, the attack's final verdict and the
transfer rate on the source model itself agree, targeted and untargeted."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model

import advcat
from advcat.attacks import transfer_rate
from advcat.core.criteria import Hits, Misclassified, goal_reached


def test_the_rule_on_hand_picked_predictions() -> None:
    predictions, labels, target = torch.tensor([0, 1, 2]), torch.tensor([0, 0, 0]), torch.tensor([0, 1, 1])
    assert goal_reached(predictions, labels, None).tolist() == [False, True, True]
    assert goal_reached(predictions, labels, target).tolist() == [True, True, False]


def test_criteria_follow_the_rule_through_the_index() -> None:
    logits = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    labels, index = torch.tensor([3, 1, 4, 0, 2, 2]), torch.tensor([5, 0, 2, 3])
    predictions = logits.argmax(1)
    assert torch.equal(Misclassified(labels)(logits, index), goal_reached(predictions, labels[index], None))
    assert torch.equal(Hits(labels)(logits, index), predictions == labels[index])


@pytest.fixture(scope="module")
def model() -> advcat.PixelModel:
    return trained_digits_model()


@pytest.mark.parametrize("target", [None, "random"])
def test_the_verdict_and_the_transfer_rate_on_the_same_model_agree(model, target) -> None:  # noqa: ANN001
    _, _, x, y = digits()
    result = advcat.attack(model, x[:24], y[:24], eps=0.1, steps=5, target=target)
    assert 0 < int(result.success.sum()) < 24, "a mix of broken and unbroken points"
    with torch.no_grad():
        predictions = model(result.adv).argmax(1)
    assert torch.equal(result.success, goal_reached(predictions, result.labels, result.target))
    rate = transfer_rate(result, model, successful_only=False)
    assert rate == pytest.approx(float(result.success.float().mean()))
