"""Auto-PGD's step rule (Croce & Hein, 2020): momentum, step-size halving at checkpoints, and a
restart from the best point, all per sample.

The engine calls the rule at iteration t with the score of the current iterate x_t; the rule
records it, and at a checkpoint w_j halves eta and moves back to the best point x_max for the
samples where (1) the score rose in fewer than rho * (w_j - w_{j-1}) of the steps since the last
checkpoint, or (2) eta was not halved at the last checkpoint and the best score has not risen
since. As the paper states, a restarted sample continues from x_max, so the next "did it rise"
compares against the score of x_max; its first step uses the gradient stored at x_max. As in the
reference implementation, condition (2) cannot fire at the first checkpoint.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import torch
from torch import Tensor

from advcat.core.context import select
from advcat.steps.base import State, Step, StepInfo, batch_view
from advcat.steps.directions import l2_direction, sign_direction
from advcat.steps.sizes import check_size, show_size
from advcat.validate import check_count

_NORMS = {"linf": "linf", "inf": "linf", "l2": "l2"}


@lru_cache(maxsize=64)
def apgd_checkpoints(steps: int) -> tuple[int, ...]:
    """The checkpoints w_j = ceil(p_j * steps), p_0 = 0, p_1 = 0.22,
    p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), for p_j <= 1 (w_0 = 0 left out)."""
    check_count("steps", steps)
    fractions = [Fraction(0), Fraction(22, 100)]
    while True:
        gap = max(fractions[-1] - fractions[-2] - Fraction(3, 100), Fraction(6, 100))
        if fractions[-1] + gap > 1:
            break
        fractions.append(fractions[-1] + gap)
    return tuple(sorted({math.ceil(p * steps) for p in fractions[1:]}))


class APGDStep(Step):
    """Auto-PGD's step on pixels for the "linf" (sign) or "l2" (normalized gradient) threat.

    eta starts at 2 * eps per sample (eps a float or (N,) tensor; None reads the engine's
    per-sample eps); rho is the fraction of rising steps below which eta is halved; alpha weighs
    the new step against the previous move (momentum 1 - alpha). `steps` fixes the checkpoint
    schedule (None: the engine's number of steps).
    """

    def __init__(self, norm: str, eps: float | Tensor | None = None, steps: int | None = None,
                 rho: float = 0.75, alpha: float = 0.75) -> None:
        key = norm.lower() if isinstance(norm, str) else norm
        if key not in _NORMS:
            raise ValueError(f"APGD supports norm 'linf' or 'l2', got {norm!r}")
        if steps is not None:
            apgd_checkpoints(steps)
        for name, value in (("rho", rho), ("alpha", alpha)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
        self.norm = _NORMS[key]
        self.eps = None if eps is None else check_size(eps, "eps", allow_zero=True)
        self.steps = steps
        self.rho = float(rho)
        self.alpha = float(alpha)

    def __repr__(self) -> str:
        eps = "from the threat" if self.eps is None else show_size(self.eps)
        return (f"APGDStep({self.norm!r}, eps={eps}, steps={self.steps}, rho={self.rho}, "
                f"alpha={self.alpha})")

    def init(self, z: Tensor, info: StepInfo) -> State:
        """eta = 2 eps, the best point and its direction, the scores and checkpoint counters."""
        if self.eps is not None:
            eps = select(self.eps, info.index, dtype=z.dtype).to(z.device)
        elif info.eps is not None:
            eps = info.eps.to(device=z.device, dtype=z.dtype)
        else:
            raise ValueError("APGD needs eps: pass it, or use it with a bounded threat model")
        n = z.shape[0]
        low = torch.full((n,), -math.inf, dtype=z.dtype, device=z.device)
        return {
            "eta": 2.0 * eps, "prev": z.clone(), "best": z.clone(), "best_dir": torch.zeros_like(z),
            "best_score": low, "last_score": low.clone(), "checked_best": low.clone(),
            "rises": torch.zeros(n, dtype=torch.long, device=z.device),
            "reduced": torch.ones(n, dtype=torch.bool, device=z.device),
        }

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """sign(grad) for linf, grad / ||grad||_2 for l2."""
        return sign_direction(grad) if self.norm == "linf" else l2_direction(grad)

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """Record the score of z, run the checkpoint test, then take the momentum step."""
        score = info.score.detach().to(z.dtype)
        if info.t > 0:
            state["rises"] = state["rises"] + (score > state["last_score"]).long()
        better = score > state["best_score"]
        state["best"] = torch.where(batch_view(better, z).bool(), z, state["best"])
        state["best_dir"] = torch.where(batch_view(better, z).bool(), direction, state["best_dir"])
        state["best_score"] = torch.where(better, score, state["best_score"])
        state["last_score"] = score
        z, direction = self._checkpoint(z, direction, state, info)
        eta = batch_view(state["eta"], z)
        moved = info.project(z + eta * direction)
        if info.t > 0:
            inertia = (1 - self.alpha) * (z - state["prev"])
            moved = info.project(z + self.alpha * (moved - z) + inertia)
        state["prev"] = z
        return moved

    def _checkpoint(self, z: Tensor, direction: Tensor, state: State,
                    info: StepInfo) -> tuple[Tensor, Tensor]:
        """At a checkpoint, halve eta and go back to the best point where the tests say so."""
        marks = (0, *apgd_checkpoints(self.steps or info.steps))
        if info.t not in marks[1:]:
            return z, direction
        j = marks.index(info.t)
        few_rises = state["rises"].to(z.dtype) < self.rho * (marks[j] - marks[j - 1])
        stalled = ~state["reduced"] & (state["best_score"] <= state["checked_best"])
        reduce = few_rises | stalled
        state["eta"] = torch.where(reduce, state["eta"] / 2, state["eta"])
        state["last_score"] = torch.where(reduce, state["best_score"], state["last_score"])
        state["rises"] = torch.zeros_like(state["rises"])
        state["checked_best"] = state["best_score"].clone()
        state["reduced"] = reduce
        back = batch_view(reduce, z).bool()
        return torch.where(back, state["best"], z), torch.where(back, state["best_dir"], direction)
