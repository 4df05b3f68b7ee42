"""Differentiable input transforms applied before each forward pass (EOT, input diversity).

Importing this package never imports kornia: the robustness stack loads it when one is built.
"""

from advcat.transforms.diversity import InputDiversity
from advcat.transforms.robustness import Robustness

__all__ = ["InputDiversity", "Robustness"]
