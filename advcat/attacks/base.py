"""The attack contract: a final public call owns checks, bounds and bookkeeping; `run` does the work.

Each attack is a small subclass whose `run` picks an objective, a step rule and a threat and calls
the engine. `__call__` validates everything first, borrows the model, and builds the AttackResult.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from advcat.attacks.result import AttackResult
from advcat.attacks.targets import TargetSpec, resolve_target
from advcat.engine.criteria import goal_reached
from advcat.engine.result import Result
from advcat.engine.rng import fresh_seed, sample_keys
from advcat.models.guard import any_grad_mode, borrowed
from advcat.models.pixel import model_info
from advcat.threats import make_threat
from advcat.threats.base import Threat
from advcat.validate import (
    check_count,
    check_images,
    check_index,
    check_labels,
    check_logits,
    check_model_input,
    check_model_output,
    check_same_device,
    check_seed,
)

DEFAULT_EPS = {"linf": 8 / 255, "l2": 0.5, "l1": 12.0}
NORM_ALIASES = {"linf": "linf", "inf": "linf", "l_inf": "linf", "l2": "l2", "l1": "l1"}


@dataclass
class Goal:
    """What one call asks for, already checked: labels, optional targets, and the run's options."""

    labels: Tensor
    target: Tensor | None
    threat: Threat
    seed: int
    early_stop: bool
    batch_size: int | None
    progress: bool
    classes: tuple[str, ...] | None
    eot: int = 1


