"""The adaptive stage: when a sanity check says the gradients mislead, attack again in the way that
check calls for, on the points the naive cascade left robust, and count the verified breaks.

Adaptations (docs/evaluation.md, "Adaptive evaluation"): `bpda` gives the sub-modules that cut or
zero the input gradient a straight-through backward; `eot` averages EOT_SAMPLES forward passes per
step of a randomized model; `margin` swaps cross-entropy for the DLR losses on logits when the
softmax saturates; `gradient_free` runs Square with SQUARE_QUERIES queries where no gradient helps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attacks.runs import margins
from advcat.evaluation.batch import ROBUST
from advcat.evaluation.cascade import Stage, named_stage, run_cascade
from advcat.evaluation.records import AdaptiveOutcome, AdaptiveRecord, BatchRecord

EOT_SAMPLES = 16
SQUARE_QUERIES = 5000
TARGET_CLASSES = 3
PROBE_POINTS = 16
LOGIT_SCALE = 1e3
SEARCH_ROUNDS = 4
ADAPTIVE_STREAM = 307
GRADIENT_CHECKS = ("gradients", "unbounded_attack")
MARGIN_CHECKS = ("margin_loss",)
RANDOM_CHECKS = ("deterministic",)
GRADIENT_FREE_CHECKS = ("gradient_free_stage",)


@dataclass(frozen=True)
class Adaptation:
    """One adaptation: its name, what triggered it (failed checks or probes) and what it does."""

    name: str
    trigger: tuple[str, ...]
    detail: str


@dataclass
class AdaptivePlan:
    """The adaptations and the attack stages they make; `bypass` names the sub-modules given a
    straight-through backward while the gradient attacks run, `tags[s]` stage s's adaptations."""

    adaptations: list[Adaptation]
    stages: list[Stage]
    tags: list[str]
    bypass: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        """The plan as plain JSON types (the adaptive folder's config, the report's `adaptive`)."""
        return {
            "adaptations": [
                {"name": a.name, "trigger": list(a.trigger), "detail": a.detail} for a in self.adaptations
            ],
            "stages": [
                {**stage.describe(), "label": label(stage, tag)} for stage, tag in zip(self.stages, self.tags)
            ],
            "bypass": list(self.bypass),
        }


def label(stage: Stage, tag: str) -> str:
    """A stage's name in the report's legend: the attack and its adaptations."""
    return f"{stage.name} [{tag}]"


def decide(
    checks: Sequence[dict[str, Any]], model: nn.Module, x: Tensor, y: Tensor, norm: str, num_classes: int
) -> AdaptivePlan | None:
    """The adaptations the failed `checks` and probes on `x`, `y` (a few clean points) call for, or
    None when nothing calls for one."""
    failed = {c["name"] for c in checks if c["passed"] is False}
    adaptations: list[Adaptation] = []
    bypass: tuple[str, ...] = ()
    gradient_free = sorted(failed & set(GRADIENT_FREE_CHECKS))
    masked = sorted(failed & set(GRADIENT_CHECKS))
    gradient = True
    if masked:
        fixable, unfixable = find_blockers(model, x, y)
        if fixable and not unfixable and _has_gradient(model, x, y, fixable):
            bypass = tuple(fixable)
            adaptations.append(Adaptation("bpda", tuple(masked), "straight-through backward for "
                                          + ", ".join(_describe(model, n) for n in bypass)))
        else:
            gradient = _has_gradient(model, x, y, ())
    if failed & set(RANDOM_CHECKS):
        adaptations.append(Adaptation("eot", tuple(sorted(failed & set(RANDOM_CHECKS))),
                                      f"every gradient step averages {EOT_SAMPLES} forward passes"))
    saturated = sorted(failed & set(MARGIN_CHECKS)) + (_saturation(model, x, y, bypass) if gradient else [])
    if saturated:
        adaptations.append(Adaptation("margin", tuple(saturated),
                                      "losses on logits (DLR, targeted DLR) instead of cross-entropy"))
    if not gradient:  # no gradient even straight-through: only a gradient-free attack can help
        adaptations = []
    if masked and not adaptations:  # no gradient, or one that flows yet misleads for no reason found
        gradient_free += [name for name in masked if name not in gradient_free]
    stages, tags = _gradient_stages(adaptations, norm, num_classes) if gradient else ([], [])
    if gradient_free:
        adaptations.append(Adaptation("gradient_free", tuple(gradient_free),
                                      f"Square with {SQUARE_QUERIES} queries"))
        stages.append(named_stage("square", {"steps": SQUARE_QUERIES}, norm))
        tags.append("gradient_free")
    if not adaptations:
        return None
    return AdaptivePlan(adaptations=adaptations, stages=stages, tags=tags, bypass=bypass)


