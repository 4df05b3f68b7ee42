"""The fallback of minimum-norm attacks: a sample their search leaves unflipped gets another try.

A minimum-norm search can settle on the decision boundary from inside (tied logits) and never
cross it. Such samples get PGD in the attack's norm over balls that grow from the size the
search reached, by `GROWTH` per round, up to the attack's eps (the whole box when unbounded); a
point PGD flips is then refined, when the attack can start from an adversarial point (FMN does,
as its paper allows). The fallback only adds successes: a sample it cannot flip keeps its result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import Tensor, nn

from advcat.attacks.base import Goal
from advcat.attacks.pursuit import attack_objective, pursue
from advcat.attacks.runs import BestOfRuns, subgoal
from advcat.core.result import Result
from advcat.core.rng import derive_seed
from advcat.steps import Normalized, Sign
from advcat.threats import make_threat

#: each round's ball is this much larger than the last one
GROWTH = 1.5
#: PGD steps per round
ROUND_STEPS = 20
#: the smallest starting ball, as a fraction of the largest
FLOOR = 1e-3
_STREAM = 0x46A11  # keys the fallback's random starts apart from the attack's own

Refine = Callable[[Tensor, Goal, Tensor], Result]


def flip_the_rest(
    model: nn.Module, x: Tensor, goal: Goal, found: Result, refine: Refine | None = None
) -> Result:
    """`found` with every unsuccessful sample it can flip flipped: PGD over growing balls, then
    `refine(x_rows, goal_rows, adversarial_start)` where given; costs are added to `found`'s."""
    assert found.success is not None
    if bool(found.success.all()):
        return found
    n = x.shape[0]
    index = torch.arange(n, device=x.device)
    cap = goal.threat.eps_for(index, x).to(torch.float32).reshape(-1).expand(n).clone()
    reached = goal.threat.norm(found.x - x).to(torch.float32)
    radius = torch.maximum(reached * GROWTH, cap * FLOOR).minimum(cap)
    runs = BestOfRuns(x)
    runs.add(found, index, torch.ones(n, dtype=torch.bool, device=x.device))
    rows = (~runs.success).nonzero().squeeze(1)
    for k in range(_rounds()):
        part = dataclasses.replace(subgoal(goal, rows), threat=make_threat(goal.threat.name, radius[rows]))
        step = Sign(2.5 * radius[rows] / ROUND_STEPS) if goal.threat.name == "linf" else Normalized(
            2.5 * radius[rows] / ROUND_STEPS, p=2 if goal.threat.name == "l2" else 1)
        attempt = pursue(model, x[rows], part, attack_objective("ce", part), step, ROUND_STEPS,
                         keep="min_norm", early_stop=True, seed=derive_seed(goal.seed, _STREAM, k))
        assert attempt.success is not None
        if refine is not None and bool(attempt.success.any()):
            attempt = _refined(attempt, refine, x[rows], subgoal(goal, rows))
        assert attempt.success is not None
        runs.add(attempt, rows, attempt.success)
        if bool((radius[rows] >= cap[rows]).all()):
            break
        radius[rows] = (radius[rows] * GROWTH).minimum(cap[rows])
        rows = (~runs.success).nonzero().squeeze(1)
        if rows.numel() == 0:
            break
    return _with(runs.result(found.objective), found)


def _rounds() -> int:
    """Enough rounds to grow the smallest ball to the largest."""
    rounds = 1
    while GROWTH**rounds * FLOOR < 1:
        rounds += 1
    return rounds + 1


def _refined(attempt: Result, refine: Refine, x: Tensor, goal: Goal) -> Result:
    """The refinement from PGD's adversarial points where it keeps success; PGD's point elsewhere."""
    assert attempt.success is not None
    flipped = attempt.success.nonzero().squeeze(1)
    better = refine(x[flipped], subgoal(goal, flipped), attempt.x[flipped])
    assert better.success is not None
    merged = BestOfRuns(x)
    every = torch.arange(x.shape[0], device=x.device)
    merged.add(attempt, every, torch.ones_like(attempt.success))
    size = goal.threat.norm(better.x - x[flipped]) <= goal.threat.norm(attempt.x[flipped] - x[flipped])
    merged.add(better, flipped, better.success & size)
    return merged.result(attempt.objective)


def _with(merged: Result, found: Result) -> Result:
    """The merged result with `found`'s history, seed and objective (an interrupted run never gets
    here: `BestOfRuns.add` re-raises its KeyboardInterrupt)."""
    return dataclasses.replace(merged, history=found.history, seed=found.seed, objective=found.objective)
