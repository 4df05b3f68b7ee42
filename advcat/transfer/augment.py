"""Training-time augmentation on the device with kornia: random resized crops and flips by default.

kornia is imported only when augmentation is used. A custom augmentation is any callable that maps
a batch (N, C, H, W) in [0, 1] to a batch of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

Augment = Callable[[Tensor], Tensor]


def build_augment(augment: str | Augment | None, shape: tuple[int, ...]) -> Augment | None:
    """The augmentation for images of `shape` (C, H, W): "default", "none"/None, or a callable."""
    if augment is None or augment == "none":
        return None
    if augment == "default":
        try:
            import kornia.augmentation as K
        except ImportError as error:
            raise ImportError("augment='default' needs kornia: pip install kornia, or pass "
                              "augment='none'") from error
        return nn.Sequential(
            K.RandomResizedCrop((shape[1], shape[2]), scale=(0.8, 1.0), ratio=(0.9, 1.1)),
            K.RandomHorizontalFlip(),
        )
    if callable(augment):
        return augment
    raise ValueError(f"augment must be 'default', 'none', None or a callable, got {augment!r}")


def describe(augment: str | Augment | None) -> str:
    """The name recorded in the training config."""
    if augment is None:
        return "none"
    if isinstance(augment, str):
        return augment
    name = getattr(augment, "__qualname__", None) or type(augment).__name__
    return f"custom: {name}"
