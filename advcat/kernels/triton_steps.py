"""Fused Triton kernels for the engine's elementwise steps: one pass over x, grad and x0.

Each program handles one block of one sample, so per-sample step sizes and budgets are a single
scalar load. Inputs of any float dtype are upcast to float32 on load; outputs take x's dtype.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 1024

#: how outputs are allocated (tests swap in a NaN-filled allocator to prove every element is written)
_alloc = torch.empty_like


@triton.jit
def _linf_step_kernel(x_ptr, g_ptr, x0_ptr, out_ptr, alpha_ptr, eps_ptr, size,
                      BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offsets = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < size
    base = row.to(tl.int64) * size
    x = tl.load(x_ptr + base + offsets, mask=mask).to(tl.float32)
    g = tl.load(g_ptr + base + offsets, mask=mask).to(tl.float32)
    x0 = tl.load(x0_ptr + base + offsets, mask=mask).to(tl.float32)
    alpha = tl.load(alpha_ptr + row)
    eps = tl.load(eps_ptr + row)
    sign = tl.where(g > 0, 1.0, tl.where(g < 0, -1.0, 0.0))
    moved = x + alpha * sign
    moved = tl.minimum(tl.maximum(moved, x0 - eps), x0 + eps)
    moved = tl.minimum(tl.maximum(moved, 0.0), 1.0)
    tl.store(out_ptr + base + offsets, moved.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _sum_squares_kernel(g_ptr, partial_ptr, size, blocks, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    block = tl.program_id(1)
    offsets = block * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < size
    g = tl.load(g_ptr + row.to(tl.int64) * size + offsets, mask=mask, other=0.0).to(tl.float32)
    tl.store(partial_ptr + row * blocks + block, tl.sum(g * g, axis=0))


@triton.jit
def _l2_step_kernel(x_ptr, g_ptr, x0_ptr, delta_ptr, partial_ptr, scale_ptr, size, blocks,
                    BLOCK: tl.constexpr):
    row = tl.program_id(0)
    block = tl.program_id(1)
    offsets = block * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < size
    base = row.to(tl.int64) * size
    x = tl.load(x_ptr + base + offsets, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(g_ptr + base + offsets, mask=mask, other=0.0).to(tl.float32)
    x0 = tl.load(x0_ptr + base + offsets, mask=mask, other=0.0).to(tl.float32)
    scale = tl.load(scale_ptr + row)
    delta = x + scale * g - x0
    delta = tl.maximum(tl.minimum(delta, 1.0 - x0), -x0)
    delta = tl.where(mask, delta, 0.0)
    tl.store(delta_ptr + base + offsets, delta, mask=mask)
    tl.store(partial_ptr + row * blocks + block, tl.sum(delta * delta, axis=0))


@triton.jit
def _best_update_kernel(best_ptr, x_ptr, index_ptr, better_ptr, size, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    take = tl.load(better_ptr + row) != 0
    target = tl.load(index_ptr + row).to(tl.int64)
    offsets = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = (offsets < size) & take
    values = tl.load(x_ptr + row.to(tl.int64) * size + offsets, mask=mask)
    tl.store(best_ptr + target * size + offsets, values.to(best_ptr.dtype.element_ty), mask=mask)


def _grid(n: int, size: int) -> tuple[int, int]:
    return (n, triton.cdiv(size, BLOCK))


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    return values.to(device=like.device, dtype=torch.float32).contiguous()


def linf_step(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor, eps: Tensor) -> Tensor:
    """Sign step, Linf projection and [0, 1] clamp in one pass."""
    x, grad, x0 = x.contiguous(), grad.contiguous(), x0.contiguous()
    n, size = x.shape[0], x[0].numel()
    out = _alloc(x)
    _linf_step_kernel[_grid(n, size)](x, grad, x0, out, _per_sample(alpha, x), _per_sample(eps, x),
                                      size, BLOCK=BLOCK)
    return out


def l2_step_clipped(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
    """delta = clip_box(x + alpha * grad / ||grad|| - x0) and ||delta||_2, in two passes."""
    x, grad, x0 = x.contiguous(), grad.contiguous(), x0.contiguous()
    n, size = x.shape[0], x[0].numel()
    grid = _grid(n, size)
    partial = torch.empty(grid, dtype=torch.float32, device=x.device)
    _sum_squares_kernel[grid](grad, partial, size, grid[1], BLOCK=BLOCK)
    length = partial.sum(1).sqrt().clamp_min(1e-12)
    scale = (_per_sample(alpha, x) / length).contiguous()
    delta = _alloc(x, dtype=torch.float32)
    _l2_step_kernel[grid](x, grad, x0, delta, partial, scale, size, grid[1], BLOCK=BLOCK)
    return delta, partial.sum(1).sqrt()


def best_update(best: Tensor, x: Tensor, index: Tensor, better: Tensor) -> None:
    """best[index[i]] = x[i] where better[i], in place, without gathering the rows first."""
    x = x.contiguous()
    n, size = x.shape[0], x[0].numel()
    if n == 0:
        return
    _best_update_kernel[_grid(n, size)](best, x, index.contiguous(),
                                        better.to(torch.int8).contiguous(), size, BLOCK=BLOCK)
