"""The objective algebra: per-sample scores the engine maximizes, combined like numbers.

`-O.CrossEntropy(t) - 0.05 * O.TotalVariation()` is an objective; so is a sum of layer terms.
Objectives are immutable; each one knows the layers it reads and prints a readable formula.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from advcat.core.context import Context

Weight = float | int | Tensor


class Objective:
    """A per-sample score of the model's response, shape (N,), to be maximized."""

    #: names of the layers this objective reads (the engine taps exactly these)
    layers: frozenset[str] = frozenset()

    def score(self, ctx: Context) -> Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__ + "()"

    def __call__(self, ctx: Context) -> Tensor:
        out = self.score(ctx)
        if out.dim() != 1 or out.shape[0] != ctx.x.shape[0]:
            raise ValueError(
                f"{self.describe()} returned shape {tuple(out.shape)}; objectives must return one "
                f"score per sample, shape ({ctx.x.shape[0]},)"
            )
        return out

    def __repr__(self) -> str:
        return self.describe()

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"objectives are immutable: cannot set {name!r}")
        object.__setattr__(self, name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __add__(self, other: object) -> Objective:
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not isinstance(other, Objective):
            return NotImplemented
        return Sum([self, other])

    def __radd__(self, other: object) -> Objective:
        if isinstance(other, (int, float)) and other == 0:  # so that sum([...]) works
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Sum([self, Scaled(-1.0, other)])

    def __neg__(self) -> Objective:
        return Scaled(-1.0, self)

    def __mul__(self, weight: object) -> Objective:
        if isinstance(weight, (int, float)) and not isinstance(weight, bool):
            return Scaled(float(weight), self)
        if isinstance(weight, Tensor):
            if weight.dim() > 1:
                raise ValueError(f"a weight must be a scalar or (N,) tensor, got {tuple(weight.shape)}")
            return Scaled(weight, self)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, weight: object) -> Objective:
        if isinstance(weight, (int, float)) and not isinstance(weight, bool):
            return Scaled(1.0 / float(weight), self)
        return NotImplemented


class Sum(Objective):
    """The sum of several objectives' scores."""

    terms: tuple[Objective, ...]

    def __init__(self, terms: Sequence[Objective]) -> None:
        flat: list[Objective] = []
        for term in terms:
            flat.extend(term.terms if isinstance(term, Sum) else [term])
        self.terms = tuple(flat)
        self.layers = frozenset().union(*(t.layers for t in flat))
        self._freeze()

    def score(self, ctx: Context) -> Tensor:
        return torch.stack([term(ctx) for term in self.terms]).sum(0)

    def describe(self) -> str:
        text = self.terms[0].describe()
        for term in self.terms[1:]:
            part = term.describe()
            text += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
        return text


class Scaled(Objective):
    """An objective times a scalar or a per-sample (N,) weight."""

    weight: Weight
    inner: Objective

    def __init__(self, weight: Weight, inner: Objective) -> None:
        if (
            isinstance(inner, Scaled)
            and not isinstance(weight, Tensor)
            and not isinstance(inner.weight, Tensor)
        ):
            weight, inner = float(weight) * float(inner.weight), inner.inner
        self.weight = weight
        self.inner = inner
        self.layers = inner.layers
        self._freeze()

    def score(self, ctx: Context) -> Tensor:
        weight = (
            ctx.per_sample(self.weight, dtype=ctx.logits.dtype)
            if isinstance(self.weight, Tensor)
            else self.weight
        )
        return weight * self.inner(ctx)

    def describe(self) -> str:
        inner = self.inner.describe()
        if " + " in inner or " - " in inner:
            inner = f"({inner})"
        if isinstance(self.weight, Tensor):
            return f"w[{self.weight.numel()}]*{inner}"
        if self.weight == -1.0:
            return f"-{inner}"
        if self.weight < 0:
            return f"-{-self.weight:g}*{inner}"
        return f"{self.weight:g}*{inner}"
