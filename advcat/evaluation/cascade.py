"""The attack cascade: each attack runs only on the points still standing, and a point counts as
robust only if every attack failed on it.

A claimed success is re-checked before it counts: the adversarial image must lie in [0, 1] and in
the eps-ball, and the model's own prediction on it must differ from the label. On a model whose
forward cuts the autograd graph the gradient attacks cannot run: they are skipped, breaking nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attacks import Attack, make_attack
from advcat.attacks.sweep import sweep
from advcat.core.rng import derive_seed
from advcat.threats import make_threat
from advcat.validate import check_model_input, check_model_output

STAGE_STREAM = 101
# Square's role after the gradient attacks is to catch masking, which shows in its first queries
# (the gradient_free_stage check). On the Fashion-MNIST benchmark models AutoAttack's 5000-query
# Square broke no point its gradient attacks had left, yet took a third to two fifths of its time
# (benchmarks/RESULTS.md); ("square", {"steps": 5000}) restores AutoAttack's query count
# (not its attack: the square-size schedule is rescaled to the budget, docs/attacks.md).
SQUARE_QUERIES = 1000
AttackSpec = str | tuple[str, dict[str, Any]] | Attack | Callable[[float], Attack]


@dataclass
class Stage:
    """One attack of the cascade. `attack` runs at every eps (a call takes its eps), or, for a
    callable spec, `factory(eps)` builds one per eps (`attack` being the one built to check it)."""

    name: str
    attack: Attack
    factory: Callable[[float], Attack] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def gradient_free(self) -> bool:
        """Whether the stage's attack needs no gradient (read from its step rule)."""
        return self.attack.gradient_free

    @property
    def steps(self) -> int | None:
        """The attack's number of steps when `attack.replace(steps=...)` can change it (a factory's
        attacks are its own, so None for them)."""
        return None if self.factory is not None else _settable_steps(self.attack)

    def at(self, eps: float) -> Attack:
        """The attack to run at `eps`."""
        return self.attack if self.factory is None else self.factory(eps)

    def with_steps(self, steps: int) -> Attack:
        """The stage's attack with `steps` steps (only for a stage whose `steps` is known)."""
        return self.attack.replace(steps=steps)

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
        named_stage("apgd_ce", {}, norm),
        named_stage("apgd_t", {"n_target_classes": min(9, max(num_classes - 1, 1))}, norm),
        named_stage("square", {"steps": SQUARE_QUERIES}, norm),
    ]


def resolve_stages(
    attacks: str | Sequence[AttackSpec], norm: str, num_classes: int, eps: Sequence[float]
) -> list[Stage]:
    """Stages from "standard", "fast" (APGD-CE alone) or a list of names, (name, options) pairs,
    attack objects (run at every eps) or callables eps -> attack."""
    if isinstance(attacks, str):
        if attacks == "standard":
            return standard_stages(norm, num_classes)
        if attacks == "fast":
            return [named_stage("apgd_ce", {}, norm)]
        attacks = [attacks]
    if not isinstance(attacks, Sequence) or len(attacks) == 0:
        raise ValueError("attacks must be 'standard', 'fast' or a non-empty list of attacks")
    stages = []
    for spec in attacks:
        if isinstance(spec, str):
            stages.append(named_stage(spec, {}, norm))
        elif (
            isinstance(spec, tuple)
            and len(spec) == 2
            and isinstance(spec[0], str)
            and isinstance(spec[1], dict)
        ):
            stages.append(named_stage(spec[0], dict(spec[1]), norm))
        elif isinstance(spec, Attack):
            stages.append(_object(spec, norm))
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


def named_stage(name: str, options: dict[str, Any], norm: str) -> Stage:
    """A stage for the attack `name` with `options` under `norm`, checked now (an unknown name or
    option fails before any work)."""
    key = name.lower().replace("-", "_")
    for reserved in ("norm", "eps"):
        if reserved in options:
            raise ValueError(f"{name}: {reserved} comes from evaluate(norm=, eps=), not the attack's options")
    attack = make_attack(key, norm=norm, **options)  # unknown names and options fail now, not mid-run
    return Stage(name=key, attack=attack, options=options)


def _settable_steps(attack: Attack) -> int | None:
    """The attack's number of steps if `steps` is one of its settings (FGSM's is not), else None."""
    steps = attack.settings().get("steps")
    return None if isinstance(steps, bool) or not isinstance(steps, int) else steps


