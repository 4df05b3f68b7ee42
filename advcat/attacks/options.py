"""Checks of attack options, so a bad setting fails when the attack is built, before any work."""

from __future__ import annotations

import math


def count(name: str, value: int) -> int:
    """An integer >= 1 (steps, restarts, classes), or a ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def positive(name: str, value: float) -> float:
    """A finite number > 0 (learning rates, constants), or a ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def fraction(name: str, value: float) -> float:
    """A number in (0, 1] (APGD's rho), or a ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)
