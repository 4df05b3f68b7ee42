"""What the engine returns: the best iterate per sample and what it cost."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Result:
    """Best images found, per sample, with their scores, success flags and costs.

    `x`: best images (N, C, H, W) in [0, 1]; `logits`: the model's logits on them; `score`:
    best score (N,); `success`: (N,) bool, or None without a success criterion;
    `steps_taken`: gradient steps spent on each sample (all restarts); `queries`: forward
    passes per sample; `history`: mean score of the active samples at each step of the first
    restart; `seed`: the seed used (drawn when `seed=None`).
    """

    x: Tensor
    logits: Tensor | None
    score: Tensor
    success: Tensor | None
    steps_taken: Tensor
    queries: Tensor
    history: Tensor
    seed: int
    objective: str
    interrupted: bool = False

    def summary(self) -> str:
        """One line: the objective, how many samples succeeded, the mean best score and the cost."""
        n = int(self.x.shape[0])
        cut = "INTERRUPTED (partial result): " if self.interrupted else ""
        success = "" if self.success is None else f"success {int(self.success.sum())}/{n}, "
        return (
            f"{cut}maximized {self.objective} on {n} images: {success}mean best score "
            f"{float(self.score.float().mean()):.4g}, "
            f"mean steps {float(self.steps_taken.float().mean()):.1f}, "
            f"mean queries {float(self.queries.float().mean()):.1f}, seed {self.seed}"
        )

    def __repr__(self) -> str:
        return f"Result({self.summary()})"
