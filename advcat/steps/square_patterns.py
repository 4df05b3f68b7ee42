"""The Square attack's building blocks (Andriushchenko et al. 2020): square sizes and L2 patterns.

`square_fraction` is the paper's schedule of p, the fraction of pixels a square covers, halved at
fixed points of a 10,000-query budget rescaled to the run's length. The L2 attack fills squares
with a "meta pseudo-Gaussian" pattern: two stacked rectangles of opposite sign whose values fall
off in concentric rings, 1/(k+1)^2 summed over the rings k that cover a pixel.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: query counts (of 10,000) after which p is halved once more
_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def square_fraction(p_init: float, t: int, steps: int) -> float:
    """p at iteration t of `steps`: p_init halved at each mark of a 10,000-query schedule passed."""
    scaled = int(t / steps * 10000)
    if scaled > 10000:
        return p_init
    halvings = sum(scaled > mark for mark in _HALVINGS)
    return p_init / 2.0 ** halvings


def square_side(p: float, height: int, width: int, *, smallest: int = 1) -> int:
    """The side s of a square holding a fraction p of the image: round(sqrt(p * H * W)), clipped
    to [smallest, min(H, W) - 1] (at least 1)."""
    side = max(int(round(math.sqrt(p * height * width))), smallest)
    return max(1, min(side, min(height, width) - 1))


def rings(height: int, width: int, like: Tensor) -> Tensor:
    """A (height, width) pattern falling off in square rings around the centre, unit L2 norm."""
    if height == 0 or width == 0:
        return like.new_zeros((height, width))
    ch, cw = height // 2, width // 2
    count = max(ch, cw) + 1
    weights = 1.0 / torch.arange(1, count + 1, dtype=like.dtype, device=like.device).pow(2)
    tail = weights.flip(0).cumsum(0).flip(0)  # tail[d] = sum of the weights of rings d, d+1, ...
    rows = (torch.arange(height, device=like.device) - ch).abs()[:, None]
    cols = (torch.arange(width, device=like.device) - cw).abs()[None, :]
    pattern = tail[torch.maximum(rows, cols)]
    length: Tensor = pattern.norm()
    return pattern / length


def meta_pattern(side: int, like: Tensor) -> Tensor:
    """(side, side): a ring pattern on the top half, its negative on the bottom half, unit norm."""
    top = rings(side // 2, side, like)
    bottom = -rings(side - side // 2, side, like)
    pattern = torch.cat([top, bottom], 0)
    length: Tensor = pattern.norm()
    return pattern / length


def window_index(start_h: Tensor, start_w: Tensor, side: int, channels: int) -> tuple[Tensor, ...]:
    """Advanced-indexing tuple selecting an (n, C, side, side) window at per-sample corners."""
    n = start_h.shape[0]
    offsets = torch.arange(side, device=start_h.device)
    rows = (start_h[:, None] + offsets)[:, None, :, None]
    cols = (start_w[:, None] + offsets)[:, None, None, :]
    samples = torch.arange(n, device=start_h.device)[:, None, None, None]
    chans = torch.arange(channels, device=start_h.device)[None, :, None, None]
    return samples, chans, rows, cols


def window_mask(start_h: Tensor, start_w: Tensor, side: int, height: int, width: int) -> Tensor:
    """(n, 1, H, W) bool: True inside each sample's side x side window."""
    rows = torch.arange(height, device=start_h.device)[None, :]
    cols = torch.arange(width, device=start_h.device)[None, :]
    in_rows = (rows >= start_h[:, None]) & (rows < start_h[:, None] + side)
    in_cols = (cols >= start_w[:, None]) & (cols < start_w[:, None] + side)
    return (in_rows[:, :, None] & in_cols[:, None, :])[:, None]
