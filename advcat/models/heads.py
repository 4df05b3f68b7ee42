"""Find and replace a classifier's head, for torchvision, timm and the embedded models alike."""

from __future__ import annotations

from torch import nn


def head_name(net: nn.Module) -> str:
    """The qualified name of the network's final linear layer (its classification head)."""
    modules: dict[str, nn.Module] = dict(net.named_modules())
    getter = getattr(net, "get_classifier", None)
    if callable(getter):
        head = getter()
        for name, module in modules.items():
            if module is head and isinstance(module, nn.Linear):
                return name
    linear = [name for name, module in modules.items() if isinstance(module, nn.Linear)]
    if not linear:
        raise ValueError(f"{type(net).__name__} has no nn.Linear layer to use as its head")
    return linear[-1]


def replace_head(net: nn.Module, num_classes: int) -> nn.Linear:
    """Swap the head for a fresh `Linear(features, num_classes)`; returns the new layer."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    name = head_name(net)
    old = net.get_submodule(name)
    assert isinstance(old, nn.Linear)
    new = nn.Linear(old.in_features, num_classes)
    parent_name, _, child = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, new)
    if hasattr(net, "num_classes"):
        setattr(net, "num_classes", num_classes)  # noqa: B010 - nn.Module typing hides it
    return new
