"""Step rules, split as rai-toolbox does: "transform the gradient", then "apply" it.

A step rule keeps its per-sample state in a dict of tensors whose first dimension is the active
samples, so the engine can compact it (drop finished samples) by indexing every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from advcat.core.context import select

State = dict[str, Tensor]


@dataclass
class StepInfo:
    """What a step rule may read at iteration `t` of `steps` (all per-sample tensors are (n,))."""

    t: int
    steps: int
    index: Tensor
    score: Tensor
    project: Callable[[Tensor], Tensor]
    eps: Tensor | None = None
    #: the clean images of the active samples (the threat's centre); gradient-free and
    #: minimum-norm rules build their proposals from x0 + delta
    x0: Tensor | None = None
    #: the run's seed and restart, for rules that draw per-sample randomness (advcat.core.rng)
    seed: int = 0
    restart: int = 0
    #: the active rows' sample ids, which key their draws (None: the row index is the id)
    ids: Tensor | None = None

    def sample_ids(self) -> Tensor:
        """The ids that key the active rows' randomness: `ids`, or the row index without them."""
        return self.index if self.ids is None else self.ids


class Step:
    """Base class for a step rule on the optimized variable z (pixels or a parameterization)."""

    #: False for gradient-free rules (Square): the engine then skips the backward pass
    needs_grad: bool = True

    def init(self, z: Tensor, info: StepInfo) -> State:
        """Per-sample state before the first step (empty by default)."""
        return {}

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """Turn the gradient of the score into an ascent direction."""
        raise NotImplementedError

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """Move z along `direction`; the engine projects the result onto the threat's set."""
        raise NotImplementedError

    def fused_form(self) -> str | None:
        """The name of the fused kernel family this rule's exact update belongs to, declared by the
        class itself with `FUSED = "..."` (a subclass that changes the update inherits none)."""
        declared = type(self).__dict__.get("FUSED")
        return declared if isinstance(declared, str) else None

    def step_size(self, value: float | Tensor, info: StepInfo, like: Tensor) -> Tensor:
        """A scalar or per-sample step size as an (n, 1, ..., 1) tensor broadcastable to z."""
        size = select(value, info.index, dtype=like.dtype).to(like.device)
        return size.view(-1, *([1] * (like.dim() - 1)))


def batch_view(values: Tensor, like: Tensor) -> Tensor:
    """Reshape per-sample values (n,) to broadcast over a batch shaped like `like`."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def lp_norm(x: Tensor, p: float) -> Tensor:
    """Per-sample Lp norm of a batch, shape (n,)."""
    flat = x.flatten(1)
    if p == float("inf"):
        return flat.abs().amax(1)
    if p == 2:
        return flat.pow(2).sum(1).sqrt()
    if p == 1:
        return flat.abs().sum(1)
    return flat.abs().pow(p).sum(1).pow(1.0 / p)


