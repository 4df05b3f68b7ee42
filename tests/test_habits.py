"""Issue 14: the torchattacks habit (model in the constructor, attack(x, y)) gets a message that
says how advcat takes it, not "unknown norm PixelModel(...)"."""

from __future__ import annotations

import pytest
import torch

from advcat.attacks import PGD


def test_a_model_given_to_the_constructor_is_explained(tiny_cnn) -> None:  # noqa: ANN001
    expected = r"takes settings, not the model.*PGD\(eps=\.\.\.\)\(model, x, y\)"
    with pytest.raises(TypeError, match=expected) as caught:
        PGD(tiny_cnn, eps=8 / 255)
    assert "Conv2d" not in str(caught.value)


def test_a_call_without_the_model_is_explained() -> None:
    with pytest.raises(TypeError, match=r"attack\(model, x, y\), not attack\(x, y\)"):
        PGD(eps=8 / 255)(torch.rand(1, 3, 16, 16), torch.tensor([1]))  # type: ignore[arg-type]
