"""The one loop: forward with taps, per-sample score, gradient, step, project, keep the best.

Every attack and every synthesis preset calls `optimize`. Finished samples leave the batch
(active-set compaction) when `early_stop` is on, so the cost falls as samples succeed; restarts
run only on samples that have not succeeded; randomness comes from (seed, sample index).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from advcat.core.context import Context
from advcat.core.criteria import Criterion
from advcat.core.interrupts import partial_results
from advcat.core.result import Result
from advcat.core.rng import derive_seed, fresh_seed, sample_ids
from advcat.engine.best import BestIterates
from advcat.kernels.fused import fused_update
from advcat.models.guard import any_grad_mode, borrowed, usable
from advcat.models.pixel import model_info
from advcat.models.taps import tap
from advcat.objectives.base import Objective
from advcat.params.base import Param
from advcat.progress import progress_bar
from advcat.steps.base import State, Step, StepInfo
from advcat.threats.base import Threat
from advcat.validate import (
    check_count,
    check_images,
    check_index,
    check_logits,
    check_model_input,
    check_model_output,
    check_same_device,
    check_seed,
)

Transform = Callable[[Tensor], Tensor]
Callback = Callable[[dict[str, object]], None]

_AUTOCAST = {
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
}


_TRANSFORM_STREAM = 0x7F3A  # keys transform draws apart from random starts and other streams


@dataclass
class _Problem:
    """Everything fixed for one call, shared by the chunks and restarts."""

    model: nn.Module
    x: Tensor
    objective: Objective
    threat: Threat | None
    step: Step
    steps: int
    restarts: int
    param: Param | None
    success: Criterion | None
    early_stop: bool
    random_start: bool
    start: Tensor | None
    transforms: Transform | None
    eot: int
    autocast: torch.dtype | None
    seed: int
    classes: tuple[str, ...] | None
    callback: Callback | None
    #: (N,) on the CPU: the sample id that keys each row's randomness
    ids: Tensor

    def ids_of(self, index: Tensor) -> Tensor:
        """The sample ids of batch rows `index`, on `index`'s device."""
        return self.ids[index.cpu()].to(index.device)


