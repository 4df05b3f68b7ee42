"""The L2 ball intersected with the [0, 1] box, with the exact Euclidean projection onto both.

Clipping after scaling is not the projection onto the intersection. The KKT conditions of
min ||d - v||^2 s.t. ||d||_2 <= eps, lo <= d <= hi (lo <= 0 <= hi) give d = clip(s * v, lo, hi) with
s = 1 / (1 + lambda) in (0, 1]; ||d(s)|| grows with s and is piecewise "constant + s^2 * R" between
the points where coordinates hit the box, so sorting those points gives s in closed form.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.engine.rng import per_sample
from advcat.threats.base import Threat, rounding_slack


def project_l2_box(v: Tensor, lo: Tensor, hi: Tensor, eps: Tensor) -> Tensor:
    """Row-wise argmin ||d - v||_2 over ||d||_2 <= eps[i], lo <= d <= hi (needs lo <= 0 <= hi)."""
    n = v.shape[0]
    flat, low, high = v.reshape(n, -1), lo.reshape(n, -1), hi.reshape(n, -1)
    out = torch.maximum(torch.minimum(flat, high), low)
    over = out.norm(dim=1) > eps
    if bool(over.any()):
        rows = over.nonzero().squeeze(1)
        radius = eps[rows].double() * rounding_slack(out.dtype)
        out[rows] = _shrink(flat[rows], low[rows], high[rows], radius).to(out.dtype)
    return out.view_as(v)


def _shrink(v: Tensor, lo: Tensor, hi: Tensor, eps: Tensor) -> Tensor:
    """The scale s < 1 with ||clip(s v)|| = eps, exactly, for rows whose clipped v is too long."""
    v64 = v.double()
    size = v64.abs()
    bound = torch.where(v64 > 0, hi.double(), -lo.double())
    bound = torch.where(size > 0, bound, torch.zeros_like(bound))
    # coordinate i is clipped for s >= bound_i / size_i (never when v_i = 0)
    turn = torch.where(size > 0, bound / size.clamp_min(1e-300), torch.full_like(size, math.inf))
    turn, order = turn.sort(dim=1)
    size2 = size.gather(1, order).square()
    bound2 = bound.gather(1, order).square()
    zero = torch.zeros_like(size2[:, :1])
    # with the first k coordinates clipped: ||d(s)||^2 = clipped[k] + s^2 * free[k]
    clipped = torch.cat([zero, bound2.cumsum(1)], 1)
    free = size2.sum(1, keepdim=True) - torch.cat([zero, size2.cumsum(1)], 1)
    eps2 = eps.double().square().unsqueeze(1)
    at_turns = clipped[:, 1:] + turn.square() * free[:, 1:]    # ||d||^2 at each turning point
    k = (at_turns <= eps2).sum(1, keepdim=True)                # nan (inf * 0) never counts
    room = (eps2 - clipped.gather(1, k)).clamp_min(0)
    scale = (room / free.gather(1, k).clamp_min(1e-300)).sqrt()
    d = torch.maximum(torch.minimum(scale.clamp(max=1.0) * v64, hi.double()), lo.double())
    length = d.norm(dim=1, keepdim=True)
    return d * (eps2.sqrt() / length.clamp_min(1e-300)).clamp(max=1.0)


class L2(Threat):
    """||delta||_2 <= eps and x0 + delta in [0, 1], with the exact projection onto both."""

    name = "l2"

    def norm(self, delta: Tensor) -> Tensor:
        """Euclidean length per sample, shape (n,)."""
        return delta.flatten(1).norm(dim=1)

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """The nearest point of ball and box to `delta` (exact, see the module docstring)."""
        return project_l2_box(delta, -x0, 1.0 - x0, self.eps_for(index, delta))

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0) -> Tensor:
        """Uniform in the ball: a normalized Gaussian direction times eps * u^(1/d); then the box.

        The uniform u comes from one extra Gaussian through its CDF, so the sample's single
        generator (seed, index, restart) supplies both.
        """
        shape = tuple(x0.shape[1:])
        dim = math.prod(shape)
        draw = per_sample("randn", (dim + 1,), index, seed, restart, device=x0.device,
                          dtype=torch.float64)
        direction = draw[:, :dim] / draw[:, :dim].norm(dim=1, keepdim=True).clamp_min(1e-300)
        u = 0.5 * (1.0 + torch.erf(draw[:, dim:] / math.sqrt(2.0)))
        radius = self.eps_for(index, draw).unsqueeze(1) * u.pow(1.0 / dim)
        return self.project((direction * radius).view(-1, *shape).to(x0.dtype), x0, index)
