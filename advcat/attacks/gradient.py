"""First-order attacks as engine presets: FGSM, PGD (Linf, L2, L1) and MI-FGSM with input diversity."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from advcat.attacks.base import Attack, Goal
from advcat.attacks.pursuit import attack_objective, check_loss, pursue
from advcat.core.result import Result
from advcat.steps import Momentum, Normalized, Sign
from advcat.steps.base import Step
from advcat.steps.sizes import check_size
from advcat.transforms.diversity import InputDiversity
from advcat.validate import check_count


def _step_size(step_size: float | Tensor | None, alpha: float | Tensor | None) -> float | Tensor | None:
    """`step_size`, or `alpha`, torchattacks' name for it; both at once is refused."""
    if alpha is None:
        return step_size
    if step_size is not None:
        raise TypeError("give the step size once: step_size= or alpha= (torchattacks' name), not both")
    return alpha


class PGD(Attack):
    """Projected gradient descent (Madry et al. 2018): random start, `steps` steps, projection.

    Step size (`step_size`, or `alpha` as torchattacks calls it) defaults to 2.5 * eps / steps (a
    sample with eps 0 stays where it is); Linf steps
    along the gradient's sign, L2 along the normalized gradient, L1 along its sparse top coordinates.
    """

    name = "pgd"

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 10,
        step_size: float | Tensor | None = None,
        restarts: int = 1,
        random_start: bool = True,
        loss: str = "ce",
        alpha: float | Tensor | None = None,
    ) -> None:
        super().__init__(norm, eps)
        step_size = _step_size(step_size, alpha)
        self.steps = check_count("steps", steps)
        self.restarts = check_count("restarts", restarts)
        self.step_size = None if step_size is None else check_size(step_size, "step_size")
        self.random_start = random_start
        self.loss = check_loss(loss)

    def size_at(self, eps: float | Tensor) -> float | Tensor:
        """The step size at budget `eps`: the one given, else 2.5 * eps / steps."""
        return eps * (2.5 / self.steps) if self.step_size is None else self.step_size

    def derived(self, eps: float | Tensor) -> dict[str, Any]:
        size = self.size_at(eps)
        return {"step_size": size.tolist() if isinstance(size, Tensor) else size}

    def step_rule(self, eps: float | Tensor) -> Step:
        if self.norm == "linf":
            return Sign(self.size_at(eps))
        return Normalized(self.size_at(eps), p=2 if self.norm == "l2" else 1)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        return pursue(model, x, goal, attack_objective(self.loss, goal), self.step_rule(goal.eps),
                      self.steps, restarts=self.restarts, random_start=self.random_start)


class FGSM(PGD):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size eps from x."""

    name = "fgsm"

    def __init__(self, norm: str = "linf", eps: float | Tensor | None = None, loss: str = "ce") -> None:
        super().__init__(norm, eps, steps=1, random_start=False, loss=loss)

    def size_at(self, eps: float | Tensor) -> float | Tensor:
        """One step of the whole budget."""
        return eps


class MIFGSM(PGD):
    """Momentum iterative FGSM (Dong et al. 2018), optionally with input diversity (Xie et al. 2019).

    Built for transfer: no random start, step eps / steps, a decayed L1-normalized gradient sum;
    `diversity` is the probability of a random resize-and-pad of the input at each step.
    """

    name = "mifgsm"
    norms = ("linf", "l2")

    def __init__(
        self,
        norm: str = "linf",
        eps: float | Tensor | None = None,
        steps: int = 10,
        step_size: float | Tensor | None = None,
        decay: float = 1.0,
        diversity: float = 0.0,
        loss: str = "ce",
        alpha: float | Tensor | None = None,
    ) -> None:
        step_size = _step_size(step_size, alpha)
        super().__init__(norm, eps, steps=steps, step_size=step_size, random_start=False, loss=loss)
        if not 0.0 <= diversity <= 1.0:
            raise ValueError(f"diversity is a probability in [0, 1], got {diversity}")
        self.decay = float(decay)
        self.diversity = float(diversity)

    def size_at(self, eps: float | Tensor) -> float | Tensor:
        """The step size at budget `eps`: the one given, else eps / steps (no random start)."""
        return eps * (1.0 / self.steps) if self.step_size is None else self.step_size

    def step_rule(self, eps: float | Tensor) -> Step:
        return Momentum(self.size_at(eps), decay=self.decay, p=float("inf") if self.norm == "linf" else 2.0)

    def run(self, model: nn.Module, x: Tensor, goal: Goal) -> Result:
        transforms = InputDiversity(self.diversity) if self.diversity > 0 else None
        return pursue(model, x, goal, attack_objective(self.loss, goal), self.step_rule(goal.eps),
                      self.steps, random_start=False, transforms=transforms)

    def _transforms(self) -> bool:
        return self.diversity > 0 or super()._transforms()
