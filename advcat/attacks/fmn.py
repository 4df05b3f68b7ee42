"""The fast minimum-norm attack (Pintor et al. 2021) as an engine preset: the smallest flip per sample.

The FMN step rule adapts a radius per sample; the engine keeps each sample's smallest successful
iterate (keep="min_norm"). With eps given, iterates never leave the eps ball, so an answer is
within budget or the sample is reported unsuccessful; eps=None searches the whole box. A sample
the search leaves unflipped (it can stall on the boundary) gets PGD over growing balls and FMN
again from PGD's adversarial point (see `advcat.attacks.fallback`).
"""

from __future__ import annotations

from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal
from advcat.attacks.fallback import flip_the_rest
from advcat.attacks.pursuit import attack_objective, pursue
from advcat.core.result import Result
from advcat.steps.fmn import FMNStep
from advcat.validate import check_count

#: initial step lengths; L-inf's was 10 until a 100-step comparison with adv-lib and Foolbox on a
#: Fashion-MNIST CNN (benchmarks/RESULTS.md, minimum-norm optimality) found 1 gives 3% smaller norms
_ALPHA_INIT = {"linf": 1.0, "l2": 1.0, "l1": 10.0}


class FMN(Attack):
    """Fast minimum-norm attack for linf, l2 and l1: the margin loss, normalized gradient steps,
    a per-sample radius shrunk while adversarial and grown while not.

    `alpha_init` (default 1 for linf and l2, 10 for l1) is the initial step length, annealed to
    alpha_init / 100; `gamma_init` = 0.05 is the radius' initial relative change. Minimum-norm:
    eps=None means unbounded; the search continues after success (early_stop is not used).
    """

    name = "fmn"
    minimum_norm = True

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 100,
        alpha_init: float | None = None,
        gamma_init: float = 0.05,
    ) -> None:
        super().__init__(norm, eps)
        self.steps = check_count("steps", steps)
        self.alpha_init = _ALPHA_INIT[self.norm] if alpha_init is None else alpha_init
        self.gamma_init = gamma_init
        self.step_rule()  # validates the step's options now

    def step_rule(self, eps: float | Tensor | None = None) -> FMNStep:
        """The FMN step; its radius adapts per sample (a bound, if any, comes from the threat)."""
        return FMNStep(self.norm, alpha_init=self.alpha_init, gamma_init=self.gamma_init)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        found = self._search(model, x, goal, None)
        return flip_the_rest(model, x, goal, found,
                             lambda xs, part, start: self._search(model, xs, part, start))

    def _search(self, model: nn.Module, x: Tensor, goal: Goal, start: Tensor | None) -> Result:
        """One FMN run from x, or from `start` (an adversarial point, which FMN then shrinks)."""
        return pursue(model, x, goal, attack_objective("margin", goal), self.step_rule(), self.steps,
                      keep="min_norm", random_start=False, early_stop=False, start=start)
