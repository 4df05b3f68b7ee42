"""One batch of an evaluation: clean predictions, the cascade at every eps, and the sanity probes.

The result is a typed `BatchRecord` (advcat.evaluation.records) keyed by the points' data-set indices,
so batches can be committed to disk one by one (resume) and computed by any process (sharding) with
the same result.
A model with no input gradient gets only the gradient-free attacks; the gradient ones break nothing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from advcat.core.rng import derive_seed
from advcat.evaluation import sanity
from advcat.evaluation.cascade import (
    Stage,
    attack_rows,
    forward,
    has_input_gradient,
    run_cascade,
    stage_seed,
)
from advcat.evaluation.records import (
    BatchRecord,
    DoubledCounts,
    EpsOutcome,
    LargeCounts,
    MarginCounts,
    ProbeCounts,
)
from advcat.validate import check_logits

MISCLASSIFIED = -2
ROBUST = -1
SANITY_STREAM = 211
MARGIN_STREAM = 223


@dataclass
class EvaluationPlan:
    """What every batch does: the stages, budgets and checks of one evaluation."""

    stages: list[Stage]
    eps: list[float]
    norm: str
    seed: int
    batch_size: int
    sanity: bool
    sanity_points: int

    def extra_codes(self) -> list[str]:
        """Names of the breakers after the stages: the sanity attacks that also count."""
        return ["fgsm (sanity)", "doubled steps (sanity)", "margin pgd (sanity)"]

    def doubled_stage(self) -> Stage | None:
        """The stage whose steps the doubled-steps check doubles: the first (it sees every point),
        if it is a gradient attack built by name with a number of steps."""
        first = self.stages[0]
        return None if first.gradient_free or first.steps is None else first


def evaluate_batch(
    model: nn.Module, x: Tensor, labels: Tensor | None, ids: Tensor, plan: EvaluationPlan
) -> BatchRecord:
    """The record of one batch: labels, clean correctness, who broke each point at each eps, costs."""
    start = time.perf_counter()
    with torch.no_grad():
        logits = check_logits(forward(model, x, plan.batch_size))
    predictions = logits.argmax(1)
    y = predictions if labels is None else labels.to(x.device)
    clean = predictions == y
    rows = clean.nonzero().squeeze(1)
    xc, yc, idc = x[rows], y[rows], ids[rows.cpu()]
    seconds_clean = time.perf_counter() - start
    graph = _differentiable(model, xc)
    probe, large, seconds_probes = _probes(model, x, xc, yc, idc, logits, plan, graph)
    subset = (idc < plan.sanity_points).to(xc.device)
    cascade = run_cascade(model, xc, yc, idc, plan.stages, plan.eps, norm=plan.norm, seed=plan.seed,
                          batch_size=plan.batch_size, differentiable=graph)
    outcomes = []
    for e, (eps, outcome) in enumerate(zip(plan.eps, cascade)):
        started = time.perf_counter()
        fgsm = _fgsm(model, xc, yc, idc, eps, plan, e, graph)
        doubled = _doubled(model, xc, yc, idc, eps, plan, subset, graph)
        margin = _margin(model, xc, yc, idc, eps, plan, subset, e, graph)
        before = _fold(outcome.broken_by, [fgsm, doubled], len(plan.stages))
        broken_by = torch.full((x.shape[0],), MISCLASSIFIED, dtype=torch.long)
        broken_by[rows.cpu()] = _fold(outcome.broken_by, [fgsm, doubled, margin], len(plan.stages))
        outcomes.append(
            EpsOutcome(
                broken_by=tuple(broken_by.tolist()),
                stage_standing=tuple(outcome.standing),
                stage_broken=tuple(outcome.broken),
                stage_seconds=tuple(outcome.seconds),
                fgsm_broken=None if fgsm is None else int(fgsm.sum()),
                fgsm_only=None if fgsm is None else int((fgsm.cpu() & (outcome.broken_by < 0)).sum()),
                doubled=None if doubled is None else _doubled_counts(outcome.broken_by, doubled, subset),
                margin=None
                if margin is None
                else _margin_counts(outcome.broken_by, before, margin, subset, plan),
                seconds_sanity=time.perf_counter() - started,
            )
        )
    return BatchRecord(
        index=tuple(ids.tolist()),
        label=tuple(y.tolist()),
        clean=tuple(clean.tolist()),
        eps=tuple(outcomes),
        probe=probe,
        large=large,
        seconds_clean=seconds_clean,
        seconds_probes=seconds_probes,
        seconds=time.perf_counter() - start,
    )


def _differentiable(model: nn.Module, xc: Tensor) -> bool:
    """Whether the gradient attacks can run on this batch; if not, a warning says what that means even
    with the sanity checks off."""
    if xc.shape[0] == 0 or has_input_gradient(model, xc):
        return True
    warnings.warn(
        "the model's forward cuts the autograd graph (no gradient reaches the input): the gradient attacks "
        "are skipped and break nothing, so robust accuracy is only an upper bound from the gradient-free "
        "attacks; wrap the non-differentiable step with advcat.bpda",
        UserWarning,
        stacklevel=3,
    )
    return False


def _probes(
    model: nn.Module, x: Tensor, xc: Tensor, yc: Tensor, idc: Tensor, logits: Tensor, plan: EvaluationPlan,
    graph: bool,
) -> tuple[ProbeCounts | None, LargeCounts | None, float]:
    """Gradients at the clean points, a second forward pass, and the unbounded attack on the subset
    (which, being a gradient attack, breaks nothing without a `graph` from logits to input); and the
    seconds they took (none of them runs with the sanity checks off)."""
    if not plan.sanity:
        return None, None, 0.0
    started = time.perf_counter()
    zero, bad = sanity.gradient_probe(model, xc, yc, plan.batch_size) if xc.shape[0] else (0, 0)
    probe = ProbeCounts(
        points=int(xc.shape[0]),
        zero=zero,
        nan=bad,
        randomized=sanity.randomized(model, x, logits, plan.batch_size),
    )
    subset = (idc < plan.sanity_points).nonzero().squeeze(1).to(xc.device)
    large = None
    if subset.numel() and not graph:
        large = LargeCounts(points=int(subset.numel()), robust=int(subset.numel()))
    elif subset.numel():
        seed = derive_seed(plan.seed, SANITY_STREAM)
        broken = sanity.unbounded_broken(model, xc[subset], yc[subset], idc[subset.cpu()], plan.norm,
                                         seed=seed, batch_size=plan.batch_size)
        large = LargeCounts(points=int(subset.numel()), robust=int((~broken).sum()))
    return probe, large, time.perf_counter() - started


def _fgsm(
    model: nn.Module, xc: Tensor, yc: Tensor, idc: Tensor, eps: float, plan: EvaluationPlan, e: int,
    graph: bool,
) -> Tensor | None:
    if not plan.sanity or xc.shape[0] == 0:
        return None
    if not graph:
        return torch.zeros(xc.shape[0], dtype=torch.bool, device=xc.device)
    seed = derive_seed(plan.seed, SANITY_STREAM, e)
    return sanity.fgsm_broken(model, xc, yc, idc, eps, plan.norm, seed=seed, batch_size=plan.batch_size)


def _doubled(
    model: nn.Module, xc: Tensor, yc: Tensor, idc: Tensor, eps: float, plan: EvaluationPlan,
    subset: Tensor, graph: bool,
) -> Tensor | None:
    """Points of the subset that the first stage breaks with twice its steps (same random start)."""
    stage = plan.doubled_stage()
    if not plan.sanity or stage is None:
        return None
    broken = torch.zeros(xc.shape[0], dtype=torch.bool, device=xc.device)
    rows = subset.nonzero().squeeze(1)
    if rows.numel() and graph:
        assert stage.steps is not None
        attack = stage.with_steps(2 * stage.steps)
        broken[rows] = attack_rows(model, attack, xc, yc, idc, rows, eps, norm=plan.norm,
                                   seed=stage_seed(plan.seed, 0), batch_size=plan.batch_size)
    return broken


def _margin(
    model: nn.Module,
    xc: Tensor,
    yc: Tensor,
    idc: Tensor,
    eps: float,
    plan: EvaluationPlan,
    subset: Tensor,
    e: int,
    graph: bool,
) -> Tensor | None:
    """Points of the subset PGD on the margin loss breaks: the check that shares no loss with the cascade."""
    if not plan.sanity:
        return None
    broken = torch.zeros(xc.shape[0], dtype=torch.bool, device=xc.device)
    rows = subset.nonzero().squeeze(1)
    if rows.numel() and graph:
        seed = derive_seed(plan.seed, MARGIN_STREAM, e)
        broken[rows] = sanity.margin_broken(model, xc[rows], yc[rows], idc[rows.cpu()], eps, plan.norm,
                                            seed=seed, batch_size=plan.batch_size)
    return broken


def _doubled_counts(cascade: Tensor, doubled: Tensor, subset: Tensor) -> DoubledCounts:
    """On the subset: the first stage's breaks (code 0 in the cascade) and those with doubled steps."""
    inside = subset.cpu()
    return DoubledCounts(
        points=int(inside.sum()),
        single=int((cascade[inside] == 0).sum()),
        doubled=int(doubled[subset].sum()),
    )


