"""Differentiable input transforms applied before each forward pass (EOT, input diversity)."""

from advcat.transforms.diversity import InputDiversity

__all__ = ["InputDiversity"]
