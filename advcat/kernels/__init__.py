"""Fused kernels for the hot steps, each with a plain-torch twin (`advcat.kernels.reference`).

The public functions dispatch on the backend chosen with `set_kernels` and the tensors' device.
"""

from __future__ import annotations

from torch import Tensor

from advcat.kernels import reference
from advcat.kernels.accelerate import accelerate
from advcat.kernels.backend import get_kernels, set_kernels, use_triton


def linf_step(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor, eps: Tensor) -> Tensor:
    """Sign step of size alpha, projection onto the Linf ball of radius eps around x0, [0, 1] clamp."""
    if use_triton(x):
        from advcat.kernels import triton_steps

        return triton_steps.linf_step(x, grad, x0, alpha, eps)
    return reference.linf_step(x, grad, x0, alpha, eps)


def l2_step_clipped(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
    """Normalized L2 step clipped to the box, with the resulting delta's per-sample L2 norm."""
    if use_triton(x):
        from advcat.kernels import triton_steps

        return triton_steps.l2_step_clipped(x, grad, x0, alpha)
    return reference.l2_step_clipped(x, grad, x0, alpha)


def best_update(best: Tensor, x: Tensor, index: Tensor, better: Tensor) -> None:
    """best[index[i]] = x[i] where better[i], in place."""
    if use_triton(x) and best.is_contiguous():
        from advcat.kernels import triton_steps

        triton_steps.best_update(best, x, index, better)
        return
    reference.best_update(best, x, index, better)


def total_variation(x: Tensor, p: int = 1) -> Tensor:
    """Per-sample total variation (mean |difference|^p over rows plus over columns)."""
    if use_triton(x):
        from advcat.kernels import triton_tv

        return triton_tv.total_variation(x, p)
    return reference.total_variation(x, p)


__all__ = ["accelerate", "best_update", "get_kernels", "l2_step_clipped", "linf_step", "set_kernels",
           "total_variation"]
