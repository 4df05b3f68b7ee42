"""Adam as an ascent rule on the optimized variable (pixels or a parameterization), per sample."""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.steps.base import State, Step, StepInfo, batch_view
from advcat.steps.sizes import check_size, show_size


class Adam(Step):
    """Adam (Kingma & Ba, 2015) that maximizes the score: the same update as torch.optim.Adam on the
    negated score, with per-sample moments and step counts so finished samples can be dropped."""

    def __init__(self, lr: float | Tensor, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.lr = check_size(lr, "lr")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(check_size(eps, "eps"))

    def __repr__(self) -> str:
        return f"Adam(lr={show_size(self.lr)}, betas={self.betas}, eps={self.eps:g})"

    def init(self, z: Tensor, info: StepInfo) -> State:
        """First and second moments (shaped like z) and the per-sample step count."""
        return {"m": torch.zeros_like(z), "v": torch.zeros_like(z),
                "count": torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)}

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """Update the moments; return the bias-corrected m_hat / (sqrt(v_hat) + eps)."""
        beta1, beta2 = self.betas
        state["count"] = state["count"] + 1
        state["m"] = beta1 * state["m"] + (1 - beta1) * grad
        state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
        count = batch_view(state["count"], grad)
        correction1 = 1 - beta1 ** count
        correction2 = 1 - beta2 ** count
        return state["m"] / correction1 / (state["v"].sqrt() / correction2.sqrt() + self.eps)

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """z + lr * direction."""
        return z + self.step_size(self.lr, info, z) * direction
