"""`make_threat(norm, eps)`: a threat model from the names users type ("linf", "l2", "none")."""

from __future__ import annotations

from torch import Tensor

from advcat.threats.base import Threat
from advcat.threats.l1 import L1
from advcat.threats.l2 import L2
from advcat.threats.linf import Linf
from advcat.threats.unbounded import Unbounded

_BOUNDED: dict[str, type[Threat]] = {"linf": Linf, "inf": Linf, "l2": L2, "l1": L1}
_UNBOUNDED = ("none", "unbounded")
NORMS = (*_BOUNDED, *_UNBOUNDED)


def make_threat(norm: str, eps: float | Tensor | None = None) -> Threat:
    """The threat named `norm` (case-insensitive) with radius `eps`; "none" takes no eps."""
    if not isinstance(norm, str):
        raise TypeError(f"norm must be a string, one of {list(NORMS)}, got {type(norm).__name__}")
    key = norm.strip().lower()
    if key in _UNBOUNDED:
        if eps is not None:
            raise ValueError(f"norm {norm!r} has no radius: pass eps=None, got eps={eps!r}")
        return Unbounded()
    if key not in _BOUNDED:
        raise ValueError(f"unknown norm {norm!r}; valid names: {', '.join(NORMS)}")
    if eps is None:
        raise ValueError(f"norm {norm!r} needs a radius eps (a float or an (N,) tensor)")
    return _BOUNDED[key](eps)