def _gradient_stages(
    adaptations: list[Adaptation], norm: str, num_classes: int
) -> tuple[list[Stage], list[str]]:
    """The gradient attacks of the adaptive cascade: APGD-CE (APGD-DLR under `margin`) and APGD-T,
    with EOT under `eot`; none if no gradient adaptation was chosen."""
    names = [a.name for a in adaptations]
    if not names:
        return [], []
    eot = {"eot": EOT_SAMPLES} if "eot" in names else {}
    first: tuple[str, dict[str, Any]] = ("apgd_ce", {})
    if "margin" in names:
        first = ("apgd_dlr", {}) if num_classes >= 3 else ("pgd", {"loss": "margin", "steps": 100})
    specs = [first, ("apgd_t", {"n_target_classes": min(TARGET_CLASSES, num_classes - 1)})]
    tag = "+".join(names)
    return [named_stage(name, {**options, **eot}, norm) for name, options in specs], [tag, tag]


def _describe(model: nn.Module, name: str) -> str:
    module = dict(model.named_modules())[name]
    return f"{name or 'the model'!r} ({type(module).__name__})"


@contextmanager
def straight_through(model: nn.Module, names: Sequence[str]) -> Iterator[nn.Module]:
    """`model` with the sub-modules `names` passing gradients straight through (BPDA, Athalye et al.
    2018): same forward values, identity backward; the hooks are removed on exit."""
    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(_through) for name in names]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()


def _through(module: nn.Module, inputs: tuple[Any, ...], output: Tensor) -> Tensor:
    """The forward hook of a bypassed module: its output's values, its surrogate's gradient."""
    surrogate = _surrogate(inputs[0], output)
    assert surrogate is not None, "find_blockers only chooses modules with a surrogate"
    through: Tensor = surrogate + (output - surrogate).detach()
    return through


def _surrogate(x: Tensor, out: Tensor) -> Tensor | None:
    """The differentiable stand-in for a blocking stage x -> out: x itself when the shapes agree, x
    repeated per channel when the stage expands each channel into k (a thermometer code), else None."""
    if out.shape == x.shape:
        return x.to(out.dtype)
    if out.dim() == x.dim() >= 3 and out.shape[0] == x.shape[0] and out.shape[2:] == x.shape[2:]:
        k, rest = divmod(out.shape[1], x.shape[1])
        if rest == 0:
            return x.to(out.dtype).repeat_interleave(k, dim=1)
    return None


def find_blockers(model: nn.Module, x: Tensor, y: Tensor) -> tuple[list[str], list[str]]:
    """The deepest sub-modules whose output carries a gradient (or could) while their input gets
    none: (those a straight-through surrogate fits, those it does not). Searched again with the
    found ones bypassed, since a second blocker may sit behind the first."""
    fixable: list[str] = []
    for _ in range(SEARCH_ROUNDS):
        blocking = _blocking(model, x, y, fixable)
        if not blocking:
            return fixable, []
        fits = [name for name, ok in blocking.items() if ok]
        if len(fits) < len(blocking):
            return fixable, [name for name, ok in blocking.items() if not ok]
        fixable += fits
    return fixable, []


def _blocking(model: nn.Module, x: Tensor, y: Tensor, bypass: list[str]) -> dict[str, bool]:
    """One search round: the deepest blocking modules (not in `bypass`), each with whether a
    surrogate fits it."""
    seen: dict[str, tuple[Tensor, Tensor]] = {}

    def record(name: str) -> Any:
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            tensors = inputs and isinstance(inputs[0], Tensor) and isinstance(output, Tensor)
            if tensors and not getattr(module, "inplace", False):  # an in-place output has no grad of its own
                for tensor in (inputs[0], output):
                    if tensor.requires_grad and not tensor.is_leaf:
                        tensor.retain_grad()
                seen[name] = (inputs[0], output)
        return hook

    modules = [(name, m) for name, m in model.named_modules() if name not in bypass]
    handles = [m.register_forward_hook(record(name)) for name, m in modules]
    xb = x.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad(), straight_through(model, bypass):
            logits = model(xb).float()
            if logits.requires_grad:
                torch.autograd.backward(_margin(logits, y).sum())
    finally:
        for handle in handles:
            handle.remove()
    found = {name: _surrogate(a, b) is not None for name, (a, b) in seen.items() if _blocks(a, b)}
    return {name: ok for name, ok in found.items()
            if not any(other != name and other.startswith(f"{name}.") or (name == "" and other)
                       for other in found)}


