"""Threat models: a norm ball of radius eps around x0, always intersected with the [0, 1] box.

Threats work on perturbations `delta = x - x0` of the active samples; `index` maps those rows to the
caller's samples so a per-sample (N,) eps stays aligned through compaction and chunking.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.core.context import select


class Threat:
    """Base class: subclasses define `name`, `norm`, `project` and `random_start`."""

    name: str = "threat"

    def fused_form(self) -> str | None:
        """The fused-kernel name of this threat's projection, declared by the class itself with
        `FUSED = "..."` (a subclass that changes the projection inherits none)."""
        declared = type(self).__dict__.get("FUSED")
        return declared if isinstance(declared, str) else None
    eps: float | Tensor | None

    def __init__(self, eps: float | Tensor) -> None:
        if isinstance(eps, Tensor):
            if eps.dim() > 1:
                raise ValueError(
                    f"eps must be a scalar or an (N,) tensor, got shape {tuple(eps.shape)}")
            if not bool(torch.isfinite(eps).all()) or bool((eps < 0).any()):
                raise ValueError(f"eps must be finite and >= 0, got {eps.tolist()}")
            if eps.dim() == 0:
                eps = float(eps.item())
            else:
                eps = eps.detach() if eps.is_floating_point() else eps.detach().double()
        elif isinstance(eps, (int, float)) and not isinstance(eps, bool):
            if not eps >= 0 or eps != eps or eps == float("inf"):
                raise ValueError(f"eps must be finite and >= 0, got {eps}")
            eps = float(eps)
        else:
            raise TypeError(f"eps must be a float or an (N,) tensor, got {type(eps).__name__}")
        self.eps = eps

    def __repr__(self) -> str:
        if self.eps is None:
            return f"{type(self).__name__}()"
        eps = f"eps[{self.eps.numel()}]" if isinstance(self.eps, Tensor) else f"eps={self.eps:.6g}"
        return f"{type(self).__name__}({eps})"

    def eps_for(self, index: Tensor, like: Tensor) -> Tensor:
        """eps of the rows in `index`, (n,), on `like`'s device and dtype; inf if unbounded."""
        eps = float("inf") if self.eps is None else self.eps
        return select(eps, index, dtype=like.dtype).to(like.device)

    def check_batch(self, n: int) -> None:
        """Raise if a per-sample eps does not match a batch of `n` samples."""
        if isinstance(self.eps, Tensor) and self.eps.dim() == 1 and self.eps.shape[0] != n:
            raise ValueError(f"eps has {self.eps.shape[0]} values but the batch has {n} samples")

    def norm(self, delta: Tensor) -> Tensor:
        """The per-sample size of `delta` in this threat's norm, shape (n,)."""
        raise NotImplementedError

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """The closest delta in the ball of radius eps such that x0 + delta lies in [0, 1]."""
        raise NotImplementedError

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0, *,
                     ids: Tensor | None = None) -> Tensor:
        """A random feasible delta for the rows `index`, drawn from (seed, sample id, restart) alone;
        `ids` are the rows' sample ids (default: `index` itself, row i being sample i)."""
        raise NotImplementedError


def clip_to_box(delta: Tensor, x0: Tensor) -> Tensor:
    """`delta` clipped coordinate-wise so that x0 + delta lies in [0, 1] (x0 itself in [0, 1])."""
    return torch.maximum(torch.minimum(delta, 1.0 - x0), -x0)


def rounding_slack(dtype: torch.dtype) -> float:
    """Factor below 1 that keeps a projection onto the sphere inside the ball after rounding to
    `dtype` (1 for float64): the result is exact to the precision the caller works in."""
    return 1.0 if dtype == torch.float64 else 1.0 - 4.0 * torch.finfo(dtype).eps
