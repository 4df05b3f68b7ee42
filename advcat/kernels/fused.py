"""The engine's fused update: a step rule and a threat that one kernel can apply together.

A step and a threat declare their fused form on their own class (`FUSED = "sign"`, `"linf"`), so a
subclass that changes the update or the projection never runs a kernel that does not match it.

(Sign, Linf) becomes one pass; (Normalized p=2, L2) becomes a step-and-clip pass, with the exact
ball-and-box projection in torch only for the samples whose clipped step leaves the ball. Without
Triton, (Sign, Linf) still gets a torch path that reuses the gradient's buffer and clamps into
the per-coordinate box [max(x0 - eps, 0), min(x0 + eps, 1)], kept while x0 and eps stay: four
passes a step instead of eleven, which is what keeps PGD near its forward+backward floor on CPUs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from advcat.kernels import l2_step_clipped, linf_step
from advcat.kernels.backend import use_triton
from advcat.steps import Normalized, Sign
from advcat.steps.base import Step, StepInfo
from advcat.threats.base import Threat
from advcat.threats.l2 import project_l2_box

Update = Callable[[Tensor, Tensor, Tensor, StepInfo], Tensor]


def fused_update(step: Step, threat: Threat | None, z: Tensor) -> Update | None:
    """A kernel that does transform, apply and project in one go, or None when there is none: the
    pair is looked up by the fused forms the step and the threat declare (`FUSED`)."""
    if threat is None:
        return None
    pair = (step.fused_form(), threat.fused_form())
    if pair == ("sign", "linf"):
        assert isinstance(step, Sign)
        return _linf(step) if use_triton(z) else _LinfBox(step)
    if pair == ("normalized", "l2") and use_triton(z):
        assert isinstance(step, Normalized)
        return _l2(step) if step.p == 2 else None
    return None


def _linf(step: Sign) -> Update:
    def update(z: Tensor, grad: Tensor, x0: Tensor, info: StepInfo) -> Tensor:
        assert info.eps is not None
        alpha = step.step_size(step.alpha, info, z).flatten()
        return linf_step(z, grad, x0, alpha, info.eps)

    return update


class _LinfBox:
    """The torch path for (Sign, Linf): z + alpha * sign(grad) clamped into the box of x0 +- eps
    and [0, 1], written into the gradient's buffer (the engine does not use it afterwards)."""

    def __init__(self, step: Sign) -> None:
        self.step = step
        self.x0: Tensor | None = None
        self.eps: Tensor | None = None
        self.low = self.high = torch.empty(0)

    def __call__(self, z: Tensor, grad: Tensor, x0: Tensor, info: StepInfo) -> Tensor:
        assert info.eps is not None
        eps = info.eps.to(z.dtype).view(-1, *([1] * (z.dim() - 1)))
        if self.x0 is not x0 or self.eps is None or not torch.equal(self.eps, eps):
            self.x0, self.eps = x0, eps
            self.low = (x0 - eps).clamp_(min=0.0)
            self.high = (x0 + eps).clamp_(max=1.0)
        moved = grad.sign_().mul_(self.step.step_size(self.step.alpha, info, z)).add_(z)
        return torch.clamp(moved, self.low, self.high, out=moved)


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
