"""The attack cascade: each attack runs only on the points still standing, and a point counts as
robust only if every attack failed on it.

A claimed success is re-checked before it counts: the adversarial image must lie in [0, 1] and in
the eps-ball, and the model's own prediction on it must differ from the label. On a model whose
forward cuts the autograd graph the gradient attacks cannot run: they are skipped, breaking nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attacks import Attack, make_attack
from advcat.engine.rng import derive_seed
from advcat.threats import make_threat
from advcat.validate import check_model_input, check_model_output

STAGE_STREAM = 101
GRADIENT_FREE = frozenset({"square"})
# Square's role after the gradient attacks is to catch masking, which shows in its first queries
# (the gradient_free_stage check). On the Fashion-MNIST benchmark models AutoAttack's 5000-query
# Square broke no point its gradient attacks had left, yet took a third to two fifths of its time
# (benchmarks/RESULTS.md); ("square", {"steps": 5000}) restores AutoAttack's query count
# (not its attack: the square-size schedule is rescaled to the budget, docs/attacks.md).
SQUARE_QUERIES = 1000
AttackSpec = str | tuple[str, dict[str, Any]] | Attack | Callable[[float], Attack]


@dataclass
class Stage:
    """One attack of the cascade, built afresh for each eps by `build(eps, **overrides)`;
    `steps`: its number of steps when `build(eps, steps=...)` may change it, else None."""

    name: str
    build: Callable[..., Attack]
    options: dict[str, Any] = field(default_factory=dict)
    gradient_free: bool = False
    steps: int | None = None

    def describe(self) -> dict[str, Any]:
        """The stage's settings, as recorded in the report's config."""
        return {
            "name": self.name,
            "options": _plain(self.options),
            "gradient_free": self.gradient_free,
        }


@dataclass
class Outcome:
    """One batch at one eps: which stage broke each point (-1: none) and what each stage cost."""

    broken_by: Tensor
    standing: list[int]
    broken: list[int]
    seconds: list[float]


def standard_stages(norm: str, num_classes: int) -> list[Stage]:
    """APGD-CE, APGD-T over the top min(9, K-1) classes (targeted DLR loss; the margin loss below 4
    classes), then Square: AutoAttack's standard version less FAB-T, with SQUARE_QUERIES queries
    for Square where AutoAttack spends 5000 (see SQUARE_QUERIES)."""
    return [
        _named("apgd_ce", {}, norm),
        _named("apgd_t", {"n_target_classes": min(9, max(num_classes - 1, 1))}, norm),
        _named("square", {"steps": SQUARE_QUERIES}, norm),
    ]


def resolve_stages(
    attacks: str | Sequence[AttackSpec], norm: str, num_classes: int, eps: Sequence[float]
) -> list[Stage]:
    """Stages from "standard", "fast" (APGD-CE alone) or a list of names, (name, options) pairs,
    attack objects (used at their own eps only) or callables eps -> attack."""
    if isinstance(attacks, str):
        if attacks == "standard":
            return standard_stages(norm, num_classes)
        if attacks == "fast":
            return [_named("apgd_ce", {}, norm)]
        attacks = [attacks]
    if not isinstance(attacks, Sequence) or len(attacks) == 0:
        raise ValueError("attacks must be 'standard', 'fast' or a non-empty list of attacks")
    stages = []
    for spec in attacks:
        if isinstance(spec, str):
            stages.append(_named(spec, {}, norm))
        elif (
            isinstance(spec, tuple)
            and len(spec) == 2
            and isinstance(spec[0], str)
            and isinstance(spec[1], dict)
        ):
            stages.append(_named(spec[0], dict(spec[1]), norm))
        elif isinstance(spec, Attack):
            stages.append(_object(spec, norm, eps))
        elif callable(spec):
            stages.append(_factory(spec, norm, eps[0]))
        else:
            raise TypeError(
                f"an attack must be a name, (name, options), an Attack or a callable; got {spec!r}"
            )
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        stages = [_renamed(s, f"{s.name}#{i}") for i, s in enumerate(stages)]
    return stages


def _named(name: str, options: dict[str, Any], norm: str) -> Stage:
    key = name.lower().replace("-", "_")
    for reserved in ("norm", "eps"):
        if reserved in options:
            raise ValueError(f"{name}: {reserved} comes from evaluate(norm=, eps=), not the attack's options")
    probe = make_attack(key, norm=norm, **options)  # unknown names and options fail now, not mid-run

    def build(eps: float, **overrides: Any) -> Attack:
        return make_attack(key, norm=norm, eps=eps, **{**options, **overrides})

    return Stage(name=key, build=build, options=options, gradient_free=_gradient_free(probe),
                 steps=_settable_steps(probe, build))


def _settable_steps(probe: Attack, build: Callable[..., Attack]) -> int | None:
    """The attack's number of steps if it takes a `steps` option (FGSM, say, does not), else None."""
    steps = getattr(probe, "steps", None)
    if isinstance(steps, bool) or not isinstance(steps, int):
        return None
    try:
        build(float(probe.eps) if isinstance(probe.eps, (int, float)) else 1.0, steps=2 * steps)
    except TypeError:
        return None
    return steps


def _gradient_free(attack: Attack) -> bool:
    return attack.name in GRADIENT_FREE or bool(getattr(attack, "gradient_free", False))