@any_grad_mode
def optimize(
    model: nn.Module,
    x: Tensor,
    objective: Objective,
    *,
    step: Step,
    steps: int,
    threat: Threat | None = None,
    param: Param | None = None,
    success: Criterion | None = None,
    keep: str = "score",
    restarts: int = 1,
    random_start: bool = True,
    start: Tensor | None = None,
    early_stop: bool = False,
    transforms: Transform | None = None,
    eot: int = 1,
    autocast: torch.dtype | str | None = None,
    batch_size: int | None = None,
    seed: int | None = 0,
    index: Tensor | None = None,
    progress: bool = False,
    callback: Callback | None = None,
) -> Result:
    """Maximize `objective` over inputs near `x` with `steps` gradient steps per restart.

    `threat` bounds the perturbation of pixels (`x` is the centre); `param` instead optimizes a
    parameterization initialised from `x` (synthesis, CW's tanh space) under no bounded threat
    (`threats.Unbounded()` measures its L2 size for keep="min_norm"). `success` tells when a
    sample is done: with `early_stop` it leaves the batch, and restarts skip it. `keep="min_norm"`
    keeps the successful iterate nearest `x` in the threat's norm, `keep="last"` the latest iterate
    (after the last step, or the last one reached when interrupted). `transforms` (e.g. kornia
    augmentations) apply before every forward pass, drawn per sample from (seed, sample id,
    restart, step), so no draw depends on the batch. `eot=k` averages the score and the logits of
    k forward passes per step (expectation over transformation: k transform draws, and k draws
    of a randomized model's own noise); each counts as a query. `index`
    (N,) names the samples whose randomness each row draws (default 0..N-1): a data set's indices
    make a subset or shard draw what the same samples draw in a run over the whole set. `start`
    (pixels, the shape of `x`) is where every restart begins instead of `x` or a random start,
    projected into the threat (a minimum-norm search started from a known adversarial point).
    """
    _check_arguments(model, x, objective, step, steps, threat, param, keep, restarts, batch_size)
    if index is not None:
        check_index(index, x.shape[0])
    _check_start(start, x, param)
    x = usable(x)
    dtype = _autocast_dtype(autocast)
    info = model_info(model)
    problem = _Problem(
        model=model, x=x.detach(), objective=objective, threat=threat, step=step, steps=steps,
        restarts=restarts, param=param, success=success, early_stop=early_stop and success is not None,
        random_start=random_start, start=None if start is None else usable(start).detach(),
        transforms=transforms, eot=check_count("eot", eot), autocast=dtype,
        seed=fresh_seed() if seed is None else check_seed(seed),
        classes=info.classes if info is not None else None, callback=callback,
        ids=sample_ids(index, x.shape[0]),
    )
    n = x.shape[0]
    norm = threat.norm if threat is not None else None
    best = BestIterates(x, policy=keep, norm=norm)
    history = torch.zeros(steps + 1, dtype=torch.float64)
    counts = torch.zeros(steps + 1, dtype=torch.float64)
    chunk = batch_size or n
    interrupted = False
    total = -(-n // chunk) * restarts * steps
    with (
        borrowed(model),
        tap(model, sorted(objective.layers)) as activations,
        progress_bar(total=total, desc="optimize", enabled=progress) as bar,
    ):
        try:
            for first in range(0, n, chunk):
                rows = torch.arange(first, min(first + chunk, n), device=x.device)
                _run_chunk(problem, rows, best, activations, history, counts, bar)
        except KeyboardInterrupt:
            if not partial_results():
                raise
            interrupted = True
    return Result(
        x=best.x,
        logits=best.logits,
        score=best.score,
        success=best.success if success is not None else None,
        steps_taken=best.steps_taken,
        queries=best.queries,
        history=(history / counts.clamp_min(1)).float(),
        seed=problem.seed,
        objective=objective.describe(),
        interrupted=interrupted,
    )


def _run_chunk(
    p: _Problem,
    chunk: Tensor,
    best: BestIterates,
    activations: dict[str, Tensor],
    history: Tensor,
    counts: Tensor,
    bar: Any,
) -> None:
    """All restarts for one chunk of samples."""
    for restart in range(p.restarts):
        index = chunk if restart == 0 or p.success is None else chunk[~best.success[chunk]]
        if index.numel() == 0:
            break
        _descend(p, index, restart, best, activations, history, counts, bar)


def _descend(
    p: _Problem,
    index: Tensor,
    restart: int,
    best: BestIterates,
    activations: dict[str, Tensor],
    history: Tensor,
    counts: Tensor,
    bar: Any,
) -> None:
    """One restart of the loop over `steps` gradient steps for the samples in `index`."""
    x0 = p.x[index]
    z = _start(p, x0, index, restart)
    state: State | None = None
    fused = fused_update(p.step, p.threat, z) if p.param is None else None
    for t in range(p.steps + 1):
        needs_grad = t < p.steps and p.step.needs_grad
        z = z.detach().requires_grad_(needs_grad)
        with torch.enable_grad() if needs_grad else torch.no_grad():
            image = p.param.to_image(z) if p.param is not None else z
            logits, score = _expected(p, image, x0, restart, t, index, activations)
        succeeded = p.success(logits.detach(), index) if p.success is not None else None
        best.update(index, image, x0, score, succeeded, logits, passes=p.eot)
        if restart == 0:
            history[t] += float(score.detach().double().sum())
            counts[t] += index.numel()
        if t == p.steps:
            break
        grad = torch.autograd.grad(score.sum(), z)[0] if needs_grad else None
        z, score = z.detach(), score.detach()
        if p.early_stop and succeeded is not None and bool(succeeded.any()):
            keep = ~succeeded
            index, x0, z, score = index[keep], x0[keep], z[keep], score[keep]
            grad = grad[keep] if grad is not None else None
            if state is not None:
                state = {k: v[keep] for k, v in state.items()}
            bar.update(0)
            if index.numel() == 0:
                break
        info = StepInfo(
            t=t,
            steps=p.steps,
            index=index,
            score=score,
            project=_projector(p, x0, index),
            eps=p.threat.eps_for(index, z) if p.threat is not None and _bounded(p.threat) else None,
            x0=x0,
            ids=p.ids_of(index),
            seed=p.seed,
            restart=restart,
        )
        if state is None:
            state = p.step.init(z, info)
        if fused is not None and grad is not None:
            z = fused(z, grad, x0, info)
        else:
            direction = p.step.transform(grad, state, info)  # type: ignore[arg-type]
            z = info.project(p.step.apply(z, direction, state, info))
        best.count_step(index)
        bar.update(1)
        if p.callback is not None:
            p.callback({"t": t, "restart": restart, "index": index, "score": score, "success": succeeded})


def _bounded(threat: Threat | None) -> bool:
    return threat is not None and getattr(threat, "eps", None) is not None


def _start(p: _Problem, x0: Tensor, index: Tensor, restart: int) -> Tensor:
    """The starting variable: a parameterization's init, the given start (projected), or x0 plus
    a random feasible delta."""
    if p.param is not None:
        return p.param.init(tuple(x0.shape[1:]), p.ids_of(index), p.seed, restart, x0)
    if p.start is not None:
        return _projector(p, x0, index)(p.start[index].to(x0.dtype))
    if p.random_start and p.threat is not None and _bounded(p.threat):
        return x0 + p.threat.random_start(x0, index, p.seed, restart, ids=p.ids_of(index))
    return x0.clone()


def _projector(p: _Problem, x0: Tensor, index: Tensor) -> Callable[[Tensor], Tensor]:
    """Projection of the variable onto the feasible set of the active samples."""
    if p.param is not None:
        return p.param.project
    if p.threat is None:
        return lambda z: z.clamp(0.0, 1.0)
    threat = p.threat
    return lambda z: x0 + threat.project(z - x0, x0, index)


def _expected(
    p: _Problem, image: Tensor, x0: Tensor, restart: int, t: int, index: Tensor,
    activations: dict[str, Tensor],
) -> tuple[Tensor, Tensor]:
    """The logits and the objective's score at `image`, each averaged over the `eot` draws."""
    logits_sum: Tensor | None = None
    score_sum: Tensor | None = None
    for draw in range(p.eot):
        activations.clear()
        logits = _forward(p, image, restart, t, index, draw)
        if t == 0 and restart == 0 and draw == 0:
            check_logits(logits.detach())
        ctx = Context(
            x=image, logits=logits, index=index, x0=x0, activations=dict(activations), classes=p.classes,
        )
        score = p.objective(ctx)
        logits_sum = logits if logits_sum is None else logits_sum + logits
        score_sum = score if score_sum is None else score_sum + score
    assert logits_sum is not None and score_sum is not None
    return logits_sum / p.eot, score_sum / p.eot


def _transformed(p: _Problem, image: Tensor, restart: int, t: int, index: Tensor, draw: int) -> Tensor:
    """`image` through the transforms, each row under its own sample's seed for this step and draw,
    so a sample's transform is the same whatever batch, chunk, order or shard it runs in."""
    assert p.transforms is not None
    rows = []
    for row, sid in enumerate(p.ids[index.cpu()].tolist()):
        with _seeded(derive_seed(p.seed, sid, _TRANSFORM_STREAM, restart, t, draw)):
            rows.append(p.transforms(image[row : row + 1]))
    shapes = {tuple(r.shape[1:]) for r in rows}
    if len(shapes) > 1:
        raise ValueError(f"transforms must give every image the same shape, got {sorted(shapes)}")
    return torch.cat(rows)


def _forward(p: _Problem, image: Tensor, restart: int, t: int, index: Tensor, draw: int = 0) -> Tensor:
    """The model's logits on `image` (after transforms, under autocast when asked)."""
    inputs = image if p.transforms is None else _transformed(p, image, restart, t, index, draw)
    context = torch.autocast(image.device.type, dtype=p.autocast) if p.autocast else nullcontext()
    with context:
        logits = p.model(inputs)
    return check_model_output(logits).float()


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _check_start(start: Tensor | None, x: Tensor, param: Param | None) -> None:
    if start is None:
        return
    if param is not None:
        raise ValueError("start= sets a starting image; with param= the parameterization sets it")
    if not isinstance(start, Tensor) or start.shape != x.shape:
        raise ValueError(f"start must be a tensor shaped like x {tuple(x.shape)}, got "
                         f"{tuple(start.shape) if isinstance(start, Tensor) else type(start).__name__}")
    if start.device != x.device:
        raise ValueError(f"start is on {start.device} but x is on {x.device}")
    if not bool(torch.isfinite(start).all()):
        raise ValueError("start holds NaN or infinite values")


def _autocast_dtype(autocast: torch.dtype | str | None) -> torch.dtype | None:
    if autocast is None or isinstance(autocast, torch.dtype):
        return autocast
    if autocast not in _AUTOCAST:
        raise ValueError(f"autocast must be None, a dtype or one of {sorted(_AUTOCAST)}, got {autocast!r}")
    return _AUTOCAST[autocast]


def _check_arguments(
    model: nn.Module,
    x: Tensor,
    objective: Objective,
    step: Step,
    steps: int,
    threat: Threat | None,
    param: Param | None,
    keep: str,
    restarts: int,
    batch_size: int | None,
) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x)
    check_same_device(x, model=model)
    check_model_input(model, x)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an advcat Objective, got {type(objective).__name__}")
    if not isinstance(step, Step):
        raise TypeError(f"step must be an advcat Step, got {type(step).__name__}")
    check_count("steps", steps)
    check_count("restarts", restarts)
    check_count("batch_size", batch_size, optional=True)
    if threat is not None:
        if not isinstance(threat, Threat):
            raise TypeError(f"threat must be an advcat Threat, got {type(threat).__name__}")
        threat.check_batch(x.shape[0])
    if param is not None and _bounded(threat):
        raise ValueError("a parameterization cannot be combined with a bounded threat model")
    if keep == "min_norm" and threat is None:
        raise ValueError("keep='min_norm' needs a threat model to measure the perturbation")
