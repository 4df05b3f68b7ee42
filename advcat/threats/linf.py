"""The L-infinity ball: every pixel moves by at most eps (the usual threat for PGD and FGSM)."""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.engine.rng import per_sample
from advcat.threats.base import Threat, clip_to_box


class Linf(Threat):
    """||delta||_inf <= eps and x0 + delta in [0, 1]; the projection is exact by clamping."""

    name = "linf"

    def norm(self, delta: Tensor) -> Tensor:
        """Largest absolute change per sample, shape (n,)."""
        return delta.flatten(1).abs().amax(1)

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """Clamp to [-eps, eps], then to the box: both are per coordinate, so this is exact."""
        eps = self.eps_for(index, delta).view(-1, *([1] * (delta.dim() - 1)))
        return clip_to_box(torch.maximum(torch.minimum(delta, eps), -eps), x0)

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0) -> Tensor:
        """Uniform in the ball (each coordinate uniform in [-eps, eps]), then clipped to the box."""
        u = per_sample("rand", tuple(x0.shape[1:]), index, seed, restart,
                       device=x0.device, dtype=x0.dtype)
        eps = self.eps_for(index, x0).view(-1, *([1] * (x0.dim() - 1)))
        return self.project((2.0 * u - 1.0) * eps, x0, index)
