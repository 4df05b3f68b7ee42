"""The model is borrowed, not changed: eval mode and frozen parameters for the duration of a call."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import torch
from torch import Tensor, nn

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def borrowed(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode with parameter gradients off; restore both on exit, even on error.

    Every public entry point wraps its work in this guard, so no call leaves a mode, a
    `requires_grad` flag or a BatchNorm statistic changed. The work runs in the default grad
    mode (`default_grad_mode`), so a caller's `torch.no_grad()` or `torch.inference_mode()`
    changes nothing.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for param, _ in flags:
            param.requires_grad_(False)
        with default_grad_mode():
            yield model
    finally:
        for module, training in modes:
            module.training = training
        for param, requires_grad in flags:
            param.requires_grad_(requires_grad)


@contextmanager
def default_grad_mode() -> Iterator[None]:
    """Run the block with autograd on and outside inference mode, whatever the caller's mode.

    Attacks, synthesis and attribution take gradients with respect to the input and training
    takes them with respect to parameters; a caller's `torch.no_grad()` or
    `torch.inference_mode()` must neither break them nor change their result.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


def any_grad_mode(function: F) -> F:
    """Decorate a public entry point so that it runs in `default_grad_mode()`: the same result
    inside the caller's `torch.no_grad()` or `torch.inference_mode()` as outside."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with default_grad_mode():
            return function(*args, **kwargs)

    return cast(F, wrapper)


def usable(x: Tensor) -> Tensor:
    """`x` itself, or a normal copy of an inference tensor (one made under `torch.inference_mode()`),
    which autograd cannot save for backward."""
    if not x.is_inference():
        return x
    with torch.inference_mode(False):
        return x.clone()
