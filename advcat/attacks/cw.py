"""Carlini-Wagner L2 (2017) as engine presets: Adam in tanh space, a binary search over c per sample.

Each value of the constant c is one engine run (Adam on the tanh variable, keep="min_norm");
between runs every sample halves its interval for c, or multiplies c by 10 until one run
succeeds. The smallest successful perturbation over all runs is kept; a sample no run flips gets
PGD over growing balls (`advcat.attacks.fallback`); with eps, a larger one is then projected onto
the eps ball.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal
from advcat.attacks.fallback import flip_the_rest
from advcat.attacks.pursuit import pursue
from advcat.attacks.runs import BestOfRuns, margins
from advcat.core.context import Context
from advcat.core.result import Result
from advcat.objectives import Margin, Objective
from advcat.params import Tanh
from advcat.steps import Adam
from advcat.threats import Unbounded
from advcat.validate import check_count, check_positive


class CWLoss(Objective):
    """CW's objective to maximize: c * min(margin, kappa) - ||x - x0||_2^2.

    margin is the best other logit minus the label's (untargeted), or the target's logit minus
    the best other (targeted); kappa is the confidence beyond which the margin earns nothing.
    """

    def __init__(self, labels: Tensor, target: Tensor | None, c: Tensor | float, kappa: float) -> None:
        self.margin = Margin(labels) if target is None else -Margin(target)
        self.c = c
        self.kappa = float(kappa)
        self._freeze()

    def describe(self) -> str:
        return f"c * min({self.margin.describe()}, {self.kappa:g}) - ||x - x0||_2^2"

    def score(self, ctx: Context) -> Tensor:
        if ctx.x0 is None:
            raise ValueError("CWLoss measures the distance to x0: the engine must pass it")
        distance = (ctx.x - ctx.x0).flatten(1).pow(2).sum(1)
        c = ctx.per_sample(self.c, dtype=distance.dtype)
        return c * self.margin(ctx).clamp(max=self.kappa) - distance


class CW(Attack):
    """Carlini-Wagner L2: minimize ||delta||_2^2 + c * f(x + delta), f the margin loss with kappa.

    `steps` Adam steps (learning rate `lr`) per value of c, `search_steps` values of c found by a
    binary search per sample starting from `c`. The paper runs up to 10,000 steps with lr 0.01
    from c = 1e-3; these defaults (100 steps, lr 0.05, c = 0.01) fit a 100-step budget.
    Minimum-norm: eps=None means unbounded; with eps, a sample whose smallest perturbation is
    larger gets it projected onto the eps ball (see `within_budget`).
    """

    name = "cw"
    norms = ("l2",)
    minimum_norm = True

    def __init__(
        self,
        norm: str = "l2",
        eps: float | Tensor | None = None,
        steps: int = 100,
        search_steps: int = 9,
        lr: float = 0.05,
        c: float = 0.01,
        kappa: float = 0.0,
    ) -> None:
        super().__init__(norm, eps)
        self.steps = check_count("steps", steps)
        self.search_steps = check_count("search_steps", search_steps)
        self.lr = check_positive("lr", lr)
        self.c = check_positive("c", c)
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not 0 <= kappa < math.inf:
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
        self.kappa = float(kappa)

    def step_rule(self, eps: float | Tensor | None = None) -> Adam:
        """Adam on the tanh-space variable (the paper's optimizer)."""
        return Adam(self.lr)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        n = x.shape[0]
        c = torch.full((n,), self.c, dtype=torch.float64, device=x.device)
        lower = torch.zeros_like(c)
        upper = torch.full_like(c, math.inf)
        runs = BestOfRuns(x)
        sizes = torch.full((n,), math.inf, device=x.device)
        every = torch.arange(n, device=x.device)
        for _ in range(self.search_steps):
            loss = CWLoss(goal.labels, goal.target, c.float(), self.kappa)
            found = pursue(model, x, goal, loss, self.step_rule(), self.steps, param=Tanh(),
                           threat=Unbounded(), keep="min_norm", early_stop=False)
            assert found.success is not None
            size = (found.x - x).flatten(1).norm(dim=1).float()
            closer = margins(found.logits, goal.labels, goal.target) > margins(
                runs.logits, goal.labels, goal.target
            )
            take = torch.where(runs.success, found.success & (size < sizes), found.success | closer)
            runs.add(found, every, take)
            sizes = torch.where(take & found.success, size, sizes)
            upper = torch.where(found.success, torch.minimum(upper, c), upper)
            lower = torch.where(found.success, lower, torch.maximum(lower, c))
            c = torch.where(torch.isfinite(upper), (lower + upper) / 2, c * 10)
        found = flip_the_rest(model, x, goal, runs.result(f"CW L2, kappa={self.kappa:g}"))
        return within_budget(found, x, goal)


def within_budget(result: Result, x: Tensor, goal: Goal) -> Result:
    """Pull every perturbation larger than eps back onto the eps ball (logits then unknown).

    The search runs unbounded, so that c falls whenever any perturbation flips the sample; a
    sample whose smallest perturbation exceeds eps had no successful iterate inside the ball,
    and gets its kept perturbation projected onto it: within budget, rarely adversarial.
    """
    index = torch.arange(x.shape[0], device=x.device)
    delta = result.x - x
    over = goal.threat.norm(delta) > goal.threat.eps_for(index, delta)
    if not bool(over.any()):
        return result
    rows = over.nonzero().squeeze(1)
    result.x[rows] = x[rows] + goal.threat.project(delta[rows], x[rows], rows)
    if result.logits is not None:
        result.logits[rows] = float("nan")
    if result.success is not None:
        result.success[rows] = False
    return result
