"""MI-FGSM's momentum step (Dong et al., 2018): accumulate L1-normalized gradients, step on them."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.steps.base import State, Step, StepInfo
from advcat.steps.directions import l1_unit, l2_direction, sign_direction
from advcat.steps.sizes import check_size, show_size


class Momentum(Step):
    """g <- decay * g + grad / ||grad||_1, then z + alpha * sign(g) (p=inf) or alpha * g/||g||_2."""

    def __init__(self, alpha: float | Tensor, decay: float = 1.0, p: float = math.inf) -> None:
        if p not in (2, math.inf):
            raise ValueError(f"p must be 2 or float('inf'), got {p!r}")
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) \
                or not math.isfinite(decay) or decay < 0:
            raise ValueError(f"decay must be a finite number >= 0, got {decay!r}")
        self.alpha = check_size(alpha, "alpha", allow_zero=True)
        self.decay = float(decay)
        self.p = float(p)

    def __repr__(self) -> str:
        return f"Momentum(alpha={show_size(self.alpha)}, decay={self.decay:g}, p={self.p:g})"

    def init(self, z: Tensor, info: StepInfo) -> State:
        """The accumulated gradient g, zero at the start."""
        return {"g": torch.zeros_like(z)}

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """Accumulate the normalized gradient into state["g"]; return its ascent direction."""
        state["g"] = self.decay * state["g"] + l1_unit(grad)
        return sign_direction(state["g"]) if self.p == math.inf else l2_direction(state["g"])

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """z + alpha * direction."""
        return z + self.step_size(self.alpha, info, z) * direction
