"""The objective and the success criterion an attack pursues, from its loss name and goal, and the
engine call that pursues them with the goal's threat, stopping, batching, seed and progress."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from advcat.attacks.base import Goal
from advcat.core.criteria import Criterion, Hits, Misclassified
from advcat.core.result import Result
from advcat.engine.loop import optimize
from advcat.objectives import DLR, CrossEntropy, Margin, Objective
from advcat.steps.base import Step

LOSSES = ("ce", "margin", "dlr")


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    return loss


def attack_objective(loss: str, goal: Goal) -> Objective:
    """Untargeted: push away from the label; targeted: pull towards the target."""
    if goal.target is None:
        made: Objective = {"ce": CrossEntropy, "margin": Margin, "dlr": DLR}[loss](goal.labels)
        return made
    if loss == "dlr":
        return DLR(goal.labels, target=goal.target)
    return -(CrossEntropy(goal.target) if loss == "ce" else Margin(goal.target))


def attack_criterion(goal: Goal) -> Criterion:
    return Misclassified(goal.labels) if goal.target is None else Hits(goal.target)


def pursue(model: nn.Module, x: Tensor, goal: Goal, objective: Objective, step: Step, steps: int,
           **engine: Any) -> Result:
    """One `optimize` run for `goal`: its threat, success test, early stopping, batch size,
    seed, progress and EOT draws, with `engine` keywords (restarts, keep, param, transforms, ...)
    added or overriding."""
    options: dict[str, Any] = {
        "threat": goal.threat,
        "success": attack_criterion(goal),
        "early_stop": goal.early_stop,
        "batch_size": goal.batch_size,
        "seed": goal.seed,
        "progress": goal.progress,
        "eot": goal.eot,
        "index": goal.ids,
    }
    options.update(engine)
    return optimize(model, x, objective, step=step, steps=steps, **options)