def _factory(make: Callable[[float], Attack], norm: str, eps: float) -> Stage:
    """A stage from a callable eps -> Attack, checked (and named) by building it once now."""

    def build(eps: float, **overrides: Any) -> Attack:
        attack = make(eps)
        if not isinstance(attack, Attack):
            raise TypeError(f"the attack factory {make!r} returned {type(attack).__name__}, not an Attack")
        if attack.norm != norm:
            raise ValueError(f"the attack factory's {attack!r} uses norm {attack.norm!r}, not {norm!r}")
        return attack

    probe = build(eps)
    return Stage(name=probe.name, build=build, options=probe.config(),
                 gradient_free=_gradient_free(probe))


def _object(attack: Attack, norm: str, eps: Sequence[float]) -> Stage:
    if attack.norm != norm:
        raise ValueError(f"attack {attack!r} uses norm {attack.norm!r} but the evaluation's is {norm!r}")
    if (
        attack.eps is None
        or isinstance(attack.eps, Tensor)
        or any(abs(float(attack.eps) - e) > 1e-12 for e in eps)
    ):
        raise ValueError(
            f"attack object {attack!r} has eps {attack.eps!r} but the evaluation asks for eps "
            f"{list(eps)}; pass its name with options, e.g. ('pgd', {{'steps': 50}}), to run it at every eps"
        )

    def build(eps_value: float, **overrides: Any) -> Attack:
        return attack

    return Stage(
        name=attack.name,
        build=build,
        options=attack.config(),
        gradient_free=_gradient_free(attack),
    )


def _renamed(stage: Stage, name: str) -> Stage:
    stage.name = name
    return stage


def stage_seed(seed: int, stage: int) -> int:
    """The seed of stage `stage` (its samples' randomness is further keyed on their indices)."""
    return derive_seed(seed, STAGE_STREAM, stage)


def run_cascade(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    ids: Tensor,
    stages: Sequence[Stage],
    eps: float,
    *,
    norm: str,
    seed: int,
    batch_size: int | None,
    differentiable: bool = True,
) -> Outcome:
    """Run `stages` in order at `eps` on the points of this batch (all correctly classified); with
    `differentiable` False (see `has_input_gradient`) only the gradient-free ones run."""
    standing = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    broken_by = torch.full((x.shape[0],), -1, dtype=torch.long)
    outcome = Outcome(broken_by=broken_by, standing=[], broken=[], seconds=[])
    for s, stage in enumerate(stages):
        start = time.perf_counter()
        before = int(standing.sum())
        if before and (differentiable or stage.gradient_free):
            rows = standing.nonzero().squeeze(1)
            hit = attack_rows(
                model,
                stage.build(eps),
                x,
                y,
                ids,
                rows,
                eps,
                norm=norm,
                seed=stage_seed(seed, s),
                batch_size=batch_size,
            )
            standing[rows[hit]] = False
            broken_by[rows[hit].cpu()] = s
        outcome.standing.append(before)
        outcome.broken.append(before - int(standing.sum()))
        outcome.seconds.append(time.perf_counter() - start)
    return outcome


def attack_rows(
    model: nn.Module,
    attack: Attack,
    x: Tensor,
    y: Tensor,
    ids: Tensor,
    rows: Tensor,
    eps: float,
    *,
    norm: str,
    seed: int,
    batch_size: int | None,
) -> Tensor:
    """Attack the points `rows`; a (len(rows),) mask of those it verifiably broke."""
    result = attack(
        model,
        x[rows],
        y[rows],
        early_stop=True,
        seed=seed,
        batch_size=batch_size,
        index=ids[rows.cpu()],
    )
    return verified(model, x[rows], result.adv, y[rows], eps, norm, result.success, batch_size)


def has_input_gradient(model: nn.Module, x: Tensor) -> bool:
    """Whether the model's logits on the first image of `x` depend differentiably on it (False when the
    forward cuts the autograd graph: a .detach(), a PIL or NumPy round trip, a comparison)."""
    xb = x[:1].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(xb)
        if not logits.requires_grad:
            return False
        grad = torch.autograd.grad(logits.float().sum(), xb, allow_unused=True)[0]
    return grad is not None


def verified(
    model: nn.Module,
    x: Tensor,
    adv: Tensor,
    y: Tensor,
    eps: float,
    norm: str,
    claimed: Tensor,
    batch_size: int | None,
) -> Tensor:
    """Which claimed successes hold: adv in [0, 1], within eps of x, and misclassified by the model."""
    ok = claimed.to(x.device).clone()
    if not bool(ok.any()):
        return ok
    size = make_threat(norm, eps).norm(adv - x)
    ok &= size <= eps * (1 + 1e-5) + 1e-6
    ok &= (adv >= 0).flatten(1).all(1) & (adv <= 1).flatten(1).all(1)
    rows = ok.nonzero().squeeze(1)
    if rows.numel():
        with torch.no_grad():
            predictions = forward(model, adv[rows], batch_size).argmax(1)
        ok[rows] = predictions != y[rows]
    return ok


def forward(model: nn.Module, x: Tensor, batch_size: int | None) -> Tensor:
    """The model's logits on `x`, in chunks of `batch_size`."""
    step = batch_size or x.shape[0]
    check_model_input(model, x)
    return torch.cat([check_model_output(model(x[i : i + step])) for i in range(0, x.shape[0], step)]).float()


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in options.items()}
