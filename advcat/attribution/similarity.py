"""How alike two attribution maps are, per sample: Spearman rank correlation, top-k overlap, SSIM.

These are the measures papers use to say how far an attack (or a randomized model) moved an
explanation (Ghorbani et al. 2019; Adebayo et al. 2018). Inputs are (N, 1, H, W) maps or any
(N, ...) tensors compared pixel by pixel.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    if a.shape != b.shape:
        raise ValueError(
            f"maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.dim() < 2:
        raise ValueError(f"maps must be batched (N, ...), got shape {tuple(a.shape)}")
    return a.detach().flatten(1).double(), b.detach().flatten(1).double()


def rank(values: Tensor) -> Tensor:
    """Ranks (0-based) of each row's values, ties given their average rank."""
    ranks = torch.empty_like(values, dtype=torch.float64)
    for i, row in enumerate(values):
        ordered, order = row.sort()
        _, inverse, counts = torch.unique_consecutive(ordered, return_inverse=True,
                                                      return_counts=True)
        ends = counts.cumsum(0)
        average = (ends - counts + ends - 1).double() / 2
        ranks[i, order] = average[inverse]
    return ranks


def _pearson(a: Tensor, b: Tensor) -> Tensor:
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    a_length: Tensor = a.norm(dim=1)
    b_length: Tensor = b.norm(dim=1)
    denominator = (a_length * b_length).clamp_min(1e-300)
    return (a * b).sum(dim=1) / denominator


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample Spearman rank correlation between two maps, in [-1, 1]; shape (N,).

    A constant map has no ranking; its correlation is reported as 0.
    """
    fa, fb = _pair(a, b)
    return _pearson(rank(fa), rank(fb)).float()


def top_k_count(k: int | float, pixels: int) -> int:
    """`k` as a number of pixels: an int is a count, a float in (0, 1] a fraction of the map."""
    if isinstance(k, bool) or not isinstance(k, (int, float)):
        raise TypeError(f"k must be an int (pixels) or a float (fraction), got {k!r}")
    if isinstance(k, float):
        if not 0.0 < k <= 1.0:
            raise ValueError(f"a fractional k must lie in (0, 1], got {k}")
        return max(1, round(k * pixels))
    if not 1 <= k <= pixels:
        raise ValueError(f"k must be between 1 and the {pixels} pixels of the map, got {k}")
    return k


def top_k_overlap(a: Tensor, b: Tensor, k: int | float = 0.05) -> Tensor:
    """Per-sample share of the k highest pixels of `a` that are also among the k highest of `b`."""
    fa, fb = _pair(a, b)
    count = top_k_count(k, fa.shape[1])
    top_a = torch.zeros_like(fa, dtype=torch.bool).scatter_(1, fa.topk(count, dim=1).indices, True)
    top_b = torch.zeros_like(fb, dtype=torch.bool).scatter_(1, fb.topk(count, dim=1).indices, True)
    return ((top_a & top_b).sum(dim=1).double() / count).float()


def _unit(maps: Tensor) -> Tensor:
    flat = maps.flatten(1)
    low = flat.min(dim=1, keepdim=True).values
    span = (flat.max(dim=1, keepdim=True).values - low).clamp_min(1e-12)
    return ((flat - low) / span).view_as(maps)


def ssim(a: Tensor, b: Tensor, window: int = 11) -> Tensor:
    """Per-sample structural similarity of two (N, 1, H, W) maps, each scaled to [0, 1] first."""
    from kornia.metrics import ssim as kornia_ssim

    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"ssim needs two (N, C, H, W) maps of one shape, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    side = min(a.shape[-2:])
    size = min(window, side if side % 2 else side - 1)
    if size < 1:
        raise ValueError(f"maps of size {tuple(a.shape[-2:])} are too small for SSIM")
    ua, ub = _unit(a.detach().float()), _unit(b.detach().float())
    return kornia_ssim(ua, ub, size, max_val=1.0).mean(dim=(1, 2, 3))
