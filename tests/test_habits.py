"""Issue 14: the torchattacks habit (model in the constructor, attack(x, y)) gets a message that
says how advcat takes it, not "unknown norm PixelModel(...)"."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import advcat
from advcat import UnwrappedModelWarning
from advcat.attacks import MIFGSM, PGD


def test_a_model_given_to_the_constructor_is_explained(tiny_cnn) -> None:  # noqa: ANN001
    expected = r"takes settings, not the model.*PGD\(eps=\.\.\.\)\(model, x, y\)"
    with pytest.raises(TypeError, match=expected) as caught:
        PGD(tiny_cnn, eps=8 / 255)
    assert "Conv2d" not in str(caught.value)


def test_a_call_without_the_model_is_explained() -> None:
    with pytest.raises(TypeError, match=r"attack\(model, x, y\), not attack\(x, y\)"):
        PGD(eps=8 / 255)(torch.rand(1, 3, 16, 16), torch.tensor([1]))  # type: ignore[arg-type]


def test_alpha_is_torchattacks_name_for_the_step_size() -> None:
    assert PGD(eps=8 / 255, alpha=2 / 255, steps=10).step_size == pytest.approx(2 / 255)
    assert MIFGSM(eps=8 / 255, alpha=1 / 255).step_size == pytest.approx(1 / 255)
    with pytest.raises(TypeError, match="step_size= or alpha="):
        PGD(eps=8 / 255, alpha=2 / 255, step_size=1 / 255)


def test_alpha_reaches_the_attack_through_the_front_door(tiny_cnn) -> None:  # noqa: ANN001
    x = torch.rand(2, 3, 16, 16)
    res = advcat.attack(tiny_cnn, x, method="pgd", eps=4 / 255, alpha=1 / 255, steps=3)
    assert res.config["step_size"] == pytest.approx(1 / 255)


def test_torchattacks_positional_order_is_explained() -> None:
    with pytest.raises(TypeError, match=r"first setting is the norm.*got 0\.03.*PGD\(eps=8/255"):
        PGD(8 / 255, 2 / 255, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("labels", [3, [3, 3], (3, 3), torch.tensor(3)])
def test_labels_as_an_int_or_a_list(tiny_cnn, labels) -> None:  # noqa: ANN001
    x = torch.rand(2, 3, 16, 16)
    res = advcat.attack(tiny_cnn, x, labels, eps=2 / 255, steps=2)
    assert res.labels.tolist() == [3, 3]


@pytest.mark.parametrize(("labels", "message"), [
    (3.0, "class indices"), ([1.5, 2.0], "integer class indices"), ([1, 2, 3], r"shape \(2,\)"),
    (True, "class indices"), (12, r"outside \[0, 9\]"),
])
def test_bad_int_or_list_labels_are_refused_by_name(tiny_cnn, labels, message) -> None:  # noqa: ANN001
    with pytest.raises((TypeError, ValueError), match=message):
        advcat.attack(tiny_cnn, torch.rand(2, 3, 16, 16), labels, eps=2 / 255, steps=1)


def _plain_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))


def test_a_plain_module_is_warned_about_once_at_the_users_line() -> None:
    plain = _plain_cnn()
    x = torch.rand(2, 3, 16, 16)
    with pytest.warns(UnwrappedModelWarning, match=r"advcat\.wrap") as caught:
        advcat.attack(plain, x, eps=2 / 255, steps=1)
    assert [w.filename for w in caught if w.category is UnwrappedModelWarning] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnwrappedModelWarning)
        advcat.attack(plain, x, eps=2 / 255, steps=1)
        advcat.attribute(plain, x, method="saliency")


def test_wrapped_models_and_wrappers_around_them_are_not_warned_about(tiny_cnn) -> None:  # noqa: ANN001
    x = torch.rand(2, 3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnwrappedModelWarning)
        advcat.attack(tiny_cnn, x, eps=2 / 255, steps=1)
        advcat.attack(nn.Sequential(advcat.bpda(nn.Identity()), tiny_cnn), x, eps=2 / 255, steps=1)
