"""The L2 ball intersected with the [0, 1] box, with the exact Euclidean projection onto both.

Clipping after scaling is not the projection onto the intersection. The KKT conditions of
min ||d - v||^2 s.t. ||d||_2 <= eps, lo <= d <= hi (lo <= 0 <= hi) give d = clip(s * v, lo, hi) with
s = 1 / (1 + lambda) in (0, 1], s the root of f(s) = ||clip(s v)||^2 = eps^2. A coordinate clipped at
scale s stays clipped at every larger s, so f(t) <= C_k + t^2 R_k for t >= s_k (C_k: the clipped
coordinates' bound^2, R_k: the others' v^2). Solving C_k + t^2 R_k = eps^2 gives s_{k+1} with
s_k <= s_{k+1} <= s: every iterate is feasible, the clipped set only grows, and when it stops
growing s_{k+1} is the exact root (usually after one to three rounds).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.core.rng import per_sample
from advcat.threats.base import Threat, rounding_slack

_MAX_ROUNDS = 1000


def project_l2_box(v: Tensor, lo: Tensor, hi: Tensor, eps: Tensor) -> Tensor:
    """Row-wise argmin ||d - v||_2 over ||d||_2 <= eps[i], lo <= d <= hi (needs lo <= 0 <= hi)."""
    n = v.shape[0]
    flat, low, high = v.reshape(n, -1), lo.reshape(n, -1), hi.reshape(n, -1)
    out = torch.maximum(torch.minimum(flat, high), low)
    over = out.norm(dim=1) > eps
    if bool(over.any()):
        rows = over.nonzero().squeeze(1)
        radius = eps[rows].double() * rounding_slack(out.dtype)
        out[rows] = _shrink(flat[rows], low[rows], high[rows], radius)
    return out.view_as(v)


def _shrink(v: Tensor, lo: Tensor, hi: Tensor, radius: Tensor) -> Tensor:
    """clip(s v, lo, hi) with ||clip(s v)|| = radius, for rows whose clipped v is longer."""
    size = v.abs()
    bound = torch.where(v > 0, hi, -lo)
    size2, bound2 = size * size, bound * bound
    total = size2.sum(1, keepdim=True, dtype=torch.float64)
    radius2 = radius.unsqueeze(1).square()
    scale = (radius2 / total.clamp_min(1e-300)).sqrt()
    clipped: Tensor | None = None
    for _ in range(_MAX_ROUNDS):
        now = scale.to(v.dtype) * size >= bound
        if clipped is not None and bool(torch.equal(now, clipped)):
            break
        clipped = now
        fixed = torch.where(clipped, bound2, 0.0).sum(1, keepdim=True, dtype=torch.float64)
        free = total - torch.where(clipped, size2, 0.0).sum(1, keepdim=True, dtype=torch.float64)
        root = ((radius2 - fixed).clamp_min(0.0) / free.clamp_min(1e-300)).sqrt()
        scale = torch.maximum(scale, root).clamp(max=1.0)
    d = torch.maximum(torch.minimum(scale.to(v.dtype) * v, hi), lo)
    length: Tensor = d.norm(dim=1, keepdim=True, dtype=torch.float64)
    return d * (radius.unsqueeze(1) / length.clamp_min(1e-300)).clamp(max=1.0).to(v.dtype)


class L2(Threat):
    """||delta||_2 <= eps and x0 + delta in [0, 1], with the exact projection onto both."""

    name = "l2"
    FUSED = "l2"

    def norm(self, delta: Tensor) -> Tensor:
        """Euclidean length per sample, shape (n,)."""
        length: Tensor = delta.flatten(1).norm(dim=1)
        return length

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """The nearest point of ball and box to `delta` (exact, see the module docstring)."""
        return project_l2_box(delta, -x0, 1.0 - x0, self.eps_for(index, delta))

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0, *,
                     ids: Tensor | None = None) -> Tensor:
        """Uniform in the ball: a normalized Gaussian direction times eps * u^(1/d); then the box.

        The uniform u comes from one extra Gaussian through its CDF, so the sample's single
        generator (seed, index, restart) supplies both.
        """
        shape = tuple(x0.shape[1:])
        dim = math.prod(shape)
        keys = index if ids is None else ids
        draw = per_sample("randn", (dim + 1,), keys, seed, restart, device=x0.device, dtype=torch.float64)
        direction = draw[:, :dim] / draw[:, :dim].norm(dim=1, keepdim=True).clamp_min(1e-300)
        u = 0.5 * (1.0 + torch.erf(draw[:, dim:] / math.sqrt(2.0)))
        radius = self.eps_for(index, draw).unsqueeze(1) * u.pow(1.0 / dim)
        return self.project((direction * radius).view(-1, *shape).to(x0.dtype), x0, index)
