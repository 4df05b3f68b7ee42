"""Validation of step sizes given as a float or a per-sample (N,) tensor, before any work starts."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_size(value: float | Tensor, name: str, *, allow_zero: bool = False) -> float | Tensor:
    """`value` as a float or a detached (N,) tensor; raise if it is not finite and positive."""
    low = "non-negative" if allow_zero else "positive"
    if isinstance(value, Tensor):
        if value.dim() > 1:
            raise ValueError(f"{name} must be a scalar or an (N,) tensor, got shape "
                             f"{tuple(value.shape)}")
        ok = bool(torch.isfinite(value).all()) and bool(
            ((value >= 0) if allow_zero else (value > 0)).all())
        if not ok:
            raise ValueError(f"{name} must be finite and {low}, got {value.tolist()}")
        if value.dim() == 0:
            return float(value.item())
        return value.detach() if value.is_floating_point() else value.detach().double()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float or an (N,) tensor, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be finite and {low}, got {value}")
    return float(value)


def show_size(value: float | Tensor) -> str:
    """A short description of a scalar or per-sample size, for reprs."""
    return f"[{value.numel()} values]" if isinstance(value, Tensor) else f"{value:.6g}"
