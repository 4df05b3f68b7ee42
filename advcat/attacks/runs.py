"""Several engine runs, one answer: a goal cut to a subset of samples, and the per-sample best.

APGD-T runs once per target class on the samples still unsolved; CW runs once per constant c of
its binary search. Each run is the engine; these helpers keep, for every sample, the iterate its
attack prefers and add up what every run cost.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from advcat.attacks.base import Goal
from advcat.core.result import Result
from advcat.threats import make_threat


def subgoal(goal: Goal, rows: Tensor) -> Goal:
    """`goal` for the batch rows `rows` alone: their labels, targets, ids and per-sample eps."""
    threat = goal.threat
    if isinstance(threat.eps, Tensor) and threat.eps.dim() == 1:
        threat = make_threat(threat.name, threat.eps.to(rows.device)[rows])
    return dataclasses.replace(
        goal,
        labels=goal.labels[rows],
        target=None if goal.target is None else goal.target[rows],
        threat=threat,
        ids=goal.ids[rows.cpu()],
    )


def margins(logits: Tensor | None, labels: Tensor, target: Tensor | None) -> Tensor:
    """How far each sample is past its goal: the CW margin (NaN logits count as -inf)."""
    if logits is None:
        return torch.full(labels.shape, float("-inf"), device=labels.device)
    cls = labels if target is None else target
    own = logits.gather(1, cls[:, None])[:, 0]
    other = logits.scatter(1, cls[:, None], float("-inf")).amax(1)
    value = other - own if target is None else own - other
    return torch.nan_to_num(value, nan=float("-inf"))


class BestOfRuns:
    """The kept iterate of every sample across runs, and the summed cost of all runs."""

    def __init__(self, x: Tensor) -> None:
        n = x.shape[0]
        self.x = x.detach().clone()
        self.logits: Tensor | None = None
        self.score = torch.full((n,), float("-inf"), device=x.device)
        self.success = torch.zeros(n, dtype=torch.bool, device=x.device)
        self.steps_taken = torch.zeros(n, dtype=torch.long, device=x.device)
        self.queries = torch.zeros(n, dtype=torch.long, device=x.device)
        self.first: Result | None = None

    def add(self, result: Result, rows: Tensor, take: Tensor) -> None:
        """Count the run on batch rows `rows`; where `take` (one per row) holds, keep its iterate.

        An interrupted run stops the attack (KeyboardInterrupt): the later runs it would skip
        decide which samples are solved, so no partial merge could stand for the attack."""
        if result.interrupted:
            raise KeyboardInterrupt
        if self.first is None:
            self.first = result
        self.steps_taken[rows] += result.steps_taken.to(self.steps_taken.device)
        self.queries[rows] += result.queries.to(self.queries.device)
        if result.logits is not None and self.logits is None:
            self.logits = result.logits.new_full((self.x.shape[0], result.logits.shape[1]), float("nan"))
        kept = rows[take]
        if kept.numel() == 0:
            return
        self.x[kept] = result.x[take].to(self.x.dtype)
        self.score[kept] = result.score[take].float()
        if result.success is not None:
            self.success[kept] = result.success[take]
        if result.logits is not None and self.logits is not None:
            self.logits[kept] = result.logits[take].to(self.logits.dtype)

    def result(self, objective: str) -> Result:
        """The merged Result (history and seed from the first run)."""
        if self.first is None:
            raise RuntimeError("no run was added")
        return Result(
            x=self.x,
            logits=self.logits,
            score=self.score,
            success=self.success,
            steps_taken=self.steps_taken,
            queries=self.queries,
            history=self.first.history,
            seed=self.first.seed,
            objective=objective,
        )
