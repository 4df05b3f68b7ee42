"""The Square attack's step (Andriushchenko et al. 2020): random squares, kept when the score rises.

Gradient-free (`needs_grad = False`): the engine only runs forward passes. At each iteration the
engine scores the current proposal; the rule accepts it where the score beat the accepted one,
then draws the next proposal from the accepted perturbation: linf sets one random square to
+-eps per channel, L2 moves the perturbation's mass from one square into another, refilled with
a pseudo-Gaussian pattern. The first proposal is the paper's start (linf: vertical stripes of
+-eps; L2: a grid of pseudo-Gaussian blocks) and is always accepted. Square sizes follow the
paper's schedule of p rescaled to the run's length (AutoAttack does not rescale it: see
`square_fraction`). Draws are per sample, from (seed, sample id, restart, iteration).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.core.rng import derive_seed, per_sample
from advcat.steps.base import State, Step, StepInfo, batch_view
from advcat.steps.square_patterns import (
    meta_pattern,
    square_fraction,
    square_side,
    window_index,
    window_mask,
)
from advcat.threats.base import clip_to_box
from advcat.validate import check_count

_STREAM = 3_000_017


def _signs(u: Tensor) -> Tensor:
    return torch.where(u < 0.5, -1.0, 1.0).to(u.dtype)


def _corners(u: Tensor, side: int, height: int, width: int) -> tuple[Tensor, Tensor]:
    """Top-left corners uniform over the positions where a side x side square fits."""
    h = (u[:, 0] * (height - side + 1)).long().clamp(0, height - side)
    w = (u[:, 1] * (width - side + 1)).long().clamp(0, width - side)
    return h, w


def _l2_normalize(delta: Tensor, eps: Tensor) -> Tensor:
    size = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    return delta * batch_view(eps / size, delta)


class SquareStep(Step):
    """Square attack proposals for the "linf" or "l2" threat; the score should be a margin loss.

    `p_init` is the initial fraction of pixels a square covers (0.8, AutoAttack's value; the paper
    uses 0.05 for linf and 0.1 for L2 on ImageNet with 10,000 queries); `steps` is the length the
    schedule is rescaled to (None: the engine's number of steps), where AutoAttack's standard
    version runs the unscaled 10,000-query schedule for its 5000 queries. eps comes from the
    engine's bounded threat.
    """

    needs_grad = False

    def __init__(self, norm: str, p_init: float = 0.8, steps: int | None = None) -> None:
        if norm not in ("linf", "l2"):
            raise ValueError(f"Square supports norm 'linf' or 'l2', got {norm!r}")
        if isinstance(p_init, bool) or not isinstance(p_init, (int, float)) or not 0 < p_init <= 1:
            raise ValueError(f"p_init must be a number in (0, 1], got {p_init!r}")
        check_count("steps", steps, optional=True)
        self.norm = norm
        self.p_init = float(p_init)
        self.steps = steps

    def __repr__(self) -> str:
        return f"SquareStep({self.norm!r}, p_init={self.p_init:g}, steps={self.steps})"

    def init(self, z: Tensor, info: StepInfo) -> State:
        """The accepted perturbation (none yet) and its score."""
        if info.eps is None or info.x0 is None:
            raise ValueError("the Square step needs a bounded threat and the engine's x0")
        return {
            "delta": torch.zeros_like(z),
            "score": torch.full((z.shape[0],), -math.inf, dtype=z.dtype, device=z.device),
        }

    def transform(self, grad: Tensor | None, state: State, info: StepInfo) -> Tensor:
        """No gradient to transform: the accepted perturbation (proposals are drawn in `apply`)."""
        return state["delta"]

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """Accept z where its score rose (always the first proposal), then propose the next."""
        assert info.x0 is not None and info.eps is not None
        x0, eps = info.x0, info.eps.to(z.dtype)
        score = info.score.detach().to(z.dtype)
        accept = (score > state["score"]) | (info.t == 1)
        state["delta"] = torch.where(batch_view(accept, z).bool(), z - x0, state["delta"])
        state["score"] = torch.where(accept, score, state["score"])
        stream = derive_seed(_STREAM, info.restart, info.t)
        if self.norm == "linf":
            delta = self._linf_start(x0, eps, info, stream) if info.t == 0 else self._linf(
                state["delta"], x0, eps, info, stream)
        else:
            delta = self._l2_start(x0, eps, info, stream) if info.t == 0 else self._l2(
                state["delta"], eps, info, stream)
        return x0 + clip_to_box(delta, x0)

    def _draw(self, info: StepInfo, size: int, stream: int, like: Tensor) -> Tensor:
        return per_sample("rand", (size,), info.sample_ids(), info.seed, stream, device=like.device,
                          dtype=like.dtype)

    def _side(self, info: StepInfo, height: int, width: int, smallest: int) -> int:
        p = square_fraction(self.p_init, info.t, self.steps or info.steps)
        return square_side(p, height, width, smallest=smallest)

    def _linf_start(self, x0: Tensor, eps: Tensor, info: StepInfo, stream: int) -> Tensor:
        """Vertical stripes: each (channel, column) gets +-eps."""
        n, c, _, w = x0.shape
        signs = _signs(self._draw(info, c * w, stream, x0)).view(n, c, 1, w)
        return (signs * batch_view(eps, x0)).expand_as(x0).clone()

    def _linf(self, delta: Tensor, x0: Tensor, eps: Tensor, info: StepInfo, stream: int) -> Tensor:
        """One square set to +-eps per channel; opposite signs if that would change nothing."""
        n, c, h, w = delta.shape
        side = self._side(info, h, w, smallest=1)
        u = self._draw(info, 2 + c, stream, delta)
        mask = window_mask(*_corners(u, side, h, w), side, h, w)
        values = _signs(u[:, 2:]).view(n, c, 1, 1) * batch_view(eps, delta)
        proposal = clip_to_box(torch.where(mask, values, delta), x0)
        same = (proposal - delta).flatten(1).abs().amax(1) < 1e-7
        if bool(same.any()):
            flipped = clip_to_box(torch.where(mask, -values, delta), x0)
            proposal = torch.where(batch_view(same, delta).bool(), flipped, proposal)
        return proposal

    def _l2_start(self, x0: Tensor, eps: Tensor, info: StepInfo, stream: int) -> Tensor:
        """A grid of pseudo-Gaussian blocks of side H // 5 with random signs, scaled to norm eps."""
        n, c, h, w = x0.shape
        side = max(h // 5, 1)
        offset = max((h - 5 * side) // 2, 0)
        rows, cols = (h - offset) // side, (w - offset) // side
        u = self._draw(info, rows * cols * (c + 1), stream, x0)
        flips = (u[:, : rows * cols] < 0.5).view(n, 1, rows, cols, 1, 1)
        signs = _signs(u[:, rows * cols :]).view(n, c, rows, cols, 1, 1)
        pattern = meta_pattern(side, x0)
        blocks = torch.where(flips, pattern.t(), pattern) * signs  # (n, c, rows, cols, side, side)
        grid = blocks.permute(0, 1, 2, 4, 3, 5).reshape(n, c, rows * side, cols * side)
        delta = torch.zeros_like(x0)
        delta[:, :, offset : offset + rows * side, offset : offset + cols * side] = grid
        return _l2_normalize(delta, eps)

    def _l2(self, delta: Tensor, eps: Tensor, info: StepInfo, stream: int) -> Tensor:
        """Refill square 1 with a fresh pattern carrying the mass of squares 1 and 2 (and any unused
        budget), empty square 2, and rescale the whole perturbation to norm eps."""
        n, c, h, w = delta.shape
        side = self._side(info, h, w, smallest=3)
        side = side + 1 if side % 2 == 0 and side + 1 < min(h, w) else side
        u = self._draw(info, 5 + c, stream, delta)
        first, second = _corners(u[:, :2], side, h, w), _corners(u[:, 2:4], side, h, w)
        at_first = window_index(*first, side, c)
        old = delta[at_first]  # (n, c, side, side)
        old_size = old.flatten(2).norm(dim=2)[:, :, None, None]
        total = delta.flatten(1).norm(dim=1)
        both = window_mask(*first, side, h, w) | window_mask(*second, side, h, w)
        mass = (delta * both).flatten(2).norm(dim=2)  # (n, c): energy of the two squares
        pattern = meta_pattern(side, delta)
        flips = (u[:, 4] < 0.5).view(n, 1, 1, 1)
        fresh = torch.where(flips, pattern.t(), pattern) * _signs(u[:, 5:]).view(n, c, 1, 1)
        fresh = fresh + old / (old_size + 1e-10)
        spare = (eps.pow(2) - total.pow(2)).clamp_min(0)[:, None] / c
        length = (spare + mass.pow(2)).sqrt()[:, :, None, None]
        fresh = fresh / fresh.flatten(2).norm(dim=2).clamp_min(1e-12)[:, :, None, None] * length
        out = delta.clone()
        out[window_index(*second, side, c)] = 0.0
        out[at_first] = fresh
        return _l2_normalize(out, eps)
