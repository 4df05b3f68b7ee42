"""The step of the fast minimum-norm attack (FMN, Pintor et al. 2021), with its adaptive radius.

Each sample carries a radius eps_k in the step's state. While the sample is adversarial the
radius shrinks by a factor (1 - gamma) (never above the smallest adversarial norm seen); until
the first adversarial point it jumps to the linear estimate of the distance to the boundary,
and afterwards grows by (1 + gamma). One change from the paper: the estimate is overshot by
(1 + gamma), because with the estimate alone an iterate can settle on the boundary from inside
(the margin converges to -1e-6 in float32) and never become adversarial. The iterate moves
along the L2-normalized gradient by alpha and is projected onto the eps_k ball and the [0, 1]
box; alpha and gamma decay with a cosine schedule. The score must be positive exactly when a
sample is adversarial (a margin).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.steps.base import State, Step, StepInfo, batch_view, lp_norm
from advcat.steps.directions import l2_direction
from advcat.threats.base import clip_to_box
from advcat.threats.l1 import project_l1_box
from advcat.threats.l2 import project_l2_box
from advcat.validate import check_count

_P = {"linf": math.inf, "l2": 2.0, "l1": 1.0}
_DUAL = {"linf": 1.0, "l2": 2.0, "l1": math.inf}


def project_ball(delta: Tensor, x0: Tensor, eps: Tensor, norm: str) -> Tensor:
    """The nearest delta with ||delta||_norm <= eps (per sample) and x0 + delta in [0, 1]."""
    if norm == "linf":
        bound = batch_view(eps, delta)
        return clip_to_box(torch.maximum(torch.minimum(delta, bound), -bound), x0)
    if norm == "l2":
        return project_l2_box(delta, -x0, 1.0 - x0, eps)
    return project_l1_box(delta, -x0, 1.0 - x0, eps)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class FMNStep(Step):
    """FMN's step for the "linf", "l2" or "l1" norm on pixels (needs the engine's x0).

    `alpha_init` and `alpha_final` (default alpha_init / 100) bound the step length, `gamma_init`
    and `gamma_final` the radius' relative change; both anneal on a cosine over `steps` (None:
    the engine's number of steps). The engine's threat, if bounded, caps the radius.
    """

    def __init__(
        self,
        norm: str,
        steps: int | None = None,
        alpha_init: float = 1.0,
        alpha_final: float | None = None,
        gamma_init: float = 0.05,
        gamma_final: float = 0.001,
    ) -> None:
        if norm not in _P:
            raise ValueError(f"FMN supports norm 'linf', 'l2' or 'l1', got {norm!r}")
        check_count("steps", steps, optional=True)
        self.norm = norm
        self.steps = steps
        self.alpha_init = _positive("alpha_init", alpha_init)
        self.alpha_final = _positive("alpha_final", alpha_init / 100 if alpha_final is None else alpha_final)
        self.gamma_init = _positive("gamma_init", gamma_init)
        self.gamma_final = _positive("gamma_final", gamma_final)
        if self.gamma_init >= 1 or self.gamma_final >= 1:
            raise ValueError("gamma_init and gamma_final must be below 1")

    def __repr__(self) -> str:
        return (
            f"FMNStep({self.norm!r}, steps={self.steps}, alpha={self.alpha_init:g}->{self.alpha_final:g}, "
            f"gamma={self.gamma_init:g}->{self.gamma_final:g})"
        )

    def init(self, z: Tensor, info: StepInfo) -> State:
        """Radius inf, no adversarial point yet, the largest norm the box allows."""
        if info.x0 is None:
            raise ValueError("the FMN step runs on pixels: the engine must pass x0")
        n = z.shape[0]
        worst = lp_norm(torch.maximum(info.x0, 1.0 - info.x0), _P[self.norm]).to(z.dtype)
        return {
            "radius": torch.full((n,), math.inf, dtype=z.dtype, device=z.device),
            "found": torch.zeros(n, dtype=torch.bool, device=z.device),
            "smallest": worst.clone(),
            "worst": worst,
            "dual": torch.zeros(n, dtype=z.dtype, device=z.device),
        }

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """Record the gradient's dual norm (for the distance to the boundary); return grad / ||grad||_2."""
        state["dual"] = lp_norm(grad, _DUAL[self.norm]).to(grad.dtype)
        return l2_direction(grad)

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """Adapt the radius from the score of z, then step and project onto the radius' ball."""
        assert info.x0 is not None
        x0 = info.x0
        cosine = (1 + math.cos(math.pi * info.t / (self.steps or info.steps))) / 2
        alpha = self.alpha_final + (self.alpha_init - self.alpha_final) * cosine
        gamma = self.gamma_final + (self.gamma_init - self.gamma_final) * cosine
        delta = z - x0
        size = lp_norm(delta, _P[self.norm]).to(z.dtype)
        score = info.score.detach().to(z.dtype)
        adversarial = score > 0
        state["smallest"] = torch.where(adversarial & (size < state["smallest"]), size, state["smallest"])
        state["found"] = state["found"] | adversarial
        to_boundary = score.abs() / state["dual"].clamp_min(1e-12)
        radius = torch.where(
            adversarial,
            torch.minimum(state["radius"] * (1 - gamma), state["smallest"]),
            torch.where(state["found"], state["radius"] * (1 + gamma), size + (1 + gamma) * to_boundary),
        )
        radius = torch.minimum(radius, state["worst"])
        if info.eps is not None:
            radius = torch.minimum(radius, info.eps.to(radius.dtype))
        state["radius"] = radius
        return x0 + project_ball(delta + alpha * direction, x0, radius, self.norm)
