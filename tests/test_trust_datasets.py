"""The small named sets (foolbox's CIFAR-10 and Fashion-MNIST samples) load and evaluate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advcat
from advcat.evaluation.data import resolve_data

pytest.importorskip("foolbox")


def _model(channels: int, size: int) -> advcat.PixelModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 10))
    return advcat.wrap(net, mean=(0.5,) * channels, std=(0.25,) * channels, input_size=size,
                       classes=[f"c{i}" for i in range(10)])


@pytest.mark.parametrize(("name", "shape"), [("cifar10_samples", (20, 3, 32, 32)),
                                             ("fashion_mnist_samples", (20, 1, 28, 28))])
def test_small_named_sets_load_and_evaluate(name: str, shape: tuple[int, ...]) -> None:
    model = _model(shape[1], shape[2])
    points = resolve_data(name, model)
    x, y = points.fetch(torch.arange(points.size))
    assert tuple(x.shape) == shape
    assert y is not None and y.dtype == torch.long and int(y.min()) >= 0 and int(y.max()) <= 9
    report = advcat.evaluate(model, name, attacks="fast", eps=[1 / 255], sanity=False, progress=False)
    assert report is not None
