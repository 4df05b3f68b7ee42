"""Shared fixtures: the embedded default model (loaded once) and a tiny seeded pixel-space CNN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advcat

# The CI machine has 2 cores; more threads only contend.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def default_model() -> advcat.PixelModel:
    """The embedded EfficientNet-Lite0, loaded once for the whole session."""
    return advcat.load_model()


@pytest.fixture
def tiny_cnn() -> advcat.PixelModel:
    """A small random CNN in pixel space: (N, 3, 16, 16) in [0, 1] -> 10 logits, seeded."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(16, 10),
    )
    return advcat.wrap(net, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), name="tiny_cnn",
                       input_size=16, classes=[f"class{i}" for i in range(10)])
