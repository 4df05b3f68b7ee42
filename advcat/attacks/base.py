"""The attack contract: a final public call owns checks, bounds and bookkeeping; `run` does the work.

Each attack is a small subclass whose `run` picks an objective, a step rule and a threat and calls
the engine. `__call__` validates everything first, borrows the model, and builds the AttackResult.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import torch
from torch import Tensor, nn

from advcat.attacks.result import AttackResult
from advcat.attacks.sweep import carry, check_eps_list, is_eps_list, sweep
from advcat.attacks.targets import TargetSpec, resolve_target
from advcat.core.criteria import goal_reached
from advcat.core.result import Result
from advcat.core.rng import fresh_seed, sample_ids
from advcat.models.guard import any_grad_mode, borrowed
from advcat.models.pixel import model_info
from advcat.steps.base import Step
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


@dataclass(frozen=True)
class Goal:
    """What one call asks for, already checked once at the attack's gate: labels, optional targets,
    the threat, the samples' ids and the run's options; every engine run of the attack takes it."""

    labels: Tensor
    target: Tensor | None
    threat: Threat
    seed: int
    early_stop: bool
    batch_size: int | None
    progress: bool
    classes: tuple[str, ...] | None
    #: (N,) on the CPU: each sample's id, which keys its randomness in every engine run
    ids: Tensor
    eot: int = 1

    @property
    def eps(self) -> float | Tensor:
        """This call's budget, a number or one per sample (unbounded runs get the whole box's)."""
        if self.threat.eps is None:
            raise ValueError("this attack's threat model has no eps")
        return self.threat.eps


EpsSpec = float | Tensor | list[float] | tuple[float, ...] | None


class _FrozenAfterInit(type):
    """Attack classes whose instances refuse attribute changes once built: settings change
    through `replace`, which builds (and checks) a new attack."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        made = super().__call__(*args, **kwargs)
        object.__setattr__(made, "_frozen", True)
        return made

    @property
    def __signature__(cls) -> inspect.Signature:
        """The class's signature is its constructor's (not this `__call__`'s *args, **kwargs)."""
        init = inspect.signature(cls.__init__)  # type: ignore[misc]
        return init.replace(parameters=list(init.parameters.values())[1:])


