"""The shared vocabulary at the bottom of advcat: per-sample randomness, the context objectives
read, success criteria, the engine's Result and interrupt handling.

Every other package (objectives, steps, threats, params, data, attribution, transfer, and the
engine's loop above them all) imports these; they import nothing of advcat's.
"""

from advcat.core.context import Context
from advcat.core.criteria import Criterion, Hits, Misclassified
from advcat.core.result import Result

__all__ = ["Context", "Criterion", "Hits", "Misclassified", "Result"]
