"""The tanh change of variables of Carlini & Wagner (2017): image = (tanh(w) + 1) / 2.

Any real w gives a valid image, so an unconstrained optimizer (Adam) never leaves the [0, 1] box
and pixels near 0 or 1 move with a vanishing gradient instead of sticking at a clip.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.params.base import Param
from advcat.params.start import start_image


class Tanh(Param):
    """w in R^(C, H, W) with image = (tanh(w) + 1) / 2, starting exactly at `x0` (no noise).

    `edge` shrinks images towards 0.5 by that fraction before the inverse so that pixels at
    exactly 0 or 1 map to a finite w; the start then differs from x0 by at most edge / 2 a pixel.
    """

    default_lr = 0.01

    def __init__(self, edge: float = 1e-6) -> None:
        if isinstance(edge, bool) or not isinstance(edge, (int, float)) or not 0 < edge < 1:
            raise ValueError(f"edge must be a number in (0, 1), got {edge!r}")
        self.edge = float(edge)

    def __repr__(self) -> str:
        return f"Tanh(edge={self.edge:g})"

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """atanh of x0 mapped to (-1, 1): the variable whose image is x0."""
        base = start_image(shape, index, x0)
        return torch.atanh((2.0 * base - 1.0) * (1.0 - self.edge))

    def to_image(self, z: Tensor) -> Tensor:
        """(tanh(w) + 1) / 2, in [0, 1]."""
        return (torch.tanh(z) + 1.0) / 2.0
