"""Decorrelated colour: optimize in a basis where ImageNet's RGB channels are uncorrelated.

The fixed 3x3 matrix is the square root of ImageNet's colour covariance (the values Lucid uses),
scaled so its largest column has unit norm. Steps in this basis change colours the way photos
vary, which keeps synthesized images from drifting into saturated high-frequency colour noise.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.params.base import Param
from advcat.params.start import check_std, start_image, start_noise

_SQRT_COVARIANCE = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))
_EDGE = 1e-3


def _matrix(like: Tensor) -> Tensor:
    matrix = torch.tensor(_SQRT_COVARIANCE, dtype=torch.float64)
    column_norms: Tensor = matrix.norm(dim=0)
    matrix = matrix / column_norms.max()
    return matrix.to(device=like.device, dtype=like.dtype)


def _check_rgb(x: Tensor) -> None:
    if x.dim() < 2 or x.shape[1] != 3:
        raise ValueError(
            f"decorrelated colour needs 3-channel (n, 3, ...) tensors, got {tuple(x.shape)}")


def correlate(z: Tensor) -> Tensor:
    """Decorrelated-basis values (n, 3, ...) to RGB-basis values (before the sigmoid)."""
    _check_rgb(z)
    return torch.einsum("ij,nj...->ni...", _matrix(z), z)


def decorrelate(x: Tensor) -> Tensor:
    """The inverse of `correlate`: RGB-basis values to the decorrelated basis."""
    _check_rgb(x)
    return torch.einsum("ij,nj...->ni...", torch.linalg.inv(_matrix(x)), x)


def logit(x: Tensor) -> Tensor:
    """The inverse sigmoid of images, clipped away from 0 and 1 so that it stays finite."""
    return torch.logit(x.clamp(_EDGE, 1 - _EDGE))


class Decorrelated(Param):
    """Pixels in the decorrelated colour basis, mapped to [0, 1] by a sigmoid.

    Starts at `x0` (the engine's starting image; mid-grey for synthesis from noise) plus normal
    noise of `std` in the variable's units.
    """

    default_lr = 0.05

    def __init__(self, std: float = 0.01) -> None:
        self.std = check_std(std)

    def __repr__(self) -> str:
        return f"Decorrelated(std={self.std:g})"

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """decorrelate(logit(x0)) plus seeded noise."""
        base = start_image(shape, index, x0)
        z = decorrelate(logit(base))
        return z + start_noise(z, index, seed, restart, self.std)

    def to_image(self, z: Tensor) -> Tensor:
        """sigmoid(correlate(z))."""
        return torch.sigmoid(correlate(z))