class Attack:
    """Base class of every attack; subclasses set `name`, `norms` and implement `run`."""

    name: ClassVar[str] = "attack"
    norms: ClassVar[tuple[str, ...]] = ("linf", "l2", "l1")
    targeted: ClassVar[bool] = True
    #: minimum-norm attacks (CW, FMN) take eps=None as "unbounded" instead of the usual budget
    minimum_norm: ClassVar[bool] = False
    #: forward passes averaged per step (expectation over a randomized model's draws); see `with_eot`
    eot: int = 1

    def __init__(self, norm: str = "linf", eps: float | Tensor | None = None) -> None:
        if isinstance(norm, nn.Module):
            raise TypeError(
                f"{type(self).__name__}() takes settings, not the model (the torchattacks habit): "
                f"advcat passes the model at call time, {type(self).__name__}(eps=...)(model, x, y), "
                "or advcat.attack(model, x, y, method=..., eps=...)"
            )
        if isinstance(norm, (int, float)) and not isinstance(norm, bool):
            raise TypeError(
                f"{type(self).__name__}'s first setting is the norm ('linf', 'l2' or 'l1'), got {norm!r}: "
                f"pass the others by name, e.g. {type(self).__name__}(eps=8/255)"
            )
        key = NORM_ALIASES.get(str(norm).lower())
        if key is None:
            raise ValueError(f"unknown norm {norm!r}; expected one of linf, l2, l1")
        if key not in self.norms:
            raise ValueError(f"{self.name} supports norms {self.norms}, not {norm!r}")
        self.norm = key
        self.eps: float | Tensor | None = DEFAULT_EPS[key] if eps is None and not self.minimum_norm else eps
        if self.eps is not None:
            make_threat(key, self.eps)  # validates eps now, before any work

    @property
    def budget(self) -> float | Tensor:
        """eps, for the attacks that always have one (all but minimum-norm attacks run unbounded)."""
        if self.eps is None:
            raise ValueError(f"{self.name} needs eps here; it has none (an unbounded minimum-norm run)")
        return self.eps

    def config(self) -> dict[str, Any]:
        """The attack's settings, recorded in its results."""
        return {k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in vars(self).items()}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if not isinstance(v, list))
        return f"{type(self).__name__}({settings})"

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        """Find adversarial examples with the engine; implemented by each attack."""
        raise NotImplementedError

    @any_grad_mode
    def __call__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor | None = None,
        *,
        target: TargetSpec = None,
        early_stop: bool = False,
        seed: int | None = 0,
        batch_size: int | None = None,
        progress: bool = False,
        index: Tensor | None = None,
    ) -> AttackResult:
        """Attack `model` on `x` (labels `y`, default the model's predictions).

        `index` (N,): the samples' ids in a larger data set, which key their randomness (default
        0..N-1), so an attack on a subset or shard draws what a run over the whole set draws.
        """
        seed = self._check_call(model, x, target, seed, index)
        info = model_info(model)
        classes = info.classes if info is not None else None
        with borrowed(model), sample_keys(index):
            labels, targets = self._labels_and_targets(model, x, y, target, seed, batch_size)
            threat = make_threat(self.norm, self.eps) if self.eps is not None else whole_box(self.norm, x)
            threat.check_batch(x.shape[0])
            goal = Goal(labels=labels, target=targets, threat=threat, seed=seed, early_stop=early_stop,
                        batch_size=batch_size, progress=progress, classes=classes, eot=self.eot)
            found = self.run(model, x, goal)
            adv = found.x.clamp(0.0, 1.0)
            logits = found.logits
            if logits is None or not bool(torch.isfinite(logits).all()) or self._transforms():
                with torch.no_grad():
                    logits = _batched_forward(model, adv, batch_size).float()
        delta = adv - x
        return AttackResult(
            adv=adv, delta=delta, success=goal_reached(logits.argmax(1), labels, targets),
            logits=logits, labels=labels, target=targets, norms=threat.norm(delta),
            steps_taken=found.steps_taken, queries=found.queries, method=self.name, norm=self.norm,
            eps=_eps_record(self.eps), seed=seed, config=self.config(), interrupted=found.interrupted,
        )

    def _check_call(self, model: object, x: Tensor, target: TargetSpec, seed: int | None,
                    index: Tensor | None) -> int:
        """Every check of a call, before any work; returns the seed (a fresh one for None)."""
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"the first argument must be the model (an nn.Module), got {type(model).__name__}: "
                f"call the attack as attack(model, x, y), not attack(x, y)"
            )
        check_images(x)
        check_same_device(x, model=model)
        check_model_input(model, x)
        if index is not None:
            check_index(index, x.shape[0])
        if target is not None and not self.targeted:
            raise ValueError(f"{self.name} is untargeted only; drop target=")
        return fresh_seed() if seed is None else check_seed(seed)

    def _labels_and_targets(self, model: nn.Module, x: Tensor, y: object, target: TargetSpec,
                            seed: int, batch_size: int | None) -> tuple[Tensor, Tensor | None]:
        """The labels (`y`, or the model's clean predictions) and the resolved targets, checked
        against the model's class count; the clean forward runs only when one of them needs it."""
        info = model_info(model)
        clean = None
        if y is None or target is not None:
            with torch.no_grad():
                clean = check_logits(_batched_forward(model, x, batch_size))
        if y is None:
            assert clean is not None
            labels = clean.argmax(1)
        else:
            num_classes = clean.shape[1] if clean is not None else (info.num_classes if info else None)
            labels = check_labels(y, x.shape[0], num_classes=num_classes).to(x.device, torch.long)
        classes = info.classes if info is not None else None
        targets = None if clean is None else resolve_target(target, clean, labels, seed, classes)
        return labels, targets

    def with_eot(self, eot: int) -> Attack:
        """This attack with every step averaging `eot` forward passes (EOT, Athalye et al. 2018):
        the attack for a model whose forward is random. Returns self."""
        check_count("eot", eot)
        if eot > 1:
            self.eot = eot
        return self

    def _transforms(self) -> bool:
        """Whether this attack's forward passes were randomized or averaged (then the final
        logits are recomputed with one plain forward pass)."""
        return self.eot > 1


def _batched_forward(model: nn.Module, x: Tensor, batch_size: int | None) -> Tensor:
    if batch_size is None or batch_size >= x.shape[0]:
        return check_model_output(model(x))
    chunks = [check_model_output(model(x[i : i + batch_size])) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(chunks)


def whole_box(norm: str, x: Tensor) -> Threat:
    """The `norm` ball that holds the whole [0, 1] box around any x: no bound beyond the box.

    Minimum-norm attacks run unbounded (eps=None) under it, so their perturbations are still
    measured, and kept smallest, in their own norm.
    """
    dim = float(x[0].numel())
    return make_threat(norm, {"linf": 1.0, "l2": dim**0.5, "l1": dim}[norm])


def _eps_record(eps: float | Tensor | None) -> float | list[float] | None:
    if eps is None:
        return None
    if isinstance(eps, Tensor):
        return eps.tolist() if eps.dim() else float(eps.item())
    return float(eps)

