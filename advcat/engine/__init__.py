"""The engine: one optimization loop that every attack and synthesis preset calls.

It sits above the components it runs (objectives, steps, threats, params, kernels), which share
the vocabulary of `advcat.core`; the names re-exported here are that vocabulary's public part.
"""

from advcat.core.context import Context
from advcat.core.criteria import Criterion, Hits, Misclassified
from advcat.core.result import Result
from advcat.engine.loop import optimize

__all__ = ["Context", "Criterion", "Hits", "Misclassified", "Result", "optimize"]
