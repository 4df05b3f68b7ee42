"""The engine: one optimization loop that every attack and synthesis preset calls.

Names load lazily: objectives, steps and threats import the engine's leaf modules (context, rng),
and an eager import of `optimize` here would import them back in a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advcat.engine.context import Context
    from advcat.engine.criteria import Criterion, Hits, Misclassified
    from advcat.engine.loop import optimize
    from advcat.engine.result import Result

_NAMES = {
    "Context": "advcat.engine.context",
    "Criterion": "advcat.engine.criteria",
    "Hits": "advcat.engine.criteria",
    "Misclassified": "advcat.engine.criteria",
    "optimize": "advcat.engine.loop",
    "Result": "advcat.engine.result",
}

__all__ = ["Context", "Criterion", "Hits", "Misclassified", "Result", "optimize"]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'advcat.engine' has no attribute {name!r}")
