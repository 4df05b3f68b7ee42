"""Adversarial images that survive saving: 8-bit rounding, its check, and a repair when it breaks them.

A PNG stores round(255 x). An attack that stops just past the decision boundary (minimum-norm
attacks by design) can fall back over it when rounded. `attack_rounded` checks the rounded
images and, where rounding broke the attack, runs it again with the rounding inside the model
(straight-through gradient), so the attack itself sees exactly the images that will be saved.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from advcat.attacks.base import Attack
from advcat.attacks.result import AttackResult
from advcat.attacks.targets import TargetSpec
from advcat.data.images import to_uint8
from advcat.models.bpda import bpda
from advcat.models.guard import borrowed
from advcat.threats import make_threat

LEVELS = 255.0


def eight_bit(x: Tensor) -> Tensor:
    """The image a PNG stores, as floats: to_uint8(x) / 255 (no gradient)."""
    return to_uint8(x.detach()).to(x.dtype) / LEVELS


def rounded(model: nn.Module, result: AttackResult, *, outward: bool = False) -> AttackResult:
    """`result` with each adversarial image replaced by its 8-bit version, re-evaluated on `model`.

    Pixels round to the nearest level, or with `outward` to the next level away from the clean
    image (every change kept at least as large, in the same direction). For linf, a pixel that
    rounding pushed past eps steps back one level towards the clean image, so the saved image
    stays within budget (eps >= 0.5 / 255). L2 and L1 norms are reported as they come out; they
    can exceed eps by up to the rounding's size.
    """
    x = result.adv - result.delta
    levels = to_uint8(result.adv).to(torch.int16)
    if outward:
        scaled = result.adv.detach().double() * LEVELS
        away = torch.where(result.delta > 0, (scaled - 1e-6).ceil(), (scaled + 1e-6).floor())
        levels = torch.where(result.delta == 0, levels, away.to(torch.int16))
    if result.norm == "linf" and result.eps is not None:
        # a millionth of slack: x is rebuilt as adv - delta, a rounding error away from the original
        eps = torch.as_tensor(result.eps, dtype=torch.float64, device=x.device).reshape(-1, 1, 1, 1) + 1e-6
        change = levels.double() / LEVELS - x.double()
        levels = levels - (change > eps).to(torch.int16) + (change < -eps).to(torch.int16)
    adv = levels.clamp(0, 255).to(result.adv.dtype) / LEVELS
    with borrowed(model), torch.no_grad():
        logits = model(adv).float()
    predictions = logits.argmax(1)
    success = predictions == result.target if result.target is not None else predictions != result.labels
    delta = adv - x
    norm = make_threat(result.norm, 1.0).norm(delta)
    return dataclasses.replace(result, adv=adv, delta=delta, logits=logits, success=success, norms=norm)


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

    The final result holds the rounded images. Where the first attack succeeded but its rounded
    image does not, the image is rounded outward instead (away from the clean image: enough for
    a minimum-norm attack that stopped just past the boundary); where that fails too, the attack
    runs again on those samples against `model` behind the 8-bit rounding (straight-through), and
    its rounded images replace them.
    """
    first = attacker(model, x, y, target=target, seed=seed)
    final = rounded(model, first)
    broken = first.success & ~final.success
    if not bool(broken.any()):
        return first, final, broken
    outward = rounded(model, first, outward=True)
    fixed = broken & outward.success
    if bool(fixed.any()):
        final = _replace_rows(final, _rows(outward, fixed), fixed.nonzero().squeeze(1), costs=False)
    rows = (broken & ~final.success).nonzero().squeeze(1)
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
    repaired = rounded(model, again)
    return first, _replace_rows(final, repaired, rows), broken


_ROWS = ("adv", "delta", "success", "logits", "norms")


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
