"""Decoupling Direction and Norm (Rony et al. 2019) as an engine preset: the smallest L2 flip per sample.

The DDN step rule fixes each sample's norm with a radius that shrinks while the point is
adversarial and grows while not; the gradient of the cross-entropy fixes the direction. The
engine keeps each sample's smallest successful iterate (keep="min_norm"). With eps given, the
radius is capped at eps; eps=None searches the whole box. A sample the search leaves unflipped
gets the fallback FMN gets (`advcat.attacks.fallback`): PGD over growing balls, then DDN again
from PGD's adversarial point.
"""

from __future__ import annotations

from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal
from advcat.attacks.fallback import flip_the_rest
from advcat.attacks.pursuit import attack_objective, pursue
from advcat.core.context import Context
from advcat.core.result import Result
from advcat.objectives import Objective
from advcat.steps.ddn import DDNStep
from advcat.validate import check_count


class DDNLoss(Objective):
    """`value`'s score with `ascent`'s gradient: DDN reads adversarial-or-not from the value (a
    margin, positive exactly when adversarial) and steps along the cross-entropy's gradient."""

    def __init__(self, value: Objective, ascent: Objective) -> None:
        self.value = value
        self.ascent = ascent
        self.layers = value.layers | ascent.layers
        self._freeze()

    def describe(self) -> str:
        return f"{self.value.describe()}, along the gradient of {self.ascent.describe()}"

    def score(self, ctx: Context) -> Tensor:
        ascent = self.ascent(ctx)
        return self.value(ctx).detach() + (ascent - ascent.detach())


class DDN(Attack):
    """DDN for L2: normalized cross-entropy gradient steps, and a per-sample radius (the
    perturbation's norm) multiplied by (1 - gamma) while adversarial and by (1 + gamma) while not.

    `alpha_init` = 1 is the initial step length, cosine-annealed to alpha_init / 100; `gamma` =
    0.05 and `radius_init` = 1 are the paper's. Minimum-norm: eps=None means unbounded; the search
    continues after success (early_stop is not used).
    """

    name = "ddn"
    norms = ("l2",)
    minimum_norm = True

    def __init__(
        self,
        norm: str = "l2",
        eps: float | Tensor | None = None,
        steps: int = 100,
        alpha_init: float = 1.0,
        gamma: float = 0.05,
        radius_init: float = 1.0,
    ) -> None:
        super().__init__(norm, eps)
        self.steps = check_count("steps", steps)
        self.alpha_init = alpha_init
        self.gamma = gamma
        self.radius_init = radius_init
        self.step_rule()  # validates the step's options now

    def step_rule(self, eps: float | Tensor | None = None) -> DDNStep:
        """The DDN step; its radius adapts per sample (a bound, if any, comes from the threat)."""
        return DDNStep(alpha_init=self.alpha_init, gamma=self.gamma, radius_init=self.radius_init)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        found = self._search(model, x, goal, None)
        return flip_the_rest(model, x, goal, found,
                             lambda xs, part, start: self._search(model, xs, part, start))

    def _search(self, model: nn.Module, x: Tensor, goal: Goal, start: Tensor | None) -> Result:
        """One DDN run from x, or from `start` (an adversarial point, whose norm DDN then shrinks)."""
        objective = DDNLoss(attack_objective("margin", goal), attack_objective("ce", goal))
        return pursue(model, x, goal, objective, self.step_rule(), self.steps,
                      keep="min_norm", random_start=False, early_stop=False, start=start)
