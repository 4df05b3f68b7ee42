"""Several eps in one pass: each budget attacks only the points no smaller budget broke.

The eps balls around a point are nested, so an adversarial image found within a smaller eps is
one within every larger eps too: it is carried over instead of searched for again. The one carry
rule serves `attack(model, x, y, eps=[...])` and evaluation's cascade alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import Tensor

from advcat.attacks.result import AttackResult

#: run_at(eps, rows) attacks the rows at eps and returns which of them it broke (one per row), or
#: None when the run was cut short and no larger eps should run
RunAt = Callable[[float, Tensor], "Tensor | None"]


def is_eps_list(eps: object) -> bool:
    """Whether `eps` asks for a sweep (a list or tuple of budgets) rather than one budget."""
    return isinstance(eps, (list, tuple))


def check_eps_list(eps: Sequence[object]) -> list[float]:
    """The budgets of a sweep as floats: a non-empty list of numbers (a per-sample eps is one tensor)."""
    if len(eps) == 0:
        raise ValueError("eps is an empty list; give one budget or a list of them")
    if any(isinstance(e, bool) or not isinstance(e, (int, float)) for e in eps):
        raise TypeError(f"a list of eps holds numbers, one budget each, got {list(eps)!r}; a per-sample "
                        "eps is one tensor of shape (N,)")
    return [float(cast(float, e)) for e in eps]


def sweep(run_at: RunAt, budgets: Sequence[float], active: Sequence[Tensor]) -> list[Tensor | None]:
    """Per budget, in increasing order: the points broken at a smaller budget count as broken
    (carried), the other `active[k]` points are attacked. Returns the broken mask per budget, in
    the order given (None for a budget not reached because a run was cut short)."""
    order = sorted(range(len(budgets)), key=lambda k: budgets[k])
    carried = torch.zeros_like(active[0], dtype=torch.bool)
    broken: list[Tensor | None] = [None] * len(budgets)
    for k in order:
        rows = (active[k] & ~carried).nonzero().squeeze(1)
        hit = run_at(budgets[k], rows) if rows.numel() else rows.new_zeros(0, dtype=torch.bool)
        if hit is None:
            break
        newly = torch.zeros_like(carried)
        newly[rows[hit.to(rows.device)]] = True
        broken[k] = (carried & active[k]) | newly
        carried |= newly
    return broken


def carry(previous: AttackResult, found: AttackResult, rows: Tensor) -> AttackResult:
    """`previous` (the result at a smaller eps, every point) with the rows attacked again at a
    larger eps replaced by `found`; carried rows keep their images, logits and costs."""
    merged = {name: getattr(previous, name).clone() for name in
              ("adv", "success", "logits", "steps_taken", "queries")}
    for name, values in merged.items():
        values[rows.to(values.device)] = getattr(found, name).to(values.device, values.dtype)
    return dataclasses.replace(previous, **merged, eps=found.eps, config=found.config,
                               interrupted=found.interrupted)
