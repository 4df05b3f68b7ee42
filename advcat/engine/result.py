"""What the engine returns: the best iterate per sample and what it cost."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Result:
    """Best images found, per sample, with their scores, success flags and costs.

    `x`: best images (N, C, H, W) in [0, 1]; `logits`: the model's logits on them; `z`: the
    optimized variable of the last restart for parameterized runs (None for pixels); `score`:
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
    z: Tensor | None = None
    interrupted: bool = False
