"""Best-so-far bookkeeping per sample: which iterate to keep, its score and success, and the cost.

Three policies: "score" keeps the highest score, preferring any successful iterate over an
unsuccessful one; "min_norm" keeps the successful iterate closest to x0 (minimum-norm attacks),
falling back to the highest score while a sample has not succeeded; "last" keeps the latest
iterate (synthesis: the image after the last step, or the last one reached when interrupted).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from advcat.kernels import best_update

KEEP_POLICIES = ("score", "min_norm", "last")


class BestIterates:
    """Buffers for the whole batch (N rows), updated from the active rows by index."""

    def __init__(
        self, x: Tensor, policy: str = "score", norm: Callable[[Tensor], Tensor] | None = None
    ) -> None:
        if policy not in KEEP_POLICIES:
            raise ValueError(f"keep must be one of {KEEP_POLICIES}, got {policy!r}")
        if policy == "min_norm" and norm is None:
            raise ValueError("keep='min_norm' needs a threat whose norm measures the perturbation")
        n, device = x.shape[0], x.device
        self.policy = policy
        self.norm = norm
        self.x = x.detach().clone()
        self.score = torch.full((n,), float("-inf"), device=device)
        self.success = torch.zeros(n, dtype=torch.bool, device=device)
        self.size = torch.full((n,), float("inf"), device=device)
        self.steps_taken = torch.zeros(n, dtype=torch.long, device=device)
        self.queries = torch.zeros(n, dtype=torch.long, device=device)
        self.logits: Tensor | None = None

    def update(
        self, index: Tensor, image: Tensor, x0: Tensor, score: Tensor, success: Tensor | None, logits: Tensor,
        passes: int = 1,
    ) -> None:
        """Record the active rows' current iterate (and its logits) where it beats their best; the
        iterate cost `passes` forward passes (queries)."""
        if self.logits is None:
            self.logits = logits.new_full((self.x.shape[0], logits.shape[1]), float("nan"))
        score = score.detach().float()
        succ = success if success is not None else torch.zeros_like(score, dtype=torch.bool)
        old_score, old_succ = self.score[index], self.success[index]
        size = None
        if self.policy == "last":
            better = torch.ones_like(succ)
            self.success[index] = False
        elif self.policy == "score":
            better = (succ & ~old_succ) | ((succ == old_succ) & (score > old_score))
        else:
            assert self.norm is not None
            size = self.norm(image.detach() - x0).float()
            better = torch.where(old_succ, succ & (size < self.size[index]), succ | (score > old_score))
        self.queries[index] += passes
        rows = index[better]
        if rows.numel() == 0:
            return
        best_update(self.x, image.detach(), index, better)
        self.score[rows] = score[better]
        self.logits[rows] = logits.detach()[better].to(self.logits.dtype)
        self.success[rows] = self.success[rows] | succ[better]
        if size is not None:
            self.size[rows] = torch.where(succ[better], size[better], self.size[rows])

    def count_step(self, index: Tensor) -> None:
        """The active rows took one more gradient step."""
        self.steps_taken[index] += 1