def _margin_counts(
    cascade: Tensor, before: Tensor, margin: Tensor, subset: Tensor, plan: EvaluationPlan
) -> MarginCounts:
    """On the subset: the margin attack's breaks, the first stage's (None if gradient-free), those of
    every other attack (cascade, FGSM, doubled steps), and the margin attack's breaks they all missed."""
    inside = subset.cpu()
    hit = margin.cpu() & inside
    return MarginCounts(
        points=int(inside.sum()),
        broken=int(hit.sum()),
        first=None if plan.stages[0].gradient_free else int((cascade[inside] == 0).sum()),
        broken_other=int((before[inside] != ROBUST).sum()),
        missed=int((hit & (before == ROBUST)).sum()),
    )


def _fold(broken_by: Tensor, extras: Sequence[Tensor | None], stages: int) -> Tensor:
    """Points the cascade left standing but a sanity attack broke are broken too (codes after the stages,
    in the order of `extras`)."""
    out = broken_by.clone()
    for code, extra in enumerate(extras, start=stages):
        if extra is not None:
            out[(out == ROBUST) & extra.cpu()] = code
    return out


def stage_names(stages: Sequence[Stage], plan: EvaluationPlan) -> list[str]:
    """The legend for the broken_by codes >= 0."""
    return [s.name for s in stages] + plan.extra_codes()
