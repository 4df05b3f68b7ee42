"""No norm bound, only the [0, 1] box: for ideal-class images and unconstrained optimization."""

from __future__ import annotations

from torch import Tensor

from advcat.core.rng import per_sample
from advcat.threats.base import Threat, clip_to_box


class Unbounded(Threat):
    """Any delta with x0 + delta in [0, 1]; `eps` is None and `norm` reports the L2 length."""

    name = "unbounded"

    def __init__(self) -> None:
        self.eps = None

    def norm(self, delta: Tensor) -> Tensor:
        """Euclidean length per sample, shape (n,), for reporting (nothing bounds it)."""
        length: Tensor = delta.flatten(1).norm(dim=1)
        return length

    def project(self, delta: Tensor, x0: Tensor, index: Tensor) -> Tensor:
        """Clip to the box, the only constraint."""
        return clip_to_box(delta, x0)

    def random_start(self, x0: Tensor, index: Tensor, seed: int, restart: int = 0, *,
                     ids: Tensor | None = None) -> Tensor:
        """A uniformly random image: delta = u - x0 with u uniform in [0, 1]."""
        u = per_sample("rand", tuple(x0.shape[1:]), index if ids is None else ids, seed, restart,
                       device=x0.device, dtype=x0.dtype)
        return clip_to_box(u - x0, x0)
