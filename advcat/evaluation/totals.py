"""From per-batch records to one Report: per-sample flags in data-set order, sums, and the checks."""

from __future__ import annotations

import dataclasses
from typing import Any

from advcat.evaluation.adaptive import AdaptivePlan, label
from advcat.evaluation.batch import ROBUST, EvaluationPlan, stage_names
from advcat.evaluation.records import (
    AdaptiveRecord,
    BatchRecord,
    DoubledCounts,
    EpsOutcome,
    MarginCounts,
    Totals,
)
from advcat.evaluation.report import Report
from advcat.evaluation.sanity import large_eps, run_checks


def build_report(
    records: dict[int, BatchRecord],
    plan: EvaluationPlan,
    config: dict[str, Any],
    versions: dict[str, str],
    *,
    labelled: bool,
    image_shape: tuple[int, ...],
    wall: float,
    world_size: int,
) -> Report:
    """One report from every batch's record (records keyed by batch number)."""
    ordered = [records[b] for b in sorted(records)]
    index = [i for r in ordered for i in r.index]
    clean = [c for r in ordered for c in r.clean]
    n = len(index)
    broken_by = [[code for r in ordered for code in r.eps[e].broken_by] for e in range(len(plan.eps))]
    names = stage_names(plan.stages, plan)
    attacks = [
        _attack_rows([r.eps[e] for r in ordered], codes, names, plan) for e, codes in enumerate(broken_by)
    ]
    robust = [sum(c == ROBUST for c in codes) / n for codes in broken_by]
    checks = run_checks(_sum_totals(ordered, plan, robust, image_shape)) if plan.sanity else []
    seconds = {
        "clean": sum(r.seconds_clean for r in ordered),
        "attacks": sum(row["seconds"] for rows in attacks for row in rows if row["seconds"] is not None),
        "sanity": sum(r.seconds_probes + sum(o.seconds_sanity for o in r.eps) for r in ordered),
        "total": sum(r.seconds for r in ordered),
        "wall": wall,
    }
    return Report(
        config=config,
        versions=versions,
        labels="given" if labelled else "clean predictions",
        n=n,
        clean_accuracy=sum(clean) / n,
        eps=list(plan.eps),
        robust_accuracy=robust,
        attacks=attacks,
        checks=[c.to_dict() for c in checks],
        samples={
            "index": index,
            "label": [y for r in ordered for y in r.label],
            "clean": clean,
            "broken_by": broken_by,
            "legend": names,
        },
        seconds=seconds,
        world_size=world_size,
    )


def _attack_rows(
    outcomes: list[EpsOutcome], codes: list[int], names: list[str], plan: EvaluationPlan
) -> list[dict[str, Any]]:
    """The report's rows at one eps: each stage's sums over the batches, then each sanity attack's
    breaks (points only it broke, counted from the broken_by `codes`); with the sanity checks off
    their attacks did not run, and get no row (a 0 would read as "ran and broke nothing")."""
    stages = len(plan.stages)
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "standing": sum(o.stage_standing[s] for o in outcomes),
            "broken": sum(o.stage_broken[s] for o in outcomes),
            "seconds": sum(o.stage_seconds[s] for o in outcomes),
        }
        for s, name in enumerate(names[:stages])
    ]
    for code, name in enumerate(names[stages:] if plan.sanity else [], start=stages):
        broken = sum(c == code for c in codes)
        rows.append({"name": name, "standing": None, "broken": broken, "seconds": None})
    return rows


def _sum_totals(
    ordered: list[BatchRecord], plan: EvaluationPlan, robust: list[float], image_shape: tuple[int, ...]
) -> Totals:
    """The sums over the batches that the sanity checks read (`robust`: fractions per eps)."""
    free = [s for s, stage in enumerate(plan.stages) if stage.gradient_free]
    gradient = [s for s in range(len(plan.stages)) if s not in free]
    per_eps = [[r.eps[e] for r in ordered] for e in range(len(plan.eps))]
    probes = [r.probe for r in ordered if r.probe is not None]
    large = [r.large for r in ordered if r.large is not None]
    doubled_check = plan.doubled_stage() is not None
    return Totals(
        n=sum(len(r.index) for r in ordered),
        eps=tuple(plan.eps),
        robust=tuple(100.0 * r for r in robust),
        first_stage=plan.stages[0].name,
        gf_standing=tuple(sum(o.stage_standing[free[0]] for o in rows) if free else None for rows in per_eps),
        gf_broken=tuple(_broken(rows, free) if free else None for rows in per_eps),
        fgsm_broken=tuple(_fgsm_sum(rows) for rows in per_eps),
        fgsm_only=tuple(sum(o.fgsm_only or 0 for o in rows) for rows in per_eps),
        gradient_broken=tuple(_broken(rows, gradient) for rows in per_eps),
        doubled=tuple(_doubled_sum(rows) if doubled_check else None for rows in per_eps),
        margin=tuple(_margin_sum(rows) for rows in per_eps),
        large_points=sum(p.points for p in large),
        large_robust=sum(p.robust for p in large),
        large_eps=large_eps(plan.norm, image_shape),
        probe_points=sum(p.points for p in probes),
        zero_gradients=sum(p.zero for p in probes),
        nan_gradients=sum(p.nan for p in probes),
        randomized=any(p.randomized for p in probes),
    )


