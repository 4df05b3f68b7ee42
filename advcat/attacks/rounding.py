"""Adversarial images that survive saving: 8-bit rounding, its check, and a repair when it breaks them.

A PNG stores round(255 x). An attack that stops just past the decision boundary (minimum-norm
attacks by design) can fall back over it when rounded. `attack_rounded` checks the rounded
images and, where rounding broke the attack, runs it again with the rounding inside the model
(straight-through gradient), so the attack itself sees exactly the images that will be saved.
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
from torch import Tensor, nn

from advcat.attacks.base import Attack
from advcat.attacks.result import AttackResult
from advcat.attacks.targets import TargetSpec
from advcat.core.criteria import goal_reached
from advcat.data.images import to_uint8
from advcat.models.bpda import bpda
from advcat.models.guard import borrowed

LEVELS = 255.0


def eight_bit(x: Tensor) -> Tensor:
    """The image a PNG stores, as floats: to_uint8(x) / 255 (no gradient)."""
    return to_uint8(x.detach()).to(x.dtype) / LEVELS


def rounded(
    model: nn.Module, result: AttackResult, *, outward: bool = False, clean: Tensor | None = None
) -> AttackResult:
    """`result` with each adversarial image replaced by its 8-bit version, re-evaluated on `model`.

    Pixels round to the nearest level, or with `outward` to the next level away from the clean
    image (every change kept at least as large, in the same direction). For linf, a pixel that
    rounding pushed past eps steps back one level towards the clean image, so the saved image
    stays within budget (eps >= 0.5 / 255). For L2 and L1, an image that rounding pushed past eps
    is repaired on the 8-bit grid (`_into_budget`); a sample for which no 8-bit image within eps
    exists is reported unsuccessful, with a warning. `clean` is the clean batch (default
    adv - delta, exact up to float rounding); the L2 and L1 budgets are checked against it in float64.
    """
    outcome, within = _rounded(model, result, outward=outward, clean=clean)
    _warn_out_of_reach(result, within)
    return outcome


def _rounded(
    model: nn.Module, result: AttackResult, *, outward: bool, clean: Tensor | None
) -> tuple[AttackResult, Tensor]:
    """`rounded`'s result, and per sample whether its saved image is within eps (no warning)."""
    x = result.x0 if clean is None else clean.to(result.adv.dtype)
    levels = to_uint8(result.adv).to(torch.int16)
    if outward:
        scaled = result.adv.detach().double() * LEVELS
        away = torch.where(result.delta > 0, (scaled - 1e-6).ceil(), (scaled + 1e-6).floor())
        levels = torch.where(result.delta == 0, levels, away.to(torch.int16))
    within = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    if result.norm == "linf" and result.eps is not None:
        eps = torch.as_tensor(result.eps, dtype=torch.float64, device=x.device).reshape(-1, 1, 1, 1)
        change = levels.double() / LEVELS - x.double()
        levels = levels - (change > eps).to(torch.int16) + (change < -eps).to(torch.int16)
    elif result.norm in _POWERS and result.eps is not None:
        eps = torch.as_tensor(result.eps, dtype=torch.float64, device=x.device).reshape(-1)
        levels, within = _into_budget(levels, x, eps, _POWERS[result.norm], result.adv.dtype)
    adv = levels.clamp(0, 255).to(result.adv.dtype) / LEVELS
    with borrowed(model), torch.no_grad():
        logits = model(adv).float()
    predictions = logits.argmax(1)
    success = goal_reached(predictions, result.labels, result.target)
    outcome = dataclasses.replace(result, adv=adv, x0=x, logits=logits, success=success & within)
    return outcome, within


#: the power p of each repaired norm: the budget is sum |delta_i| ** p <= eps ** p
_POWERS = {"l2": 2, "l1": 1}


