"""The sign step of FGSM and Linf PGD: z + alpha * sign(grad)."""

from __future__ import annotations

from torch import Tensor

from advcat.steps.base import State, Step, StepInfo
from advcat.steps.directions import sign_direction
from advcat.steps.sizes import check_size, show_size


class Sign(Step):
    """Move every coordinate by alpha (a float or an (N,) tensor; 0 keeps a sample in place) along
    the gradient's sign."""

    FUSED = "sign"

    def __init__(self, alpha: float | Tensor) -> None:
        self.alpha = check_size(alpha, "alpha", allow_zero=True)

    def __repr__(self) -> str:
        return f"Sign(alpha={show_size(self.alpha)})"

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """sign(grad)."""
        return sign_direction(grad)

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """z + alpha * direction."""
        return z + self.step_size(self.alpha, info, z) * direction
