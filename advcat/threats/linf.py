"""The L-infinity ball: every pixel moves by at most eps (the usual threat for PGD and FGSM)."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from advcat.core.rng import per_sample
from advcat.threats.base import Threat, clip_to_box

#: above this L-inf radius (32/255) a budget is unusual enough to warn about
LARGE = 32 / 255


def largest(eps: float | Tensor) -> float:
    """The largest of a scalar or per-sample eps (0 for an empty tensor)."""
    if isinstance(eps, Tensor):
        return float(eps.max()) if eps.numel() else 0.0
    return float(eps)


def check_linf_budget(eps: float | Tensor, name: str = "eps", stacklevel: int = 3) -> None:
    """Refuse an L-inf radius above 1 (pixels are in [0, 1], so 1 already allows any image: a
    value like 8 is almost always 8/255 mistyped); warn above 32/255, `stacklevel` frames up."""
    top = largest(eps)
    if top > 1:
        raise ValueError(
            f"{name}={top:g} is an L-inf radius in pixel space [0, 1], where 1 already allows any "
            f"image; for {top:g}/255 pass {name}={top:g}/255 ({top / 255:.4f}), and for an unbounded "
            "minimum-norm attack (fmn, cw) pass eps=None"
        )
    if top > LARGE:
        warnings.warn(
            f"{name}={top:.4g} is an unusually large L-inf radius ({top * 255:.1f}/255); budgets "
            "in the literature are 1/255 to 16/255", UserWarning, stacklevel=stacklevel,
        )


class Linf(Threat):
    """||delta||_inf <= eps and x0 + delta in [0, 1]; the projection is exact by clamping.

    eps above 1 is refused (see `check_linf_budget`)."""

    name = "linf"
    FUSED = "linf"

    def __init__(self, eps: float | Tensor) -> None:
        super().__init__(eps)
        assert self.eps is not None
        if largest(self.eps) > 1:
            check_linf_budget(self.eps)

    def norm(self, delta: Tensor) -> Tensor:
        """Largest absolute change per sample, shape (n,)."""
        return delta.flatten(1).abs().amax(1)

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """Clamp to [-eps, eps], then to the box: both are per coordinate, so this is exact."""
        eps = self.eps_for(index, delta).view(-1, *([1] * (delta.dim() - 1)))
        return clip_to_box(torch.maximum(torch.minimum(delta, eps), -eps), x0)

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0, *,
                     ids: Tensor | None = None) -> Tensor:
        """Uniform in the ball (each coordinate uniform in [-eps, eps]), then clipped to the box."""
        u = per_sample("rand", tuple(x0.shape[1:]), index if ids is None else ids, seed, restart,
                       device=x0.device, dtype=x0.dtype)
        eps = self.eps_for(index, x0).view(-1, *([1] * (x0.dim() - 1)))
        return self.project((2.0 * u - 1.0) * eps, x0, index)