def _blocks(a: Tensor, b: Tensor) -> bool:
    """Whether a stage input `a` -> output `b` stops the gradient: the graph is cut there, or its
    output's gradient is nonzero on a point whose input gradient is all zero, on most points."""
    if not a.requires_grad:
        return False
    if not b.requires_grad:
        return True
    if b.grad is None or a.grad is None:
        return b.grad is not None
    live = b.grad.flatten(1).abs().sum(1) > 0
    dead = a.grad.flatten(1).abs().sum(1) == 0
    return bool(live.any()) and int((live & dead).sum()) * 2 > int(live.sum())


def _margin(logits: Tensor, y: Tensor) -> Tensor:
    """The label's logit over the best other one (positive while classified correctly)."""
    return -margins(logits, y, None)


def _has_gradient(model: nn.Module, x: Tensor, y: Tensor, bypass: Sequence[str]) -> bool:
    """Whether, with `bypass` straight-through, the margin's input gradient is nonzero on most points."""
    xb = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), straight_through(model, bypass):
        logits = model(xb).float()
        if not logits.requires_grad:
            return False
        grad = torch.autograd.grad(_margin(logits, y).sum(), xb, allow_unused=True)[0]
    if grad is None:
        return False
    flat = grad.flatten(1)
    alive = torch.isfinite(flat).all(1) & (flat != 0).any(1)
    return int(alive.sum()) * 2 > x.shape[0]


def _saturation(model: nn.Module, x: Tensor, y: Tensor, bypass: Sequence[str]) -> list[str]:
    """["softmax_saturated"] when the logits exceed LOGIT_SCALE or cross-entropy's input gradient is all
    zero on more points than the margin's (the softmax is flat while the logits still differ)."""
    xb = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), straight_through(model, bypass):
        logits = model(xb).float()
        if not logits.requires_grad:
            return []
        ce = torch.autograd.grad(nn.functional.cross_entropy(logits, y, reduction="sum"), xb,
                                 retain_graph=True, allow_unused=True)[0]
        margin = torch.autograd.grad(_margin(logits, y).sum(), xb, allow_unused=True)[0]
    if ce is None or margin is None:
        return []
    zero_ce = int((ce.flatten(1) == 0).all(1).sum())
    zero_margin = int((margin.flatten(1) == 0).all(1).sum())
    huge = float(logits.detach().abs().max()) > LOGIT_SCALE
    return ["softmax_saturated"] if huge or zero_ce > zero_margin else []


def adapt_batch(
    model: nn.Module,
    x: Tensor,
    record: BatchRecord,
    plan: AdaptivePlan,
    eps: Sequence[float],
    *,
    norm: str,
    seed: int,
    batch_size: int,
) -> AdaptiveRecord:
    """The adaptive stages on the points of one batch that the naive cascade left robust, at each eps
    (a point broken at a smaller eps counts at the larger ones); every break verified on the model
    itself, without the straight-through hooks."""
    start = time.perf_counter()
    standing = [torch.tensor(o.broken_by, device=x.device) == ROBUST for o in record.eps]
    cascade = run_cascade(
        model, x, torch.tensor(record.label, device=x.device), torch.tensor(record.index), plan.stages, eps,
        norm=norm, seed=seed, batch_size=batch_size, standing=standing, stream=ADAPTIVE_STREAM,
        around=lambda stage: straight_through(model, () if stage.gradient_free else plan.bypass),
    )
    outcomes = tuple(
        AdaptiveOutcome(broken_by=tuple(o.broken_by.tolist()), stage_standing=tuple(o.standing),
                        stage_broken=tuple(o.broken), stage_seconds=tuple(o.seconds))
        for o in cascade
    )
    return AdaptiveRecord(index=record.index, eps=outcomes, seconds=time.perf_counter() - start)