def _factory(make: Callable[[float], Attack], norm: str, eps: float) -> Stage:
    """A stage from a callable eps -> Attack, checked (and named) by building it once now."""

    def build(eps: float) -> Attack:
        attack = make(eps)
        if not isinstance(attack, Attack):
            raise TypeError(f"the attack factory {make!r} returned {type(attack).__name__}, not an Attack")
        if attack.norm != norm:
            raise ValueError(f"the attack factory's {attack!r} uses norm {attack.norm!r}, not {norm!r}")
        return attack

    probe = build(eps)
    return Stage(name=probe.name, attack=probe, factory=build, options=probe.config())


def _object(attack: Attack, norm: str) -> Stage:
    """A stage from an attack object, run at every eps of the evaluation (eps is given per call)."""
    if attack.norm != norm:
        raise ValueError(f"attack {attack!r} uses norm {attack.norm!r} but the evaluation's is {norm!r}")
    return Stage(name=attack.name, attack=attack, options=attack.config())


def _renamed(stage: Stage, name: str) -> Stage:
    stage.name = name
    return stage


def stage_seed(seed: int, stage: int, stream: int = STAGE_STREAM) -> int:
    """The seed of stage `stage` (its samples' randomness is further keyed on their indices); a
    cascade run again on top of another (the adaptive one) draws from its own `stream`."""
    return derive_seed(seed, stream, stage)


def run_cascade(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    ids: Tensor,
    stages: Sequence[Stage],
    budgets: Sequence[float],
    *,
    norm: str,
    seed: int,
    batch_size: int | None,
    differentiable: bool = True,
    standing: Sequence[Tensor] | None = None,
    stream: int = STAGE_STREAM,
    around: Callable[[Stage], AbstractContextManager[object]] | None = None,
) -> list[Outcome]:
    """Run `stages` in order on the points of this batch (all correctly classified), each stage at
    every eps in one sweep: a point a stage broke at a smaller eps counts as broken by it at the
    larger ones (same image, nested balls), the others standing there are attacked. One Outcome per
    eps; with `differentiable` False (see `has_input_gradient`) only gradient-free stages run.
    `standing` (one mask per eps, default every point) limits which points may be attacked;
    `around(stage)` is a context each stage's attack runs in (the adaptive stage's straight-through
    hooks), the breaks being verified outside it."""
    standing = [torch.ones(x.shape[0], dtype=torch.bool, device=x.device) for _ in budgets] \
        if standing is None else [mask.clone() for mask in standing]
    outcomes = [Outcome(broken_by=torch.full((x.shape[0],), -1, dtype=torch.long), standing=[], broken=[],
                        seconds=[]) for _ in budgets]
    for s, stage in enumerate(stages):
        before = [int(mask.sum()) for mask in standing]
        seconds = dict.fromkeys(budgets, 0.0)
        if differentiable or stage.gradient_free:

            def run_at(eps: float, rows: Tensor, stage: Stage = stage, s: int = s,
                       seconds: dict[float, float] = seconds) -> Tensor:
                start = time.perf_counter()
                hit = attack_rows(model, stage.at(eps), x, y, ids, rows, eps, norm=norm,
                                  seed=stage_seed(seed, s, stream), batch_size=batch_size,
                                  around=None if around is None else around(stage))
                seconds[eps] += time.perf_counter() - start
                return hit

            for k, broken in enumerate(sweep(run_at, budgets, [mask.clone() for mask in standing])):
                assert broken is not None, "an evaluation's attacks raise KeyboardInterrupt, never stop short"
                standing[k] &= ~broken
                outcomes[k].broken_by[broken.cpu()] = s
        for k, outcome in enumerate(outcomes):
            outcome.standing.append(before[k])
            outcome.broken.append(before[k] - int(standing[k].sum()))
            outcome.seconds.append(seconds[budgets[k]])
    return outcomes


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
    around: AbstractContextManager[object] | None = None,
) -> Tensor:
    """Attack the points `rows` (inside `around`, if given); a (len(rows),) mask of those it
    verifiably broke, checked on the model as it is."""
    with around if around is not None else nullcontext():
        result = attack(
            model,
            x[rows],
            y[rows],
            eps=eps,
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
