"""Issue 16: APGD-T can try targets by MALT's linearized boundary distance instead of by logit,
and on a model where the two disagree the nearer boundary is the one that breaks the point."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advcat
from advcat.attacks import make_attack
from advcat.attacks.target_order import by_linear_distance, by_logits


def _linear_model() -> advcat.PixelModel:
    """Logits on a grey 4x4 image: label 0 at 1.0; class 1 at 0.9 but its boundary 0.625 away in
    L-inf (its weights barely differ from class 0's); class 2 at 0.5 with its boundary 0.031 away."""
    layer = nn.Linear(16, 4)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[1] = 0.01
        layer.weight[2] = 1.0
        layer.bias.copy_(torch.tensor([1.0, 0.9 - 0.08, 0.5 - 8.0, -5.0]))
    return advcat.wrap(nn.Sequential(nn.Flatten(), layer), mean=[0.0], std=[1.0], input_size=4,
                       name="linear")


def test_malt_ranks_the_nearest_boundary_first_where_logits_rank_the_highest() -> None:
    model = _linear_model()
    x = torch.full((2, 1, 4, 4), 0.5)
    labels = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        clean = model(x)
    assert by_logits(clean, labels)[0].tolist() == [1, 2, 3]
    assert by_linear_distance(model, x, labels, clean, "linf", 3, None)[0].tolist()[:2] == [2, 1]
    assert by_linear_distance(model, x, labels, clean, "linf", 3, 1).tolist() == \
        by_linear_distance(model, x, labels, clean, "linf", 3, None).tolist()  # chunking changes nothing


def test_one_malt_target_breaks_what_one_logit_target_cannot() -> None:
    model = _linear_model()
    x = torch.full((3, 1, 4, 4), 0.5)
    y = torch.zeros(3, dtype=torch.long)
    logit = make_attack("apgd_t", eps=0.05, steps=20, n_target_classes=1)(model, x, y)
    malt = make_attack("apgd_t", eps=0.05, steps=20, n_target_classes=1, order="malt")(model, x, y)
    assert not bool(logit.success.any()) and bool(malt.success.all())
    assert bool((malt.norms <= 0.05 + 1e-6).all())


def test_an_unknown_order_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="order must be one of"):
        make_attack("apgd_t", order="closest")
