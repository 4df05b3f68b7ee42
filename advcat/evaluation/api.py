"""`advcat.evaluate`: robust accuracy of a model on a data set, per eps, with sanity checks.

Points go in batches of fixed data-set indices; each batch runs the attack cascade at every eps and
the sanity probes, is committed to `out` when given (resume), and batches are shared among the
processes of a torch.distributed run (sharding). One Report comes out, the same either way.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from advcat.attacks.base import DEFAULT_EPS, NORM_ALIASES
from advcat.core.interrupts import counting
from advcat.core.rng import fresh_seed
from advcat.evaluation.adaptive import PROBE_POINTS, AdaptivePlan, adapt_batch, decide
from advcat.evaluation.batch import EvaluationPlan, evaluate_batch
from advcat.evaluation.cascade import AttackSpec, forward, resolve_stages
from advcat.evaluation.data import EvalData, resolve_data
from advcat.evaluation.distributed import World, join
from advcat.evaluation.records import AdaptiveRecord, BatchRecord
from advcat.evaluation.report import Report
from advcat.evaluation.state import ADAPTIVE, RunDir
from advcat.evaluation.totals import build_report, merge_adaptive
from advcat.models.guard import any_grad_mode, borrowed
from advcat.models.pixel import model_info
from advcat.progress import progress_bar
from advcat.threats.linf import check_linf_budget

CONFIG_FORMAT = 1
K = TypeVar("K", BatchRecord, AdaptiveRecord)


@any_grad_mode
def evaluate(
    model: nn.Module,
    data: object,
    *,
    norm: str = "linf",
    eps: float | Sequence[float] | None = None,
    attacks: str | Sequence[AttackSpec] = "standard",
    n: int | None = None,
    batch_size: int = 64,
    seed: int | None = 0,
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
    sanity: bool = True,
    sanity_points: int = 100,
    adaptive: bool = True,
) -> Report:
    """Clean accuracy and, per eps, robust accuracy of `model` on the first `n` points of `data`.

    A point is robust at eps only if every attack of the cascade failed on it (and the sanity
    FGSM and doubled-steps attacks, which count too). `data`: (x, y) tensors, images alone
    (scored against the model's clean predictions), a Dataset, a non-shuffling DataLoader, or a
    name ("fashion_mnist", "imagenet_samples", ...). `attacks`: "standard" (APGD-CE, targeted
    APGD, Square), "fast" (APGD-CE) or a list of names, (name, options), attacks or eps -> attack
    factories. With `out`, each batch is committed there and a rerun resumes; a different config
    in `out` is refused. `sanity_points`: how many points (the first ones) the costlier checks use.
    With `adaptive` (and the checks on), failed checks are acted on: the points left robust are
    attacked again with BPDA, EOT, logit losses or a long gradient-free attack, as the checks call
    for; `robust_accuracy` is then the adaptive number and `naive_robust_accuracy` the cascade's.
    """
    norm_key, eps_list = _check_arguments(model, norm, eps, n, batch_size, seed, sanity_points)
    start = time.perf_counter()
    with borrowed(model), counting():
        device = _device(model)
        points = resolve_data(data, model)
        count = _count(points, n)
        num_classes, image_shape = _probe(model, points, device)
        stages = resolve_stages(attacks, norm_key, num_classes, eps_list)
        world = join(device)
        try:
            chosen_seed = _shared_seed(seed, world)
            plan = EvaluationPlan(
                stages=stages,
                eps=eps_list,
                norm=norm_key,
                seed=chosen_seed,
                batch_size=batch_size,
                sanity=sanity,
                sanity_points=sanity_points,
            )
            config = _config(model, points, count, plan, attacks)
            records = _run(_naive(model, points, plan, device), count, plan.batch_size, config, world, out,
                           resume, progress, BatchRecord, "evaluate")
            report = build_report(
                records,
                plan,
                config,
                versions(device),
                labelled=points.labelled,
                image_shape=image_shape,
                wall=time.perf_counter() - start,
                world_size=world.size,
            )
            if adaptive and sanity:
                report = _adapt(model, points, report, records, plan, num_classes, world, device, out, resume,
                                progress)
            if out is not None and world.rank == 0:
                report.save(Path(out) / "report.json")
                (Path(out) / "report.md").write_text(report.to_markdown())
            world.barrier()
        finally:
            world.close()
    return report


def _naive(
    model: nn.Module, points: EvalData, plan: EvaluationPlan, device: torch.device
) -> Callable[[Tensor], BatchRecord]:
    """The naive cascade's batch computation: data-set indices -> the batch's record."""

    def compute(ids: Tensor) -> BatchRecord:
        x, y = points.fetch(ids)
        return evaluate_batch(model, x.to(device), None if y is None else y.to(device), ids, plan)

    return compute


def _adapt(
    model: nn.Module,
    points: EvalData,
    report: Report,
    records: dict[int, BatchRecord],
    plan: EvaluationPlan,
    num_classes: int,
    world: World,
    device: torch.device,
    out: str | Path | None,
    resume: bool,
    progress: bool,
) -> Report:
    """The report after the adaptive stage (advcat.evaluation.adaptive) that its failed checks call
    for, run on the points the cascade left robust; committed under `out`/adaptive/ for resume."""
    x, y = _probe_points(model, points, records, device)
    chosen = decide(report.checks, model, x, y, plan.norm, num_classes) if x.shape[0] else None
    if chosen is None or not chosen.stages:
        return merge_adaptive(report, chosen, {}, plan)
    config = {
        "naive": report.config,
        "n": report.n,
        "batch_size": plan.batch_size,
        "eps": plan.eps,
        "attacks": [stage.describe() for stage in chosen.stages],
        "adaptive": chosen.describe(),
    }
    folder = None if out is None else Path(out) / ADAPTIVE
    found = _run(_adaptive(model, points, records, chosen, plan, device), report.n, plan.batch_size,
                 json.loads(json.dumps(config, default=str)), world, folder, resume, progress, AdaptiveRecord,
                 "adaptive")
    return merge_adaptive(report, chosen, found, plan)


def _probe_points(
    model: nn.Module, points: EvalData, records: dict[int, BatchRecord], device: torch.device
) -> tuple[Tensor, Tensor]:
    """The first PROBE_POINTS clean-correct points (by data-set index), where the adaptations are chosen."""
    pairs = sorted(
        (i, label) for r in records.values() for i, label, ok in zip(r.index, r.label, r.clean) if ok
    )
    chosen = pairs[:PROBE_POINTS]
    ids = torch.tensor([i for i, _ in chosen], dtype=torch.long)
    x, _ = points.fetch(ids) if chosen else (torch.zeros(0), None)
    return x.to(device), torch.tensor([label for _, label in chosen], dtype=torch.long, device=device)


def _adaptive(
    model: nn.Module,
    points: EvalData,
    records: dict[int, BatchRecord],
    chosen: AdaptivePlan,
    plan: EvaluationPlan,
    device: torch.device,
) -> Callable[[Tensor], AdaptiveRecord]:
    """The adaptive stage's batch computation: data-set indices -> the batch's adaptive record."""

    def compute(ids: Tensor) -> AdaptiveRecord:
        x, _ = points.fetch(ids)
        record = records[int(ids[0]) // plan.batch_size]
        return adapt_batch(model, x.to(device), record, chosen, plan.eps, norm=plan.norm, seed=plan.seed,
                           batch_size=plan.batch_size)

    return compute


def _run(
    compute: Callable[[Tensor], K],
    count: int,
    batch_size: int,
    config: dict[str, Any],
    world: World,
    out: str | Path | None,
    resume: bool,
    progress: bool,
    kind: type[K],
    desc: str,
) -> dict[int, K]:
    """Compute this process's batches (skipping committed ones) and gather everyone's records."""
    run = None
    if out is not None:
        if world.rank == 0:
            run = RunDir(out, config, resume=resume, writer=True, kind=kind)
        world.barrier()
        if world.rank != 0:
            run = RunDir(out, config, resume=True, writer=False, kind=kind)
    done = run.done() if run is not None else {}
    batches = math.ceil(count / batch_size)
    mine = world.mine(batches)
    records: dict[int, K] = {}
    with progress_bar(total=len(mine), desc=desc, enabled=progress and world.rank == 0) as bar:
        for b in mine:
            if b in done:
                records[b] = done[b]
            else:
                records[b] = compute(torch.arange(b * batch_size, min((b + 1) * batch_size, count)))
                if run is not None:
                    run.commit(b, records[b])
            bar.update(1)
    return world.gather(records)


def _check_arguments(
    model: nn.Module,
    norm: str,
    eps: float | Sequence[float] | None,
    n: int | None,
    batch_size: int,
    seed: int | None,
    sanity_points: int,
) -> tuple[str, list[float]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    key = NORM_ALIASES.get(str(norm).lower())
    if key is None:
        raise ValueError(f"unknown norm {norm!r}; expected one of linf, l2, l1")
    values = [DEFAULT_EPS[key]] if eps is None else [eps] if isinstance(eps, (int, float)) else list(eps)
    if not values or any(
        isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e) or e < 0
        for e in values
    ):
        raise ValueError(f"eps must be a number >= 0 or a non-empty list of them, got {eps!r}")
    values = sorted(float(e) for e in values)
    if key == "linf":
        check_linf_budget(values[-1], stacklevel=5)
    if len(set(values)) != len(values):
        raise ValueError(f"eps lists a budget twice: {eps!r}")
    for name, value, low in (("n", n, 1), ("batch_size", batch_size, 1), ("sanity_points", sanity_points, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return key, values


def _device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _count(points: EvalData, n: int | None) -> int:
    if n is None:
        return points.size
    if n > points.size:
        raise ValueError(f"n={n} but the data set {points.name} has {points.size} points")
    return n


def _probe(model: nn.Module, points: EvalData, device: torch.device) -> tuple[int, tuple[int, ...]]:
    """The number of classes and the image shape, from one forward pass on the first point."""
    x, _ = points.fetch(torch.arange(1))
    with torch.no_grad():
        logits = forward(model, x.to(device), None)
    if logits.dim() != 2 or logits.shape[1] < 2:
        raise ValueError(
            f"the model must return logits (N, K) with K >= 2 classes, got {tuple(logits.shape)}"
        )
    return int(logits.shape[1]), tuple(x.shape[1:])


def _shared_seed(seed: int | None, world: World) -> int:
    """The seed; a drawn one (seed=None) is broadcast so every process uses the same."""
    if seed is not None:
        return int(seed)
    drawn = [fresh_seed()]
    if world.size > 1:
        torch.distributed.broadcast_object_list(drawn, src=0, group=world.group)
    return int(drawn[0])


def _config(
    model: nn.Module, points: EvalData, count: int, plan: EvaluationPlan, attacks: object
) -> dict[str, Any]:
    """Everything that decides the result; a resumed run must match it exactly."""
    info = model_info(model)
    config = {
        "format": CONFIG_FORMAT,
        "model": {
            "name": info.name if info is not None else type(model).__name__,
            "fingerprint": model_fingerprint(model),
        },
        "data": {
            "name": points.name,
            "size": points.size,
            "labelled": points.labelled,
            "fingerprint": points.fingerprint(),
        },
        "n": count,
        "norm": plan.norm,
        "eps": plan.eps,
        "attacks_name": attacks if isinstance(attacks, str) else "custom",
        "attacks": [stage.describe() for stage in plan.stages],
        "batch_size": plan.batch_size,
        "seed": plan.seed,
        "sanity": plan.sanity,
        "sanity_points": plan.sanity_points,
    }
    plain: dict[str, Any] = json.loads(json.dumps(config, default=str))
    return plain


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the model's structure, parameters and buffers."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(repr(model).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def versions(device: torch.device) -> dict[str, str]:
    """Library versions and the machine, recorded in the report."""
    import advcat

    found = {
        "advcat": advcat.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
    }
    if device.type == "cuda":
        found["gpu"] = torch.cuda.get_device_name(device)
    else:
        found["cpu"] = platform.processor() or platform.machine()
    return found
