"""The normalized step of Lp PGD: a step of length alpha along the Lp steepest-ascent direction."""

from __future__ import annotations

import math

from torch import Tensor

from advcat.steps.base import State, Step, StepInfo
from advcat.steps.directions import l1_direction, l2_direction, sign_direction
from advcat.steps.sizes import check_size, show_size


class Normalized(Step):
    """z + alpha * d, d the unit-Lp steepest-ascent direction of the gradient.

    p=2: grad / ||grad||_2. p=1: the sparse direction of SLIDE (Tramer & Boneh, 2019), the signs
    of the coordinates at or above the q-quantile of |grad|, with unit L1 mass. p=inf: sign(grad).
    """

    FUSED = "normalized"

    def __init__(self, alpha: float | Tensor, p: float = 2, q: float = 0.99) -> None:
        if p not in (1, 2, math.inf):
            raise ValueError(f"p must be 1, 2 or float('inf'), got {p!r}")
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q < 1.0:
            raise ValueError(f"q must be a quantile in [0, 1), got {q!r}")
        self.alpha = check_size(alpha, "alpha", allow_zero=True)
        self.p = float(p)
        self.q = float(q)

    def __repr__(self) -> str:
        return f"Normalized(alpha={show_size(self.alpha)}, p={self.p:g})"

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """The unit-norm steepest-ascent direction for this step's p."""
        if self.p == 2:
            return l2_direction(grad)
        if self.p == 1:
            return l1_direction(grad, self.q)
        return sign_direction(grad)

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """z + alpha * direction."""
        return z + self.step_size(self.alpha, info, z) * direction
