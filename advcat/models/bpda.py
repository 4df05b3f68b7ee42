"""BPDA (Athalye et al. 2018): keep a non-differentiable layer's forward, replace its backward.

Quantization, JPEG, thresholds and other gradient-masking layers give zero or useless gradients;
wrapped in `bpda`, the forward is unchanged while gradients flow through the identity
(straight-through) or through a differentiable approximation of the layer.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


class BPDA(nn.Module):
    """`module`'s output in the forward pass; `backward(x)`'s gradient in the backward pass."""

    def __init__(self, module: nn.Module | Callable[[Tensor], Tensor],
                 backward: Callable[[Tensor], Tensor] | None = None) -> None:
        super().__init__()
        if not callable(module):
            raise TypeError(f"bpda wraps a module or function, got {type(module).__name__}")
        if backward is not None and not callable(backward):
            raise TypeError(f"backward must be callable, got {type(backward).__name__}")
        self.module = module
        self.approximation = backward

    def forward(self, x: Tensor) -> Tensor:
        exact = self.module(x)
        surrogate = x if self.approximation is None else self.approximation(x)
        if surrogate.shape != exact.shape:
            raise ValueError(
                f"the backward approximation's output {tuple(surrogate.shape)} does not match the "
                f"layer's output {tuple(exact.shape)}"
            )
        return surrogate + (exact - surrogate).detach()


def bpda(module: nn.Module | Callable[[Tensor], Tensor],
         backward: Callable[[Tensor], Tensor] | None = None) -> BPDA:
    """Wrap a non-differentiable layer: straight-through by default, or through `backward`."""
    return BPDA(module, backward)
