"""The step of Decoupling Direction and Norm (DDN, Rony et al. 2019), an L2 minimum-norm search.

Each sample carries a radius eps_k in the step's state, which fixes the perturbation's norm
while the gradient fixes its direction. Every step moves delta along the L2-normalized gradient
by alpha (cosine-annealed), then scales the radius by (1 - gamma) if the current point is
adversarial and by (1 + gamma) if not, rescales delta onto the sphere of that radius and clips
it into the [0, 1] box. The score must be positive exactly when a sample is adversarial; its
gradient gives the direction (DDN's objective: a margin's value with the cross-entropy's gradient).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from advcat.core.rng import derive_seed, per_sample
from advcat.steps.base import State, Step, StepInfo, batch_view, lp_norm
from advcat.steps.directions import l2_direction
from advcat.threats.base import clip_to_box
from advcat.validate import check_count, check_positive

#: keys the random directions that replace zero gradients apart from other streams
_STREAM = 0xDD4


class DDNStep(Step):
    """DDN's L2 step on pixels (needs the engine's x0).

    `alpha_init` and `alpha_final` (default alpha_init / 100) bound the step length, annealed on a
    cosine over `steps` (None: the engine's number of steps); `gamma` is the radius' relative
    change per step and `radius_init` the radius of a search that starts at x0 (a search from
    another start begins at that start's norm). The engine's threat, if bounded, caps the radius.
    """

    def __init__(
        self,
        steps: int | None = None,
        alpha_init: float = 1.0,
        alpha_final: float | None = None,
        gamma: float = 0.05,
        radius_init: float = 1.0,
    ) -> None:
        check_count("steps", steps, optional=True)
        self.steps = steps
        self.alpha_init = check_positive("alpha_init", alpha_init)
        final = self.alpha_init / 100 if alpha_final is None else alpha_final
        self.alpha_final = check_positive("alpha_final", final)
        self.gamma = check_positive("gamma", gamma)
        if self.gamma >= 1:
            raise ValueError(f"gamma must be below 1, got {gamma!r}")
        self.radius_init = check_positive("radius_init", radius_init)

    def __repr__(self) -> str:
        return (
            f"DDNStep(steps={self.steps}, alpha={self.alpha_init:g}->{self.alpha_final:g}, "
            f"gamma={self.gamma:g}, radius_init={self.radius_init:g})"
        )

    def init(self, z: Tensor, info: StepInfo) -> State:
        """The starting radius (the start's norm, or radius_init at x0) and the box's largest norm."""
        if info.x0 is None:
            raise ValueError("the DDN step runs on pixels: the engine must pass x0")
        size = lp_norm(z - info.x0, 2.0).to(z.dtype)
        return {
            "radius": torch.where(size > 0, size, torch.full_like(size, self.radius_init)),
            "worst": lp_norm(torch.maximum(info.x0, 1.0 - info.x0), 2.0).to(z.dtype),
        }

    def transform(self, grad: Tensor, state: State, info: StepInfo) -> Tensor:
        """grad / ||grad||_2; a sample whose gradient is zero (a saturated softmax) gets a random
        unit direction drawn from its own generator, so the search still moves."""
        direction = l2_direction(grad)
        flat = grad.flatten(1)
        stuck = ~(flat != 0).any(1)
        if bool(stuck.any()):
            rows = stuck.nonzero().squeeze(1)
            seed = derive_seed(info.seed, _STREAM, info.restart, info.t)
            noise = per_sample("randn", tuple(grad.shape[1:]), info.sample_ids()[rows], seed,
                               device=grad.device, dtype=grad.dtype)
            direction[rows] = l2_direction(noise)
        return direction

    def apply(self, z: Tensor, direction: Tensor, state: State, info: StepInfo) -> Tensor:
        """Step along `direction`, adapt the radius from the score of z, rescale onto its sphere, clip."""
        assert info.x0 is not None
        x0 = info.x0
        cosine = (1 + math.cos(math.pi * info.t / (self.steps or info.steps))) / 2
        alpha = self.alpha_final + (self.alpha_init - self.alpha_final) * cosine
        adversarial = info.score.detach() > 0
        radius = state["radius"] * torch.where(adversarial, 1 - self.gamma, 1 + self.gamma).to(z.dtype)
        radius = torch.minimum(radius, state["worst"])
        if info.eps is not None:
            radius = torch.minimum(radius, info.eps.to(radius.dtype))
        state["radius"] = radius
        delta = z - x0 + alpha * direction
        length = lp_norm(delta, 2.0).clamp_min(1e-12)
        return x0 + clip_to_box(delta * batch_view(radius / length, delta), x0)
