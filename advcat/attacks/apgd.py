"""Auto-PGD (Croce & Hein 2020) as engine presets: APGD with CE or DLR loss, and APGD-T.

The step rule `advcat.steps.APGDStep` carries the paper's schedule (step 2 eps, momentum 0.75,
halving at the checkpoints, restart from the best point); these presets pick the loss and, for
APGD-T, run once per target class on the samples not yet broken, as AutoAttack does.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal, _batched_forward
from advcat.attacks.pursuit import attack_objective, pursue
from advcat.attacks.runs import BestOfRuns, subgoal
from advcat.attacks.target_order import ORDERS, by_linear_distance, by_logits
from advcat.core.result import Result
from advcat.core.rng import derive_seed
from advcat.objectives import DLR, Margin, Objective
from advcat.steps import APGDStep
from advcat.validate import check_count, check_fraction

_APGD_LOSSES = ("ce", "dlr")
_TARGET_STREAM = 2_000_029


class APGD(Attack):
    """Auto-PGD: a budget-aware step size schedule, no step size to tune (Croce & Hein 2020).

    `loss` is "ce" (cross-entropy) or "dlr" (difference of logits ratio, needs 3 classes, 4 when
    targeted). Defaults follow the paper: 100 iterations, one restart, rho = 0.75.
    """

    name = "apgd"
    norms = ("linf", "l2")
    #: the loss a named variant (apgd_ce, apgd_dlr) always uses; None lets `loss` choose
    fixed_loss: ClassVar[str | None] = None

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 100,
        loss: str | None = None,
        restarts: int = 1,
        rho: float = 0.75,
    ) -> None:
        super().__init__(norm, eps)
        if self.fixed_loss is not None and loss not in (None, self.fixed_loss):
            raise ValueError(f"{self.name} always uses the {self.fixed_loss} loss; for loss={loss!r} use "
                             f"method='apgd' (APGD(loss={loss!r}))")
        loss = loss or self.fixed_loss or "ce"
        if loss not in _APGD_LOSSES:
            raise ValueError(f"APGD's loss must be one of {_APGD_LOSSES}, got {loss!r}")
        self.steps = check_count("steps", steps)
        self.loss = loss
        self.restarts = check_count("restarts", restarts)
        self.rho = check_fraction("rho", rho)

    def step_rule(self, eps: float | Tensor | None = None) -> APGDStep:
        """The APGD step; eps comes from the threat (scalar or per sample)."""
        return APGDStep(self.norm, rho=self.rho)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        return pursue(model, x, goal, attack_objective(self.loss, goal), self.step_rule(), self.steps,
                      restarts=self.restarts)


class APGDCE(APGD):
    """APGD with the cross-entropy loss (AutoAttack's first attack)."""

    name = "apgd_ce"
    fixed_loss = "ce"


class APGDDLR(APGD):
    """APGD with the DLR loss, invariant to shifts and rescaling of the logits."""

    name = "apgd_dlr"
    fixed_loss = "dlr"


class APGDT(APGD):
    """APGD-T: an untargeted attack made of targeted runs (AutoAttack's second attack).

    For each sample, `n_target_classes` classes other than the label are tried in turn, one APGD
    run with the targeted DLR loss per class, each on the samples no earlier run broke; any
    successful run's image is kept. `order="logits"` tries the highest clean logits first
    (AutoAttack); `order="malt"` the nearest boundaries in the linear approximation, ranked among
    the top `candidates` logits (see `advcat.attacks.target_order`). Models with fewer than 4
    classes get the targeted margin loss instead of DLR.
    """

    name = "apgd_t"
    targeted = False
    fixed_loss = "dlr"

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 100,
        n_target_classes: int = 9,
        restarts: int = 1,
        rho: float = 0.75,
        order: str = "logits",
        candidates: int = 20,
    ) -> None:
        super().__init__(norm, eps, steps=steps, loss="dlr", restarts=restarts, rho=rho)
        self.n_target_classes = check_count("n_target_classes", n_target_classes)
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.order = order
        self.candidates = check_count("candidates", candidates)

    def _ranked(self, model: nn.Module, x: Tensor, goal: Goal, clean: Tensor) -> Tensor:
        """The classes to try per sample, first to last."""
        if self.order == "logits":
            return by_logits(clean, goal.labels)
        return by_linear_distance(model, x, goal.labels, clean, self.norm,
                                  max(self.candidates, self.n_target_classes), goal.batch_size)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        with torch.no_grad():
            clean = _batched_forward(model, x, goal.batch_size).float()
        num_classes = clean.shape[1]
        ranked = self._ranked(model, x, goal, clean)
        runs = BestOfRuns(x)
        rows = torch.arange(x.shape[0], device=x.device)
        for k in range(min(self.n_target_classes, ranked.shape[1])):
            part = subgoal(goal, rows)
            target = ranked[rows, k]
            objective: Objective = (
                DLR(part.labels, target=target) if num_classes >= 4 else -Margin(target)
            )
            found = pursue(
                model, x[rows], part, objective, self.step_rule(), self.steps,
                restarts=self.restarts,
                seed=derive_seed(goal.seed, _TARGET_STREAM, k),
            )
            assert found.success is not None
            runs.add(found, rows, found.success | (k == 0))
            rows = (~runs.success).nonzero().squeeze(1)
            if rows.numel() == 0:
                break
        return runs.result(f"APGD-T over {self.n_target_classes} classes by {self.order}")
