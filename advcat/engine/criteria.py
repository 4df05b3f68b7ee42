"""Success criteria: when has a sample reached its goal (misclassified, or classified as a target)."""

from __future__ import annotations

from torch import Tensor

from advcat.engine.context import select


class Criterion:
    """A per-sample test on the logits; `index` maps rows to the caller's samples."""

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        raise NotImplementedError


class Misclassified(Criterion):
    """Success when the prediction differs from the label `y` (an untargeted attack's goal)."""

    def __init__(self, y: Tensor | int) -> None:
        self.y = y

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        return logits.argmax(1) != select(self.y, index).to(logits.device)

    def __repr__(self) -> str:
        return "Misclassified(y)"


class Hits(Criterion):
    """Success when the prediction equals `target` (a targeted attack's goal)."""

    def __init__(self, target: Tensor | int) -> None:
        self.target = target

    def __call__(self, logits: Tensor, index: Tensor) -> Tensor:
        return logits.argmax(1) == select(self.target, index).to(logits.device)

    def __repr__(self) -> str:
        return "Hits(target)"
