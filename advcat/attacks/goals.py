"""The objective and the success criterion an attack pursues, from its loss name and goal."""

from __future__ import annotations

from advcat.attacks.base import Goal
from advcat.engine.criteria import Criterion, Hits, Misclassified
from advcat.objectives import DLR, CrossEntropy, Margin, Objective

LOSSES = ("ce", "margin", "dlr")


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    return loss


def attack_objective(loss: str, goal: Goal) -> Objective:
    """Untargeted: push away from the label; targeted: pull towards the target."""
    if goal.target is None:
        return {"ce": CrossEntropy, "margin": Margin, "dlr": DLR}[loss](goal.labels)
    if loss == "dlr":
        return DLR(goal.labels, target=goal.target)
    return -(CrossEntropy(goal.target) if loss == "ce" else Margin(goal.target))


def attack_criterion(goal: Goal) -> Criterion:
    return Misclassified(goal.labels) if goal.target is None else Hits(goal.target)
