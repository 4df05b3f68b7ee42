"""Captum's explanation metrics as one call each: infidelity (Yeh et al. 2019) and max-sensitivity.

Both perturb the input; here the perturbations stay in pixel space (clamped to [0, 1]) and are
drawn under a seeded generator, so a call repeats exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from advcat.attribution.api import planned
from advcat.attribution.baselines import BaselineLike, resolve_baseline
from advcat.attribution.result import Attribution
from advcat.attribution.runner import seeded
from advcat.attribution.targets import TargetLike
from advcat.models import borrowed
from advcat.validate import check_images, check_same_device


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def infidelity(
    model: nn.Module,
    x: Tensor,
    attribution: Attribution,
    *,
    noise: float = 0.02,
    n_samples: int = 10,
    normalize: bool = False,
    seed: int = 0,
) -> Tensor:
    """Per-sample infidelity (N,) of `attribution` for images `x`: lower is more faithful.

    Perturbations are Gaussian noise of std `noise` (pixels), clamped to the [0, 1] box.
    """
    from captum.metrics import infidelity as captum_infidelity

    check_images(x)
    check_same_device(x, model=model)
    _positive("noise", noise)
    _positive("n_samples", n_samples)
    if attribution.raw.shape != x.shape:
        raise ValueError(
            f"infidelity needs input-shaped attributions {tuple(x.shape)}, got "
            f"{tuple(attribution.raw.shape)} ({attribution.method}); use an input-space method"
        )

    def perturb(inputs: Tensor) -> tuple[Tensor, Tensor]:
        moved = (inputs - noise * torch.randn_like(inputs)).clamp(0, 1)
        return inputs - moved, moved

    with borrowed(model), seeded(seed, x.device):
        values: Tensor = captum_infidelity(
            model, perturb, x.detach(), attribution.raw.to(x.device),
            target=attribution.target.to(x.device), n_perturb_samples=int(n_samples),
            normalize=normalize,
        )
    return values.detach()


def sensitivity(
    model: nn.Module,
    x: Tensor,
    target: TargetLike = None,
    *,
    method: str = "integrated_gradients",
    radius: float = 0.02,
    n_samples: int = 10,
    layer: str | None = None,
    baseline: BaselineLike = None,
    batch_size: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Tensor:
    """Per-sample max-sensitivity (N,): the largest relative change of the map under uniform
    perturbations of L-inf radius `radius` (pixels, clamped to [0, 1]). Lower is more stable."""
    from captum.metrics import sensitivity_max

    _positive("radius", radius)
    _positive("n_samples", n_samples)
    if isinstance(baseline, Tensor) and baseline.dim() == 4 and baseline.shape[0] > 1:
        raise ValueError("sensitivity takes a shared baseline (a name, a constant or one image)")

    def perturb(inputs: Tensor, perturb_radius: float) -> Tensor:
        step = torch.empty_like(inputs).uniform_(-perturb_radius, perturb_radius)
        return (inputs + step).clamp(0, 1)

    with planned(model, x.detach(), target, method=method, layer=layer, baseline=baseline,
                 batch_size=batch_size, seed=seed, options=options) as plan:

        def explain(inputs: Tensor | tuple[Tensor, ...], target: Tensor) -> tuple[Tensor]:
            if isinstance(inputs, tuple):  # Captum passes and expects 1-tuples
                inputs = inputs[0]
            reference, _ = resolve_baseline(baseline, inputs, plan.method)
            return (plan.run(inputs, target, reference)[0],)

        with seeded(seed, x.device):
            values: Tensor = sensitivity_max(explain, x.detach(), perturb_func=perturb,
                                             perturb_radius=radius, n_perturb_samples=int(n_samples),
                                             target=plan.targets)
    return values.detach()
