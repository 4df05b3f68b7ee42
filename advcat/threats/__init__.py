"""Threat models: Lp balls around the clean image, always intersected with the [0, 1] box."""

from advcat.threats.base import Threat, clip_to_box
from advcat.threats.factory import NORMS, make_threat
from advcat.threats.l1 import L1, project_l1_box
from advcat.threats.l2 import L2, project_l2_box
from advcat.threats.linf import Linf
from advcat.threats.unbounded import Unbounded

__all__ = [
    "L1", "L2", "NORMS", "Linf", "Threat", "Unbounded", "clip_to_box", "make_threat",
    "project_l1_box", "project_l2_box",
]
