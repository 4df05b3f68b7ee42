"""The Square attack (Andriushchenko et al. 2020) as an engine preset: score-based, no gradients.

A check against gradient masking: it queries the model's outputs only (the engine skips every
backward pass), accepting random square-shaped changes that raise the margin loss. Samples leave
the batch as soon as they are broken, so `queries` counts what each one cost.
"""

from __future__ import annotations

from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal
from advcat.attacks.pursuit import attack_objective, pursue
from advcat.core.result import Result
from advcat.steps.square import SquareStep
from advcat.validate import check_count


class Square(Attack):
    """Square attack, linf or l2: `steps` queries per sample (5000 and p_init 0.8, AutoAttack's
    values), margin loss, early stopping always on (a broken sample costs no more queries).

    Unlike AutoAttack's, the square-size schedule is rescaled to `steps`, so `steps=5000` halves p
    after 5, 25, 100, ... queries where AutoAttack halves it after 10, 50, 200, ... (docs/attacks.md).
    """

    name = "square"
    norms = ("linf", "l2")

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 5000,
        p_init: float = 0.8,
        restarts: int = 1,
    ) -> None:
        super().__init__(norm, eps)
        self.steps = check_count("steps", steps)
        self.p_init = p_init
        self.restarts = check_count("restarts", restarts)
        self.step_rule()  # validates p_init now

    def step_rule(self, eps: float | Tensor | None = None) -> SquareStep:
        """The square-patch search step (eps comes from the threat)."""
        return SquareStep(self.norm, p_init=self.p_init)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        return pursue(model, x, goal, attack_objective("margin", goal), self.step_rule(), self.steps,
                      restarts=self.restarts, random_start=False, early_stop=True)
