"""The engine's fused update: a step rule and a threat that one kernel can apply together.

(Sign, Linf) becomes one pass; (Normalized p=2, L2) becomes a step-and-clip pass, with the exact
ball-and-box projection in torch only for the samples whose clipped step leaves the ball.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from advcat.kernels import l2_step_clipped, linf_step
from advcat.kernels.backend import use_triton
from advcat.steps import Normalized, Sign
from advcat.steps.base import Step, StepInfo
from advcat.threats import L2, Linf
from advcat.threats.base import Threat
from advcat.threats.l2 import project_l2_box

Update = Callable[[Tensor, Tensor, Tensor, StepInfo], Tensor]


def fused_update(step: Step, threat: Threat | None, z: Tensor) -> Update | None:
    """A kernel that does transform, apply and project in one go, or None when there is none."""
    if threat is None or not use_triton(z):
        return None
    if type(step) is Sign and type(threat) is Linf:
        return _linf(step)
    if type(step) is Normalized and step.p == 2 and type(threat) is L2:
        return _l2(step)
    return None


def _linf(step: Sign) -> Update:
    def update(z: Tensor, grad: Tensor, x0: Tensor, info: StepInfo) -> Tensor:
        assert info.eps is not None
        alpha = step.step_size(step.alpha, info, z).flatten()
        return linf_step(z, grad, x0, alpha, info.eps)

    return update


def _l2(step: Normalized) -> Update:
    def update(z: Tensor, grad: Tensor, x0: Tensor, info: StepInfo) -> Tensor:
        assert info.eps is not None
        alpha = step.step_size(step.alpha, info, z).flatten()
        delta, norms = l2_step_clipped(z, grad, x0, alpha)
        over = norms > info.eps
        if bool(over.any()):
            rows = over.nonzero().squeeze(1)
            g = grad[rows].float()
            length = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))
            moved = z[rows].float() + alpha[rows].view_as(length) * g / length - x0[rows].float()
            low, high = -x0[rows].float(), 1.0 - x0[rows].float()
            delta[rows] = project_l2_box(moved, low, high, info.eps[rows].float())
        return (x0.float() + delta).to(z.dtype)

    return update