def _into_budget(
    levels: Tensor, x: Tensor, eps: Tensor, power: int, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """8-bit `levels` moved towards x until each sample's Lp norm is within eps, and where it is.

    Each pass moves, in every sample still over eps, the coordinates farthest from x (whose steps
    save the most, for L1 and L2 alike) one level towards x's own level o_i = round(255 x_i), as
    few as cover the excess, then checks the norm again in float64 on the images as `dtype` stores
    them. Why it ends within eps whenever some 8-bit image is: if l_i > o_i, then l_i >= o_i + 1
    and 255 x_i <= o_i + 0.5, so the step to l_i - 1 >= 255 x_i - 0.5 is never farther from
    255 x_i than l_i was (l_i < o_i likewise). No step raises any |delta_i|, and at worst the
    passes end at o, whose every |delta_i| is the smallest any 8-bit level gives: o is the 8-bit
    image nearest x in every Lp norm. So a sample left over eps has no 8-bit image within eps (x is
    off the grid by more than eps); when x is on the grid, o = x and every sample ends within eps.
    """
    shape, levels = levels.shape, levels.flatten(1).clone()
    x = x.flatten(1).double()
    own = torch.round(x * LEVELS).to(levels.dtype)
    budget = eps.pow(power)
    while True:
        cost = _cost(levels, x, power, dtype)
        total = cost.sum(1)
        over = total > budget
        movable = levels != own
        active = over & movable.any(1)
        if not bool(active.any()):
            return levels.view(shape), ~over
        toward = torch.sign(own - levels)
        saving = cost - _cost(levels + toward, x, power, dtype)
        order = torch.where(movable, cost, -1.0).argsort(dim=1, descending=True, stable=True)
        enough = saving.gather(1, order).clamp_min(0).cumsum(1) >= (total - budget)[:, None]
        count = movable.sum(1)
        take = torch.minimum(torch.where(enough.any(1), enough.int().argmax(1) + 1, count), count)
        chosen = (torch.arange(levels.shape[1], device=levels.device) < take[:, None]) & active[:, None]
        steps = torch.zeros_like(levels).scatter(1, order, chosen.to(levels.dtype))
        levels = levels + steps * toward


def _cost(levels: Tensor, x: Tensor, power: int, dtype: torch.dtype) -> Tensor:
    """|image - x| ** power per coordinate in float64, the image being `levels` as `dtype` stores it."""
    return ((levels.to(dtype) / LEVELS).double() - x).abs().pow(power)


def _warn_out_of_reach(result: AttackResult, within: Tensor) -> None:
    """Say how many samples have no 8-bit image within eps (they are reported unsuccessful)."""
    if bool(within.all()):
        return
    warnings.warn(
        f"{int((~within).sum())} of {within.numel()} samples: no 8-bit image lies within eps "
        f"({result.norm}) of the clean image, which is off the 8-bit grid by more than eps; they are "
        "reported unsuccessful (use clean images that are multiples of 1/255, or a larger eps)",
        stacklevel=3,
    )


def attack_rounded(
    attacker: Attack,
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    target: TargetSpec = None,
    seed: int | None = 0,
) -> tuple[AttackResult, AttackResult, Tensor]:
    """(first result, final 8-bit result, which samples rounding broke) for `attacker`.

    The final result holds the rounded images, each within eps of `x` (see `rounded`). Where the
    first attack succeeded but its rounded image does not, the image is rounded outward instead
    (away from the clean image: enough for a minimum-norm attack that stopped just past the
    boundary); where that fails too, the attack runs again on those samples against `model` behind
    the 8-bit rounding (straight-through), and its rounded images replace them. A sample no 8-bit
    image within eps exists for is not attacked again: it stays unsuccessful, with a warning.
    """
    first = attacker(model, x, y, target=target, seed=seed)
    final, within = _rounded(model, first, outward=False, clean=x)
    broken = first.success & ~final.success
    if not bool((broken & within).any()):
        _warn_out_of_reach(first, within)
        return first, final, broken
    outward, _ = _rounded(model, first, outward=True, clean=x)
    fixed = broken & outward.success
    if bool(fixed.any()):
        final = _replace_rows(final, _rows(outward, fixed), fixed.nonzero().squeeze(1), costs=False)
    _warn_out_of_reach(first, within)
    rows = (broken & within & ~final.success).nonzero().squeeze(1)
    if rows.numel() == 0:
        return first, final, broken
    quantized = nn.Sequential(bpda(eight_bit), model)
    again = attacker(
        quantized,
        x[rows],
        first.labels[rows],
        target=None if first.target is None else first.target[rows],
        seed=first.seed,
        index=rows,
    )
    if isinstance(again.eps, list):  # a per-sample eps covers the whole batch: keep the rows attacked
        again = dataclasses.replace(again, eps=[again.eps[int(i)] for i in rows])
    repaired, _ = _rounded(model, again, outward=False, clean=x[rows])
    return first, _replace_rows(final, repaired, rows), broken


_ROWS = ("adv", "x0", "success", "logits")


def _rows(result: AttackResult, keep: Tensor) -> AttackResult:
    """The per-sample images and outcomes of `result` for the samples where `keep` holds."""
    return dataclasses.replace(result, **{name: getattr(result, name)[keep] for name in _ROWS})


def _replace_rows(
    result: AttackResult, other: AttackResult, rows: Tensor, *, costs: bool = True
) -> AttackResult:
    """`result` with the samples `rows` taken from `other` (a result on x[rows]); with `costs`,
    the other run's steps and queries add up."""
    merged = {}
    for name in _ROWS:
        value = getattr(result, name).clone()
        value[rows] = getattr(other, name).to(value.dtype)
        merged[name] = value
    steps_taken, queries = result.steps_taken.clone(), result.queries.clone()
    if costs:
        steps_taken[rows] += other.steps_taken.to(steps_taken.device)
        queries[rows] += other.queries.to(queries.device)
    return dataclasses.replace(result, **merged, steps_taken=steps_taken, queries=queries)
