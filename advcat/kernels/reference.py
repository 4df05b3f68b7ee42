"""Plain-torch twins of the fused kernels: the reference each kernel is tested against."""

from __future__ import annotations

import torch
from torch import Tensor


def _rows(values: Tensor, like: Tensor) -> Tensor:
    return values.view(-1, *([1] * (like.dim() - 1))).to(torch.float32)


def linf_step(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor, eps: Tensor) -> Tensor:
    """clamp(clamp(x + alpha * sign(grad), x0 - eps, x0 + eps), 0, 1), computed in float32."""
    xf, x0f = x.float(), x0.float()
    a, e = _rows(alpha, x), _rows(eps, x)
    moved = xf + a * torch.sign(grad.float())
    return torch.minimum(torch.maximum(moved, x0f - e), x0f + e).clamp(0.0, 1.0).to(x.dtype)


def l2_step_clipped(x: Tensor, grad: Tensor, x0: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
    """delta = clip_box(x + alpha * grad / ||grad|| - x0) and ||delta||_2 per sample (float32)."""
    xf, x0f, g = x.float(), x0.float(), grad.float()
    length = g.flatten(1).norm(dim=1).clamp_min(1e-12)
    moved = xf + _rows(alpha, x) * g / _rows(length, x)
    delta = torch.maximum(torch.minimum(moved - x0f, 1.0 - x0f), -x0f)
    return delta, delta.flatten(1).norm(dim=1)


def best_update(best: Tensor, x: Tensor, index: Tensor, better: Tensor) -> None:
    """best[index[i]] = x[i] where better[i], in place (one copy when every row is better)."""
    if bool(better.all()):
        best.index_copy_(0, index, x.to(best.dtype))
        return
    rows = index[better]
    if rows.numel():
        best[rows] = x[better].to(best.dtype)


def total_variation(x: Tensor, p: int = 1) -> Tensor:
    """Per-sample mean |neighbour difference|^p over rows plus over columns."""
    xf = x.float()
    dh = xf[..., 1:, :] - xf[..., :-1, :]
    dw = xf[..., :, 1:] - xf[..., :, :-1]
    if p == 1:
        return dh.abs().flatten(1).mean(1) + dw.abs().flatten(1).mean(1)
    return dh.pow(2).flatten(1).mean(1) + dw.pow(2).flatten(1).mean(1)
