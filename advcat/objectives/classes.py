"""Objectives on the logits: class logit, cross-entropy, CW margin, DLR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from advcat.core.context import Context
from advcat.objectives.base import Objective

ClassSpec = int | str | Tensor


def resolve_targets(spec: ClassSpec, ctx: Context, name: str = "y") -> Tensor:
    """Class indices (n,) for the active samples from an index, a class name or an (N,) tensor.

    `name` is the user's argument the classes came from, for the error message.
    """
    if isinstance(spec, str):
        from advcat.data.classes import class_index

        spec = class_index(spec, ctx.classes)
    if isinstance(spec, Tensor) and spec.dim() == 0:
        spec = int(spec.item())
    targets = ctx.per_sample(spec, dtype=torch.long)
    num_classes = ctx.logits.shape[1]
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ValueError(
            f"{name} holds class indices outside [0, {num_classes - 1}] (a model with {num_classes} "
            f"classes): got values in [{int(targets.min())}, {int(targets.max())}]"
        )
    return targets


def _describe(spec: ClassSpec) -> str:
    """The classes as a summary prints them: a name as written ("tabby"), an index, or y[N]."""
    if isinstance(spec, Tensor):
        return f"y[{spec.numel()}]" if spec.dim() else str(int(spec.item()))
    return str(spec)


def _best_other(logits: Tensor, classes: Tensor) -> Tensor:
    """The largest logit among the classes other than `classes` (one per sample)."""
    masked = logits.scatter(1, classes[:, None], float("-inf"))
    return masked.max(1).values


class _ClassObjective(Objective):
    def __init__(self, y: ClassSpec) -> None:
        if isinstance(y, Tensor) and (y.dim() > 1 or y.is_floating_point()):
            raise ValueError(f"classes must be an int, a name or an (N,) integer tensor, got {y}")
        self.y = y
        self._freeze()

    def describe(self) -> str:
        return f"{type(self).__name__}({_describe(self.y)})"


class ClassLogit(_ClassObjective):
    """The logit of class `y`: maximize it to make the model see that class."""

    def score(self, ctx: Context) -> Tensor:
        y = resolve_targets(self.y, ctx)
        return ctx.logits.gather(1, y[:, None])[:, 0]


class LogProbability(_ClassObjective):
    """log p(y | x): like the class logit, but pushes the other classes down too."""

    def score(self, ctx: Context) -> Tensor:
        y = resolve_targets(self.y, ctx)
        return F.log_softmax(ctx.logits.float(), 1).gather(1, y[:, None])[:, 0]


class CrossEntropy(_ClassObjective):
    """Cross-entropy towards `y`; maximize it to push a sample away from its label."""

    def score(self, ctx: Context) -> Tensor:
        y = resolve_targets(self.y, ctx)
        return F.cross_entropy(ctx.logits.float(), y, reduction="none")


class Margin(_ClassObjective):
    """Carlini-Wagner margin: best other logit minus the logit of `y` (positive = misclassified).

    Negate it for the targeted form: `-Margin(t)` is the target's logit minus the best other.
    """

    def score(self, ctx: Context) -> Tensor:
        y = resolve_targets(self.y, ctx)
        true = ctx.logits.gather(1, y[:, None])[:, 0]
        return _best_other(ctx.logits, y) - true


class DLR(Objective):
    """Difference of logits ratio (Croce & Hein 2020), invariant to shifts and scales of the logits.

    Untargeted: -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3). Targeted (`target` given):
    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2). Needs 3 classes, 4 when targeted.
    """

    def __init__(self, y: ClassSpec, target: ClassSpec | None = None) -> None:
        self.y = y
        self.target = target
        self._freeze()

    def describe(self) -> str:
        if self.target is None:
            return f"DLR({_describe(self.y)})"
        return f"DLR({_describe(self.y)}, target={_describe(self.target)})"

    def score(self, ctx: Context) -> Tensor:
        logits = ctx.logits.float()
        needed = 3 if self.target is None else 4
        if logits.shape[1] < needed:
            kind = "targeted DLR" if self.target is not None else "DLR"
            raise ValueError(
                f"{kind} needs a model with at least {needed} classes, this one has "
                f"{logits.shape[1]}; use the margin loss (Margin) instead"
            )
        y = resolve_targets(self.y, ctx)
        ordered = logits.sort(1, descending=True).values
        true = logits.gather(1, y[:, None])[:, 0]
        if self.target is None:
            scale = ordered[:, 0] - ordered[:, 2] + 1e-12
            return -(true - _best_other(logits, y)) / scale
        t = resolve_targets(self.target, ctx, "target")
        scale = ordered[:, 0] - 0.5 * (ordered[:, 2] + ordered[:, 3]) + 1e-12
        return -(true - logits.gather(1, t[:, None])[:, 0]) / scale
