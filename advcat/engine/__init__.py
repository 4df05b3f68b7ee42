"""The engine: one optimization loop that every attack and synthesis preset calls."""

from advcat.engine.context import Context
from advcat.engine.criteria import Criterion, Hits, Misclassified
from advcat.engine.optimize import optimize
from advcat.engine.result import Result

__all__ = ["Context", "Criterion", "Hits", "Misclassified", "Result", "optimize"]