class Attack(metaclass=_FrozenAfterInit):
    """Base class of every attack; subclasses set `name`, `norms` and implement `step_rule` and `run`.

    Settings are fixed when the attack is built (`replace` makes a changed copy); `eps` is the
    default budget, and a call may give its own: `attack(model, x, y, eps=4/255)`, or a list of
    eps for one result per eps (see `advcat.attacks.sweep`).
    """

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

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(
                f"{type(self).__name__}'s settings are fixed once built; use attack.replace({name}=...) "
                "for a changed copy"
            )
        object.__setattr__(self, name, value)

    def settings(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this attack (its constructor's parameters)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names if name in vars(self)}

    def replace(self, **changes: Any) -> Attack:
        """A copy of this attack with some settings changed, checked as a new attack would be
        (`pgd.replace(steps=50)`); its EOT draws carry over."""
        settings = self.settings()
        unknown = sorted(set(changes) - set(settings))
        if unknown:
            raise TypeError(f"{self.name} has no setting {unknown[0]!r}; its settings are "
                            f"{', '.join(sorted(settings))}")
        return type(self)(**{**settings, **changes}).with_eot(self.eot)

    def step_rule(self, eps: float | Tensor) -> Step:
        """The step rule this attack runs at budget `eps`; implemented by each attack."""
        raise NotImplementedError

    @property
    def gradient_free(self) -> bool:
        """Whether the attack only queries the model's outputs: its step rule needs no gradient (an
        attack that declares no step rule is taken to need gradients)."""
        try:
            step = self.step_rule(self.eps if self.eps is not None else 1.0)
        except NotImplementedError:
            return False
        return not step.needs_grad

    def config(self) -> dict[str, Any]:
        """The attack's settings, recorded in its results."""
        return {k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in vars(self).items()
                if not k.startswith("_")}

    def derived(self, eps: float | Tensor) -> dict[str, Any]:
        """Settings that follow from the run's eps (a default step size), recorded in its result."""
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if not isinstance(v, list))
        return f"{type(self).__name__}({settings})"

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        """Find adversarial examples with the engine; implemented by each attack."""
        raise NotImplementedError

    @overload
    def __call__(self, model: nn.Module, x: Tensor, y: object = None, *, eps: list[float] | tuple[float, ...],
                 target: TargetSpec = None, early_stop: bool = False, seed: int | None = 0,
                 batch_size: int | None = None, progress: bool = False,
                 index: Tensor | None = None) -> list[AttackResult]: ...

    @overload
    def __call__(self, model: nn.Module, x: Tensor, y: object = None, *, eps: float | Tensor | None = None,
                 target: TargetSpec = None, early_stop: bool = False, seed: int | None = 0,
                 batch_size: int | None = None, progress: bool = False,
                 index: Tensor | None = None) -> AttackResult: ...

    @any_grad_mode
    def __call__(
        self,
        model: nn.Module,
        x: Tensor,
        y: object = None,
        *,
        eps: EpsSpec = None,
        target: TargetSpec = None,
        early_stop: bool = False,
        seed: int | None = 0,
        batch_size: int | None = None,
        progress: bool = False,
        index: Tensor | None = None,
    ) -> AttackResult | list[AttackResult]:
        """Attack `model` on `x` (labels `y`, default the model's predictions) within `eps`.

        `eps`: this call's budget (default: the attack's own), a per-sample tensor (N,), or a list
        of budgets for one result per eps: each larger eps attacks only the points no smaller one
        broke and carries the others' images over (the balls are nested). `index` (N,): the
        samples' ids in a larger data set, which key their randomness (default 0..N-1), so an
        attack on a subset or shard draws what a run over the whole set draws.
        """
        options = {"early_stop": early_stop, "batch_size": batch_size, "progress": progress}
        if is_eps_list(eps):
            assert isinstance(eps, (list, tuple))
            return self._sweep(model, x, y, check_eps_list(eps), target, seed, index, options)
        assert not isinstance(eps, (list, tuple))
        budget = self._budget(eps)
        seed = self._check_call(model, x, target, seed, index)
        info = model_info(model)
        classes = info.classes if info is not None else None
        ids = sample_ids(index, x.shape[0])
        with borrowed(model):
            labels, targets = self._labels_and_targets(model, x, y, target, seed, batch_size, ids)
            threat = make_threat(self.norm, budget) if budget is not None else whole_box(self.norm, x)
            threat.check_batch(x.shape[0])
            goal = Goal(labels=labels, target=targets, threat=threat, seed=seed, early_stop=early_stop,
                        batch_size=batch_size, progress=progress, classes=classes, ids=ids, eot=self.eot)
            found = self.run(model, x, goal)
            adv = found.x.clamp(0.0, 1.0)
            logits = found.logits
            if logits is None or not bool(torch.isfinite(logits).all()) or self._transforms():
                with torch.no_grad():
                    logits = _batched_forward(model, adv, batch_size).float()
        config = {**self.config(), **(self.derived(budget) if budget is not None else {})}
        return AttackResult(
            adv=adv, x0=x, success=goal_reached(logits.argmax(1), labels, targets),
            logits=logits, labels=labels, target=targets,
            steps_taken=found.steps_taken, queries=found.queries, method=self.name, norm=self.norm,
            eps=_eps_record(budget), seed=seed, config=config, interrupted=found.interrupted,
        )

    def _budget(self, eps: float | Tensor | None) -> float | Tensor | None:
        """This call's eps, checked: the given one, else the attack's (None: unbounded min-norm)."""
        if eps is None:
            return self.eps
        make_threat(self.norm, eps)
        return eps

    def _sweep(self, model: nn.Module, x: Tensor, y: object, budgets: list[float], target: TargetSpec,
               seed: int | None, index: Tensor | None, options: dict[str, Any]) -> list[AttackResult]:
        """One result per eps in `budgets` (see `advcat.attacks.sweep`); labels and targets are
        resolved once on the whole batch, and every sample keeps its id, so its draws do not
        depend on which eps attacked it."""
        for e in budgets:
            self._budget(e)
        seed = self._check_call(model, x, target, seed, index)
        ids = sample_ids(index, x.shape[0])
        with borrowed(model):
            labels, targets = self._labels_and_targets(model, x, y, target, seed, options["batch_size"], ids)
        results: dict[float, AttackResult] = {}

        def run_at(eps: float, rows: Tensor) -> Tensor | None:
            """Attack `rows` at `eps`; the sweep goes up in eps, so the largest eps done so far holds
            every point's result to carry the others from."""
            found = self(model, x[rows], labels[rows], eps=eps, seed=seed, index=ids[rows.cpu()],
                         target=None if targets is None else targets[rows], **options)
            results[eps] = found if not results else carry(results[max(results)], found, rows)
            return None if found.interrupted else found.success

        sweep(run_at, budgets, [torch.ones(x.shape[0], dtype=torch.bool, device=x.device)] * len(budgets))
        before: AttackResult | None = None
        for e in sorted(budgets):
            if e in results:
                before = results[e]
            elif before is not None and not before.interrupted:  # every point fell at a smaller eps
                results[e] = dataclasses.replace(before, eps=e, config={**before.config, **self.derived(e)})
        return [results[e] for e in budgets if e in results]

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
                            seed: int, batch_size: int | None, ids: Tensor) -> tuple[Tensor, Tensor | None]:
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
        targets = None if clean is None else resolve_target(target, clean, labels, seed, classes, ids)
        return labels, targets

    def with_eot(self, eot: int) -> Attack:
        """A copy of this attack with every step averaging `eot` forward passes (EOT, Athalye et
        al. 2018): the attack for a model whose forward is random."""
        check_count("eot", eot)
        if eot == self.eot:
            return self
        made = copy.copy(self)
        if eot == 1:
            object.__delattr__(made, "eot")
        else:
            object.__setattr__(made, "eot", eot)
        return made

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

