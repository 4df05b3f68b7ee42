"""Issue 17: feature visualization beyond classes, through the existing objectives: a channel atlas
of a layer in one batched run, per-image channel objectives, and a direction objective."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from figure_layout import layout_problems
from torch import nn

import advcat
from advcat import objectives as O
from advcat.synthesis import channel_atlas, visualize_channel
from advcat.viz import figure

FAST = {"param": "pixel", "transforms": None, "steps": 30, "progress": False}


@pytest.fixture
def named_cnn() -> advcat.PixelModel:
    torch.manual_seed(0)
    net = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 8, 3, padding=1), relu1=nn.ReLU(), conv2=nn.Conv2d(8, 6, 3, padding=1),
        relu2=nn.ReLU(), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=nn.Linear(6, 4),
    ))
    return advcat.wrap(net, mean=(0.5,) * 3, std=(0.25,) * 3, input_size=16, classes=["a", "b", "c", "d"])


def _channel_means(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with advcat.models.tap(model, ["conv2"]) as acts, torch.no_grad():
        model.eval()(images)
    return acts["conv2"].mean(dim=(2, 3))


def test_an_atlas_has_one_image_per_channel_each_exciting_its_own(named_cnn) -> None:  # noqa: ANN001
    atlas = channel_atlas(named_cnn, "conv2", **FAST)
    assert atlas.images.shape == (6, 3, 16, 16)
    assert atlas.names == [f"conv2 channel {c}" for c in range(6)]
    means = _channel_means(named_cnn, atlas.images)
    own = means.diagonal()
    others = (means.sum(0) - own) / 5
    assert int((own > others).sum()) >= 5, (own, others)
    assert layout_problems(figure(atlas)) == []
    assert all(t.get_text().startswith("conv2 channel") for t in (ax.title for ax in figure(atlas).axes)
               if t.get_text())


def test_an_atlas_image_does_not_depend_on_how_many_channels_were_asked(named_cnn) -> None:  # noqa: ANN001
    three = channel_atlas(named_cnn, "conv2", channels=3, **FAST)
    alone = visualize_channel(named_cnn, "conv2", [0, 1, 2], **FAST)
    assert three.images.shape[0] == 3 and torch.allclose(three.images, alone.images, atol=1e-5)


def test_a_direction_along_one_channel_scores_as_that_channel(named_cnn) -> None:  # noqa: ANN001
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    one_hot = torch.zeros(6)
    one_hot[2] = 3.0
    ctx_scores = []
    for objective in (O.Direction("conv2", one_hot), O.Channel("conv2", 2)):
        result = advcat.optimize(named_cnn, images, objective, step=advcat.steps.Sign(0.0),
                                 threat=advcat.threats.Linf(0.0), steps=1)
        ctx_scores.append(result.score)
    assert torch.allclose(ctx_scores[0], ctx_scores[1], atol=1e-5)
    mixed = torch.tensor([1.0, -1.0, 0.0, 0.5, 0.0, 2.0])
    made = advcat.synthesize(named_cnn, objective=O.Direction("conv2", mixed), **FAST)
    grey = _channel_means(named_cnn, torch.full((1, 3, 16, 16), 0.5))
    assert float(_channel_means(named_cnn, made.images) @ mixed) > float(grey @ mixed)


@pytest.mark.parametrize("bad, match", [
    (lambda: O.Channel("conv2", torch.tensor([0.5])), "integer tensor"),
    (lambda: O.Direction("conv2", torch.zeros(6)), "zero"),
    (lambda: O.Direction("conv2", torch.tensor([float("nan")] * 6)), "finite"),
])
def test_bad_units_are_refused(bad, match) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        bad()
