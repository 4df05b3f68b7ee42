"""A small CNN trained on scikit-learn's 8x8 digits, shared by the attack tests (trained once)."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor, nn

import advcat


class DigitsNet(nn.Module):
    """Two small convolutions and a linear head for 1x8x8 images."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


@lru_cache(maxsize=1)
def digits() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x_train, y_train, x_test, y_test): real handwritten digits in [0, 1], a fixed split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


@lru_cache(maxsize=1)
def trained_digits_model() -> advcat.PixelModel:
    """The DigitsNet trained for a few epochs (about 97% test accuracy), in pixel space."""
    torch.manual_seed(0)
    x, y, _, _ = digits()
    net = DigitsNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(15):
        for i in range(0, len(y), 64):
            loss = nn.functional.cross_entropy(net(x[i : i + 64]), y[i : i + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return advcat.wrap(
        net, mean=[0.0], std=[1.0], name="digits", input_size=8, classes=[str(i) for i in range(10)]
    )
