"""Image parameterizations: the engine optimizes a variable z and the model sees `to_image(z)`."""

from __future__ import annotations

from torch import Tensor


class Param:
    """Base class: a differentiable map from an optimized tensor to images in [0, 1]."""

    #: a step size that works for Adam on this parameterization (synthesis uses it when lr=None)
    default_lr: float = 0.05

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """The starting variable for the samples whose ids are `index` (they key the draws, so a
        sample starts the same in any batch), drawn from (seed, id, restart)."""
        raise NotImplementedError

    def to_image(self, z: Tensor) -> Tensor:
        """Images (n, C, H, W) in [0, 1] from the variable."""
        raise NotImplementedError

    def project(self, z: Tensor) -> Tensor:
        """Map z back onto its feasible set after a step (identity for unconstrained variables)."""
        return z
