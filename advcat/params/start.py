"""Starting points for parameterizations: the start image and seeded noise.

Noise row i depends only on (seed, sample i, restart), never on the batch it lands in.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.core.rng import per_sample

#: keeps parameterization noise apart from the threats' random starts drawn from the same seed
_STREAM = 1_000_003


def start_noise(like: Tensor, index: Tensor, seed: int, restart: int, std: float) -> Tensor:
    """Normal noise shaped like `like` (n, ...), standard deviation `std`, one generator a row."""
    if std == 0:
        return like.new_zeros(like.shape)
    noise = per_sample("randn", tuple(like.shape[1:]), index, seed, _STREAM + restart,
                       device=like.device, dtype=like.dtype)
    return std * noise


def check_std(std: float) -> float:
    """A non-negative noise level, or a ValueError naming the bad value."""
    if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
        raise ValueError(f"std must be a number >= 0, got {std!r}")
    return float(std)


def start_image(shape: tuple[int, ...], index: Tensor, x0: Tensor | None) -> Tensor:
    """`x0`, or mid-grey images of `shape` when there is no starting image."""
    if x0 is not None:
        return x0
    return torch.full((index.shape[0], *shape), 0.5, device=index.device)
