"""From per-batch records to one Report: per-sample flags in data-set order, sums, and the checks."""

from __future__ import annotations

from typing import Any

from advcat.evaluation.batch import ROBUST, Plan, stage_names
from advcat.evaluation.report import Report
from advcat.evaluation.sanity import large_eps, run_checks


def build_report(
    records: dict[int, dict[str, Any]],
    plan: Plan,
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
    index = [i for r in ordered for i in r["index"]]
    clean = [c for r in ordered for c in r["clean"]]
    n = len(index)
    broken_by = [[code for r in ordered for code in r["eps"][e]["broken_by"]] for e in range(len(plan.eps))]
    names = stage_names(plan.stages, plan)
    attacks = []
    for e in range(len(plan.eps)):
        rows = []
        for s, name in enumerate(names[: len(plan.stages)]):
            rows.append(
                {
                    "name": name,
                    "standing": sum(r["eps"][e]["stage_standing"][s] for r in ordered),
                    "broken": sum(r["eps"][e]["stage_broken"][s] for r in ordered),
                    "seconds": sum(r["eps"][e]["stage_seconds"][s] for r in ordered),
                }
            )
        for code, name in enumerate(names[len(plan.stages) :], start=len(plan.stages)):
            rows.append(
                {
                    "name": name,
                    "standing": None,
                    "broken": sum(c == code for c in broken_by[e]),
                    "seconds": None,
                }
            )
        attacks.append(rows)
    robust = [sum(c == ROBUST for c in codes) / n for codes in broken_by]
    checks = run_checks(_totals(ordered, plan, robust, n, image_shape)) if plan.sanity else []
    seconds = {
        "clean": sum(r["seconds_clean"] for r in ordered),
        "attacks": sum(row["seconds"] for rows in attacks for row in rows if row["seconds"] is not None),
        "sanity": sum(
            r.get("seconds_probes", 0.0) + sum(e["seconds_sanity"] for e in r["eps"]) for r in ordered
        ),
        "total": sum(r["seconds"] for r in ordered),
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
            "label": [y for r in ordered for y in r["label"]],
            "clean": clean,
            "broken_by": broken_by,
            "legend": names,
        },
        seconds=seconds,
        world_size=world_size,
    )


def _totals(
    ordered: list[dict[str, Any]], plan: Plan, robust: list[float], n: int, image_shape: tuple[int, ...]
) -> dict[str, Any]:
    """The sums the sanity checks read."""
    free = [s for s, stage in enumerate(plan.stages) if stage.gradient_free]
    first_free = free[0] if free else None
    gf_standing: list[int | None] = []
    gf_broken: list[int | None] = []
    fgsm: list[int | None] = []
    only: list[int] = []
    grad: list[int] = []
    doubled: list[dict[str, Any] | None] = []
    margin: list[dict[str, Any] | None] = []
    doubled_stage = plan.doubled_stage()
    for e in range(len(plan.eps)):
        rows = [r["eps"][e] for r in ordered]
        if first_free is None:
            gf_standing.append(None)
            gf_broken.append(None)
        else:
            gf_standing.append(sum(r["stage_standing"][first_free] for r in rows))
            gf_broken.append(sum(r["stage_broken"][s] for r in rows for s in free))
        gradient = [s for s in range(len(plan.stages)) if s not in free]
        grad.append(sum(r["stage_broken"][s] for r in rows for s in gradient))
        has_fgsm = all(r["fgsm_broken"] is not None for r in rows if r["stage_standing"][0] > 0)
        fgsm.append(sum(r["fgsm_broken"] or 0 for r in rows) if has_fgsm else None)
        only.append(sum(r["fgsm_only"] or 0 for r in rows))
        parts = [r["doubled"] for r in rows if r["doubled"] is not None]
        doubled.append(
            None
            if doubled_stage is None or not parts
            else {
                "name": doubled_stage.name,
                **{k: sum(p[k] for p in parts) for k in ("points", "single", "doubled")},
            }
        )
        marks = [r["margin"] for r in rows if r.get("margin") is not None]
        margin.append(_margin_sums(marks, plan.stages[0].name) if marks else None)
    probes = [r["probe"] for r in ordered if r["probe"] is not None]
    large = [r["large"] for r in ordered if r["large"] is not None]
    return {
        "n": n,
        "eps": list(plan.eps),
        "robust": [100.0 * r for r in robust],
        "gf_standing": gf_standing,
        "gf_broken": gf_broken,
        "fgsm_broken": fgsm,
        "fgsm_only": only,
        "gradient_broken": grad,
        "doubled": doubled,
        "margin": margin,
        "large_points": sum(p["points"] for p in large),
        "large_robust": sum(p["robust"] for p in large),
        "large_eps": large_eps(plan.norm, image_shape),
        "probe_points": sum(p["points"] for p in probes),
        "zero_gradients": sum(p["zero"] for p in probes),
        "nan_gradients": sum(p["nan"] for p in probes),
        "randomized": any(p["randomized"] for p in probes),
    }


def _margin_sums(parts: list[dict[str, Any]], first: str) -> dict[str, Any]:
    """The margin-loss check's counts over batches (`first` is None when the first stage is gradient-free)."""
    firsts = [p["first"] for p in parts]
    return {
        "name": first,
        "first": None if None in firsts else sum(firsts),
        **{k: sum(p[k] for p in parts) for k in ("points", "broken", "broken_other", "missed")},
    }
