"""Checks every public entry point runs before any work starts, with errors a user can act on."""

from __future__ import annotations

import torch
from torch import Tensor


def check_images(x: object, *, name: str = "x") -> Tensor:
    """A float (N, C, H, W) tensor with finite values in [0, 1]; raises a precise error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(
            f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}{hint}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor in [0, 1], got dtype {x.dtype} "
            "(for 8-bit images divide by 255)"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (pixel space), got values in [{low:.4g}, {high:.4g}]; "
            "normalization belongs inside the model (advcat.wrap)"
        )
    return x


def check_labels(y: object, n: int, *, name: str = "y", num_classes: int | None = None) -> Tensor:
    """An integer (N,) tensor of class indices matching a batch of `n` images."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match x, got {tuple(y.shape)}")
    if y.dtype in (torch.bool,) or y.is_floating_point() or y.is_complex():
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if num_classes is not None and y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{name} holds class indices outside [0, {num_classes - 1}]: "
            f"min {int(y.min())}, max {int(y.max())}"
        )
    return y


def check_same_device(*tensors: Tensor, model: torch.nn.Module | None = None) -> None:
    """All tensors (and the model's parameters, if any) on one device."""
    devices = {t.device for t in tensors}
    if model is not None:
        param = next(iter(model.parameters()), None)
        if param is not None:
            devices.add(param.device)
    if len(devices) > 1:
        raise ValueError(
            f"tensors and model are on different devices: {sorted(str(d) for d in devices)}; "
            "move the input to the model's device (advcat never moves your model)"
        )


def check_logits(logits: Tensor) -> Tensor:
    """The model's output must be finite (N, K) logits."""
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"the model must return logits of shape (N, K), got {shape}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("the model returned NaN or infinite logits on the input")
    return logits