def _broken(outcomes: list[EpsOutcome], stages: list[int]) -> int:
    """Points the stages numbered `stages` broke, over the batches."""
    return sum(o.stage_broken[s] for o in outcomes for s in stages)


def _fgsm_sum(outcomes: list[EpsOutcome]) -> int | None:
    """FGSM's breaks over the batches, or None if it did not run on a batch with correct points."""
    ran = all(o.fgsm_broken is not None for o in outcomes if o.stage_standing[0] > 0)
    return sum(o.fgsm_broken or 0 for o in outcomes) if ran else None


def _doubled_sum(outcomes: list[EpsOutcome]) -> DoubledCounts | None:
    """The doubled-steps check's counts over the batches where it ran (None if it ran on none)."""
    parts = [o.doubled for o in outcomes if o.doubled is not None]
    if not parts:
        return None
    return DoubledCounts(
        points=sum(p.points for p in parts),
        single=sum(p.single for p in parts),
        doubled=sum(p.doubled for p in parts),
    )


def _margin_sum(outcomes: list[EpsOutcome]) -> MarginCounts | None:
    """The margin-loss check's counts over the batches where it ran (None if it ran on none); `first`
    is None when the first stage is gradient-free."""
    parts = [o.margin for o in outcomes if o.margin is not None]
    if not parts:
        return None
    firsts = [p.first for p in parts if p.first is not None]
    return MarginCounts(
        points=sum(p.points for p in parts),
        broken=sum(p.broken for p in parts),
        first=sum(firsts) if len(firsts) == len(parts) else None,
        broken_other=sum(p.broken_other for p in parts),
        missed=sum(p.missed for p in parts),
    )


def merge_adaptive(
    report: Report, chosen: AdaptivePlan | None, records: dict[int, AdaptiveRecord], plan: EvaluationPlan
) -> Report:
    """`report` after the adaptive stage: a point it broke gets the code of its adaptive stage (after
    the naive legend), `robust_accuracy` becomes the adaptive number, the cascade's is kept as
    `naive_robust_accuracy`, and `adaptive` says what ran, why, and what each adaptation broke."""
    naive = list(report.robust_accuracy)
    if chosen is None or not records:
        described: dict[str, Any] = {"ran": False, "adaptations": [], "stages": [], "bypass": []}
        if chosen is not None:
            described = {**chosen.describe(), "ran": False}
            for entry in described["adaptations"]:
                entry["broken"] = [0] * len(plan.eps)
        return dataclasses.replace(report, naive_robust_accuracy=naive, adaptive=described)
    ordered = [records[b] for b in sorted(records)]
    offset = len(report.samples["legend"])
    broken_by = []
    for e, codes in enumerate(report.samples["broken_by"]):
        extra = [code for r in ordered for code in r.eps[e].broken_by]
        broken_by.append([offset + a if a >= 0 else c for c, a in zip(codes, extra)])
    labels = [label(stage, tag) for stage, tag in zip(chosen.stages, chosen.tags)]
    attacks = [
        rows + [
            {
                "name": name,
                "standing": sum(r.eps[e].stage_standing[s] for r in ordered),
                "broken": sum(r.eps[e].stage_broken[s] for r in ordered),
                "seconds": sum(r.eps[e].stage_seconds[s] for r in ordered),
            }
            for s, name in enumerate(labels)
        ]
        for e, rows in enumerate(report.attacks)
    ]
    described = {**chosen.describe(), "ran": True}
    for entry in described["adaptations"]:
        entry["broken"] = [
            sum(r.eps[e].stage_broken[s] for r in ordered for s, tag in enumerate(chosen.tags)
                if entry["name"] in tag.split("+"))
            for e in range(len(plan.eps))
        ]
    seconds = sum(r.seconds for r in ordered)
    return dataclasses.replace(
        report,
        robust_accuracy=[sum(c == ROBUST for c in codes) / report.n for codes in broken_by],
        naive_robust_accuracy=naive,
        attacks=attacks,
        samples={**report.samples, "broken_by": broken_by, "legend": report.samples["legend"] + labels,
                 "adaptive_from": offset},
        seconds={**report.seconds, "adaptive": seconds, "total": report.seconds["total"] + seconds},
        adaptive=described,
    )
