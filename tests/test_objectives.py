"""The objective algebra and each objective's value on hand-made logits and images."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advcat import objectives as O
from advcat.core.context import Context


def _ctx(logits: torch.Tensor, x: torch.Tensor | None = None, index=None) -> Context:
    n = logits.shape[0]
    x = torch.zeros(n, 3, 4, 4) if x is None else x
    return Context(x=x, logits=logits, index=torch.arange(n) if index is None else index, x0=x)


LOGITS = torch.tensor([[2.0, 1.0, 0.5, -1.0], [0.0, 3.0, 1.0, 2.5]])


def test_class_objectives_match_their_formulas():
    y = torch.tensor([0, 3])
    ctx = _ctx(LOGITS)
    assert torch.allclose(O.ClassLogit(y)(ctx), torch.tensor([2.0, 2.5]))
    assert torch.allclose(O.CrossEntropy(y)(ctx), F.cross_entropy(LOGITS, y, reduction="none"))
    assert torch.allclose(O.Margin(y)(ctx), torch.tensor([1.0 - 2.0, 3.0 - 2.5]))
    # DLR untargeted: -(z_y - max_other) / (z_pi1 - z_pi3)
    expected = torch.tensor([-(2.0 - 1.0) / (2.0 - 0.5), -(2.5 - 3.0) / (3.0 - 1.0)])
    assert torch.allclose(O.DLR(y)(ctx), expected)
    t = torch.tensor([1, 1])
    expected_t = torch.tensor(
        [-(2.0 - 1.0) / (2.0 - (0.5 - 1.0) / 2), -(2.5 - 3.0) / (3.0 - (1.0 + 0.0) / 2)]
    )
    assert torch.allclose(O.DLR(y, target=t)(ctx), expected_t)


def test_algebra_combines_scores_and_descriptions():
    y = torch.tensor([0, 1])
    ctx = _ctx(LOGITS)
    goal = -O.CrossEntropy(y) - 0.05 * O.TotalVariation()
    expected = -O.CrossEntropy(y)(ctx) - 0.05 * O.TotalVariation()(ctx)
    assert torch.allclose(goal(ctx), expected)
    assert goal.describe() == "-CrossEntropy(y[2]) - 0.05*TotalVariation(L1)"
    weights = torch.tensor([1.0, 3.0])
    assert torch.allclose((weights * O.ClassLogit(1))(ctx), weights * LOGITS[:, 1])
    assert torch.allclose(sum([O.ClassLogit(0), O.ClassLogit(1)])(ctx), LOGITS[:, 0] + LOGITS[:, 1])
    assert torch.allclose((O.ClassLogit(0) / 2)(ctx), LOGITS[:, 0] / 2)


def test_per_sample_values_follow_the_index_after_compaction():
    y = torch.tensor([0, 1, 2, 3])
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0])
    ctx = _ctx(LOGITS, index=torch.tensor([3, 1]))  # rows are samples 3 and 1
    assert torch.allclose(O.ClassLogit(y)(ctx), torch.tensor([-1.0 * 0 + LOGITS[0, 3], LOGITS[1, 1]]))
    assert torch.allclose((weights * O.ClassLogit(0))(ctx), torch.tensor([4.0, 2.0]) * LOGITS[:, 0])


def test_objectives_are_immutable():
    goal = O.ClassLogit(3)
    with pytest.raises(AttributeError, match="immutable"):
        goal.y = 4  # type: ignore[misc]


def test_total_variation_and_lp_values():
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 0] = 1.0
    ctx = _ctx(torch.zeros(1, 3), x=x)
    # L1: vertical diffs |1-0|,|0-0| mean 0.5; horizontal the same
    assert torch.allclose(O.TotalVariation(1)(ctx), torch.tensor([1.0]))
    ref = torch.zeros(1, 1, 2, 2)
    assert torch.allclose(O.Lp(2, reference=ref)(ctx), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="p=1 or p=2"):
        O.TotalVariation(3)


def test_dlr_needs_enough_classes():
    ctx = _ctx(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least 4 classes"):
        O.DLR(torch.tensor([0, 1]), target=torch.tensor([1, 2]))(ctx)
    with pytest.raises(ValueError, match="at least 3 classes"):
        O.DLR(torch.tensor([0, 1]))(_ctx(torch.zeros(2, 2)))


def test_class_names_resolve_against_the_model_classes():
    ctx = Context(
        x=torch.zeros(1, 3, 2, 2),
        logits=LOGITS[:1],
        index=torch.arange(1),
        classes=("cat", "dog", "fox", "owl"),
    )
    assert torch.allclose(O.ClassLogit("fox")(ctx), LOGITS[:1, 2])
    with pytest.raises(ValueError, match="unknown class name"):
        O.ClassLogit("zebra")(ctx)


def test_diversity_rewards_different_activations():
    same = torch.ones(2, 3, 4, 4)
    different = torch.stack(
        [torch.ones(3, 4, 4), torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(0))]
    )
    goal = O.Diversity("layer")
    ctx_same = Context(x=same, logits=torch.zeros(2, 2), index=torch.arange(2), activations={"layer": same})
    ctx_diff = Context(
        x=same, logits=torch.zeros(2, 2), index=torch.arange(2), activations={"layer": different}
    )
    assert float(goal(ctx_same).mean()) < float(goal(ctx_diff).mean())
