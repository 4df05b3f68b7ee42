"""Opt-in GPU speed-ups applied to a copy of the model: channels_last memory and torch.compile.

The user's model is never changed: the copy is what the attack runs on.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def accelerate(model: nn.Module, *, channels_last: bool = True, compile: bool = False,
               mode: str | None = None) -> nn.Module:
    """A deep copy of `model` in eval mode, in channels_last layout and/or compiled."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"accelerate expects an nn.Module, got {type(model).__name__}")
    fast = copy.deepcopy(model).eval()
    for param in fast.parameters():
        param.requires_grad_(False)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    if compile:
        compiled = torch.compile(fast, mode=mode)
        assert isinstance(compiled, nn.Module)
        fast = compiled
    return fast
