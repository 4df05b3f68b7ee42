"""Success criteria: when has a sample reached its goal (misclassified, or classified as a target)."""

from __future__ import annotations

from torch import Tensor

from advcat.core.context import select


def goal_reached(predictions: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
    """The one success rule: the predicted class is the target (targeted), or is not the label.

    Every success in advcat (the engine's early stop, the final AttackResult, the 8-bit repair,
    transfer rates) is this test, so a sample cannot count as broken under one rule and not another.
    """
    goal = labels if target is None else target
    hit = predictions == goal.to(predictions.device)
    return hit if target is not None else ~hit


class Criterion:
    """A per-sample test on the logits; `index` maps rows to the caller's samples."""

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        raise NotImplementedError


class Misclassified(Criterion):
    """Success when the prediction differs from the label `y` (an untargeted attack's goal)."""

    def __init__(self, y: Tensor | int) -> None:
        self.y = y

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        return goal_reached(logits.argmax(1), select(self.y, index), None)

    def __repr__(self) -> str:
        return "Misclassified(y)"


class Hits(Criterion):
    """Success when the prediction equals `target` (a targeted attack's goal)."""

    def __init__(self, target: Tensor | int) -> None:
        self.target = target

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        target = select(self.target, index)
        return goal_reached(logits.argmax(1), target, target)

    def __repr__(self) -> str:
        return "Hits(target)"
