"""Objectives on the image itself: total variation, Lp distance, blur: priors and budgets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from advcat.core.context import Context
from advcat.kernels import total_variation
from advcat.objectives.base import Objective


class TotalVariation(Objective):
    """Mean difference between neighbouring pixels (the lesson's "variation loss").

    `p=1` is the anisotropic L1 form, `p=2` the mean squared differences. Subtract it to smooth.
    """

    def __init__(self, p: int = 1) -> None:
        if p not in (1, 2):
            raise ValueError(f"TotalVariation supports p=1 or p=2, got {p}")
        self.p = p
        self._freeze()

    def describe(self) -> str:
        return f"TotalVariation(L{self.p})"

    def score(self, ctx: Context) -> Tensor:
        return total_variation(ctx.x, self.p).to(ctx.x.dtype)


class Lp(Objective):
    """The Lp distance of the image to a reference (the clean input when `reference` is None).

    A soft budget: subtract it to keep a perturbation small without a hard threat model.
    """

    def __init__(self, p: float = 2.0, reference: Tensor | None = None) -> None:
        if p <= 0:
            raise ValueError(f"Lp needs p > 0, got {p}")
        self.p = float(p)
        self.reference = reference
        self._freeze()

    def describe(self) -> str:
        ref = "x0" if self.reference is None else "reference"
        return f"L{self.p:g}(x - {ref})"

    def score(self, ctx: Context) -> Tensor:
        if self.reference is None:
            if ctx.x0 is None:
                raise ValueError("Lp without a reference needs the engine's starting image x0")
            reference = ctx.x0
        else:
            reference = self.reference.to(ctx.x)
            reference = reference[ctx.index] if reference.shape[0] > 1 else reference
        diff = (ctx.x - reference).flatten(1)
        if self.p == float("inf"):
            return diff.abs().max(1).values
        return diff.abs().pow(self.p).sum(1).pow(1.0 / self.p)


class Blur(Objective):
    """Squared difference between the image and its 3x3 box blur: penalizes high frequencies."""

    def __init__(self) -> None:
        self._freeze()

    def score(self, ctx: Context) -> Tensor:
        x = ctx.x
        kernel = torch.full((x.shape[1], 1, 3, 3), 1.0 / 9.0, dtype=x.dtype, device=x.device)
        blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])
        return (x - blurred).pow(2).flatten(1).mean(1)
