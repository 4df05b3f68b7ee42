"""Ctrl-C: who may keep a cut-short result, and who must stop.

A direct `optimize` or attack call hit by KeyboardInterrupt returns its best iterates so far,
marked `interrupted=True`: useful at a prompt, and the flag says the result is partial. Anything
that counts, commits or trains on results (evaluate, adversarial fine-tuning, multi-run attacks)
runs inside `counting()`, where the engine re-raises instead, so a partial result is never
counted and the interrupt stops the whole call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_COUNTING: ContextVar[bool] = ContextVar("advcat_counting", default=False)


@contextmanager
def counting() -> Iterator[None]:
    """Within this block a KeyboardInterrupt propagates out of the engine (no partial result)."""
    token = _COUNTING.set(True)
    try:
        yield
    finally:
        _COUNTING.reset(token)


def partial_results() -> bool:
    """Whether an interrupted engine run may return its partial result (outside `counting()`)."""
    return not _COUNTING.get()
