"""The L1 ball intersected with the [0, 1] box, with the exact projection (as in L1-APGD).

The KKT conditions of min ||d - v||^2 s.t. ||d||_1 <= eps, lo <= d <= hi give
d_i = sign(v_i) * clip(|v_i| - lambda, 0, u_i), u_i the box's room in v_i's direction. The mass
g(lambda) = sum_i clip(|v_i| - lambda, 0, u_i) is piecewise linear, with kinks at |v_i| - u_i and
|v_i|; sorting the kinks gives lambda with g(lambda) = eps in closed form (Croce & Hein, 2021).
A cheap lower bound on lambda first discards the coordinates that end at zero.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.core.rng import per_sample
from advcat.threats.base import Threat, rounding_slack

_SAFE_ROUNDS = 3


def project_l1_box(v: Tensor, lo: Tensor, hi: Tensor, eps: Tensor) -> Tensor:
    """Row-wise argmin ||d - v||_2 over ||d||_1 <= eps[i], lo <= d <= hi (needs lo <= 0 <= hi)."""
    n = v.shape[0]
    flat, low, high = v.reshape(n, -1), lo.reshape(n, -1), hi.reshape(n, -1)
    out = torch.maximum(torch.minimum(flat, high), low)
    mass = out.abs().sum(1, dtype=torch.float64)
    over = mass > eps
    if bool(over.any()):
        rows = over.nonzero().squeeze(1)
        radius = eps[rows].double() * rounding_slack(out.dtype)
        out[rows] = _soft_threshold(flat[rows], low[rows], high[rows], radius, mass[rows])
    return out.view_as(v)


def _soft_threshold(v: Tensor, lo: Tensor, hi: Tensor, radius: Tensor, mass: Tensor) -> Tensor:
    """The box-capped soft threshold with L1 mass `radius`, for rows whose clipped mass is larger.

    A few safe rounds first raise a lower bound on lambda (each coordinate's part falls at most at
    rate 1, so lambda + (g(lambda) - eps) / #{|v_i| > lambda} never passes the root); coordinates at
    or below it are zero in the answer, and the exact kink search runs on the rest alone.
    """
    size = v.abs()
    room = torch.where(v > 0, hi, -lo).clamp_min(0.0)
    lam = torch.zeros_like(radius)
    part = mass
    for _ in range(_SAFE_ROUNDS):
        alive = (size > lam.to(v.dtype).unsqueeze(1)).sum(1).clamp_min(1)
        lam = lam + (part - radius).clamp_min(0.0) / alive
        cut = (size - lam.to(v.dtype).unsqueeze(1)).clamp_min(0.0)
        part = torch.minimum(cut, room).sum(1, dtype=torch.float64)
    lam = lam * (1.0 - 1e-6)   # a margin for rounding: the bound must stay below the root
    keep = int((size > lam.to(v.dtype).unsqueeze(1)).sum(1).max().clamp_min(1))
    if 4 * keep < size.shape[1]:
        top, where = size.topk(keep, dim=1)
        top_room = room.gather(1, where)
        lam = _kink_search(top.double(), top_room.double(), radius).to(v.dtype)
        d = torch.zeros_like(v).scatter_(
            1, where, torch.minimum((top - lam).clamp_min(0.0), top_room) * v.gather(1, where).sign())
    else:
        lam = _kink_search(size.double(), room.double(), radius).to(v.dtype)
        d = torch.minimum((size - lam).clamp_min(0.0), room) * v.sign()
    total = d.abs().sum(1, keepdim=True, dtype=torch.float64)
    return d * (radius.unsqueeze(1) / total.clamp_min(1e-300)).clamp(max=1.0).to(v.dtype)


def _kink_search(size: Tensor, room: Tensor, radius: Tensor) -> Tensor:
    """lambda (n, 1) with sum_i clip(size_i - lambda, 0, room_i) = radius, by sorting the kinks."""
    kinks = torch.cat([(size - room).clamp_min(0.0), size], 1)
    slope_change = torch.cat([-torch.ones_like(size), torch.ones_like(size)], 1)
    kinks, order = kinks.sort(dim=1)
    slope = slope_change.gather(1, order).cumsum(1)            # slope of g just after each kink
    start = torch.minimum(size, room).sum(1, keepdim=True)      # g(0)
    drop = torch.cat([torch.zeros_like(start), (slope[:, :-1] * kinks.diff(dim=1)).cumsum(1)], 1)
    mass = start + drop                                         # g at each kink, non-increasing
    target = radius.unsqueeze(1)
    k = ((mass >= target).sum(1, keepdim=True) - 1).clamp_min(0)
    falling = (-slope.gather(1, k)).clamp_min(1.0)
    lam = kinks.gather(1, k) + (mass.gather(1, k) - target).clamp_min(0.0) / falling
    return torch.where(target > 0, lam, size.amax(1, keepdim=True))


class L1(Threat):
    """||delta||_1 <= eps and x0 + delta in [0, 1], with the exact projection onto both."""

    name = "l1"

    def norm(self, delta: Tensor) -> Tensor:
        """Sum of absolute changes per sample, shape (n,)."""
        return delta.flatten(1).abs().sum(1)

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """The nearest point of ball and box to `delta` (exact, see the module docstring)."""
        return project_l1_box(delta, -x0, 1.0 - x0, self.eps_for(index, delta))

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0, *,
                     ids: Tensor | None = None) -> Tensor:
        """Uniform in the L1 ball, then projected to the box.

        Laplace coordinates (exponential magnitudes, random signs) normalized to unit L1 mass are
        uniform on the L1 sphere; the radius eps * u^(1/d) makes the point uniform in the ball.
        """
        shape = tuple(x0.shape[1:])
        dim = math.prod(shape)
        keys = index if ids is None else ids
        draw = per_sample("rand", (2 * dim + 1,), keys, seed, restart, device=x0.device, dtype=torch.float64)
        magnitude = -torch.log1p(-draw[:, :dim])
        signs = torch.where(draw[:, dim:2 * dim] < 0.5, -1.0, 1.0).to(draw.dtype)
        direction = signs * magnitude / magnitude.sum(1, keepdim=True).clamp_min(1e-300)
        radius = self.eps_for(index, draw).unsqueeze(1) * draw[:, 2 * dim:].pow(1.0 / dim)
        return self.project((direction * radius).view(-1, *shape).to(x0.dtype), x0, index)
