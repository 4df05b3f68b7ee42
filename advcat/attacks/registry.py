"""Attack names and the `advcat.attack` front door."""

from __future__ import annotations

import difflib
from typing import Any, cast

from torch import Tensor, nn

from advcat.attacks.apgd import APGD, APGDCE, APGDDLR, APGDT
from advcat.attacks.base import Attack
from advcat.attacks.cw import CW
from advcat.attacks.ddn import DDN
from advcat.attacks.fmn import FMN
from advcat.attacks.gradient import FGSM, MIFGSM, PGD
from advcat.attacks.result import AttackResult
from advcat.attacks.square import Square
from advcat.attacks.sweep import check_eps_list, is_eps_list
from advcat.attacks.targets import TargetSpec
from advcat.threats.linf import check_linf_budget

METHODS: dict[str, type[Attack]] = {
    "fgsm": FGSM,
    "pgd": PGD,
    "mifgsm": MIFGSM,
    "apgd": APGD,
    "apgd_ce": APGDCE,
    "apgd_dlr": APGDDLR,
    "apgd_t": APGDT,
    "cw": CW,
    "fmn": FMN,
    "ddn": DDN,
    "square": Square,
}


def make_attack(method: str, **options: Any) -> Attack:
    """An attack object by name, with its options (norm, eps, steps, step_size, ..., and `eot`, the
    forward passes each step averages, for randomized models)."""
    key = str(method).lower().replace("-", "_")
    if key not in METHODS:
        close = difflib.get_close_matches(key, list(METHODS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown attack method {method!r}{hint}; available: {sorted(METHODS)}")
    cls = METHODS[key]
    eot = options.pop("eot", 1)
    try:
        made = cls(**options)
    except TypeError as error:
        raise TypeError(f"{key}: {error}") from error
    return made.with_eot(eot)


def attack(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    method: str = "pgd",
    norm: str | None = None,
    eps: float | Tensor | list[float] | tuple[float, ...] | None = None,
    steps: int | None = None,
    step_size: float | Tensor | None = None,
    target: TargetSpec = None,
    restarts: int | None = None,
    early_stop: bool = False,
    seed: int | None = 0,
    batch_size: int | None = None,
    progress: bool = False,
    index: Tensor | None = None,
    **options: Any,
) -> AttackResult | list[AttackResult]:
    """Attack `model` on images `x` (labels `y`, default its own predictions) with `method`.

    `norm=None` is the method's own default (linf; l2 for cw). `eps=None` uses the field's usual
    budget for the norm (linf 8/255, l2 0.5, l1 12), recorded in the result; for the minimum-norm
    methods (cw, fmn, ddn) it means unbounded (the result's eps is None). Options the method does not
    take raise a TypeError naming them. `index` (N,): the samples' ids in a larger data set,
    which key their randomness, so a subset or shard draws what a run over the whole set draws.
    An L-inf eps above 1 is refused (pixels are in [0, 1]: write 8/255, not 8); above 32/255 warns.
    A list of eps returns one result per eps, in the order given: each larger eps attacks only the
    points no smaller eps broke, and carries the others' adversarial images over (nested balls).
    """
    several = is_eps_list(eps)
    settings: dict[str, Any] = {"eps": None if several else eps, **options}
    if norm is not None:
        settings["norm"] = norm
    for name, value in (("steps", steps), ("step_size", step_size), ("restarts", restarts)):
        if value is not None:
            settings[name] = value
    attacker = make_attack(method, **settings)
    budgets: list[float | Tensor | None] = [attacker.eps]
    if several:
        budgets = [*check_eps_list(cast(list[float], eps))]
    for budget in budgets:
        if attacker.norm == "linf" and budget is not None:
            check_linf_budget(budget)
    return attacker(
        model, x, y, eps=eps if several else None, target=target, early_stop=early_stop, seed=seed,
        batch_size=batch_size, progress=progress, index=index,
    )
