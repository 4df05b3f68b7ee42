"""The model is borrowed, not changed: eval mode and frozen parameters for the duration of a call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def borrowed(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode with parameter gradients off; restore both on exit, even on error.

    Every public entry point wraps its work in this guard, so no call leaves a mode, a
    `requires_grad` flag or a BatchNorm statistic changed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for param, _ in flags:
            param.requires_grad_(False)
        yield model
    finally:
        for module, training in modes:
            module.training = training
        for param, requires_grad in flags:
            param.requires_grad_(requires_grad)
