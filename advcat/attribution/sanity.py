"""Sanity checks for explanations: cascading model randomization (Adebayo et al. 2018) and the
completeness of integrated gradients.

A map that barely changes when the trained weights are replaced by random ones does not explain the
model. Randomization works on a copy; the user's model is never changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from advcat.attribution.api import attribute, check_batch_size, predict_logits
from advcat.attribution.baselines import BaselineLike, resolve_baseline
from advcat.attribution.methods import get_method
from advcat.attribution.similarity import spearman, ssim
from advcat.attribution.targets import TargetLike
from advcat.core.rng import derive_seed
from advcat.models import borrowed, resolve_layer
from advcat.validate import check_images


@dataclass
class Randomization:
    """Similarity of each cascade step's map to the trained model's map.

    `layers[i]` is the last layer randomized at step i (steps are cumulative, from the output
    down); `spearman` and `ssim` have shape (steps, N).
    """

    method: str
    layers: list[str]
    spearman: Tensor
    ssim: Tensor


def _root(model: nn.Module) -> nn.Module:
    inner = getattr(model, "net", None)
    return inner if isinstance(inner, nn.Module) else model


def default_cascade(model: nn.Module) -> list[str]:
    """Layer names from the output down: the network's children with parameters, with
    Sequential/ModuleList children opened one level (so "blocks.6" ... "blocks.0")."""
    names: list[str] = []
    for name, child in _root(model).named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)):
            names += [f"{name}.{sub}" for sub, grand in child.named_children()
                      if any(True for _ in grand.parameters())]
        elif any(True for _ in child.parameters()):
            names.append(name)
    return names[::-1]


def randomize_(module: nn.Module, seed: int) -> None:
    """Replace every parameter of `module` by Gaussian noise with that tensor's own mean and std.

    Keeps each tensor's scale (so activations stay in range) and destroys what was learned.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            noise = torch.randn(param.shape, generator=generator).to(param)
            spread = param.std() if param.numel() > 1 else param.abs().clamp_min(1e-3)
            param.copy_(param.mean() + spread * noise)


def cascading_randomization(
    model: nn.Module,
    x: Tensor,
    target: TargetLike = None,
    *,
    method: str = "saliency",
    layers: list[str] | None = None,
    absolute: bool = True,
    seed: int = 0,
    progress: bool = False,
    **kwargs: Any,
) -> Randomization:
    """Randomize `layers` one by one (cumulatively, output first) on a copy of the model and
    measure how much the map of `method` changes. Other keywords go to `attribute`."""
    spec = get_method(method)
    check_images(x)
    cascade = default_cascade(model) if layers is None else list(layers)
    if not cascade:
        raise ValueError("the model has no layers with parameters to randomize")
    for name in cascade:
        resolve_layer(model, name)
    trained = attribute(model, x, target, method=spec.name, seed=seed, **kwargs)
    with borrowed(model):
        shadow = copy.deepcopy(model)
    scores, structures = [], []
    for step, name in enumerate(tqdm(cascade, desc="randomize", disable=not progress)):
        randomize_(resolve_layer(shadow, name), derive_seed(seed, step))
        moved = attribute(shadow, x, trained.target, method=spec.name, seed=seed, **kwargs)
        scores.append(spearman(trained.heat(absolute), moved.heat(absolute)))
        structures.append(ssim(trained.heat(absolute), moved.heat(absolute)))
    return Randomization(spec.name, cascade, torch.stack(scores), torch.stack(structures))


@dataclass
class Completeness:
    """Integrated gradients' completeness per sample: attributions should sum to the logit gap
    f(x) - f(baseline) for the target; `error` is |sum - gap|, `relative` that over |gap|."""

    total: Tensor
    gap: Tensor
    error: Tensor
    relative: Tensor


def completeness(
    model: nn.Module,
    x: Tensor,
    target: TargetLike = None,
    *,
    baseline: BaselineLike = None,
    n_steps: int = 50,
    batch_size: int | None = None,
    **options: Any,
) -> Completeness:
    """How well integrated gradients' attributions add up to the target logit's change from the
    baseline to the input (Sundararajan et al. 2017, axiom of completeness)."""
    result = attribute(model, x, target, method="integrated_gradients", baseline=baseline,
                       batch_size=batch_size, n_steps=n_steps, **options)
    rows = check_batch_size(batch_size)
    reference = cast(Tensor, resolve_baseline(baseline, x, get_method("ig"))[0]).expand_as(x)
    with borrowed(model):
        gap_logits = predict_logits(model, x, rows) - predict_logits(model, reference, rows)
    gap = gap_logits.gather(1, result.target[:, None]).squeeze(1)
    total = result.raw.flatten(1).sum(1)
    error = (total - gap).abs()
    return Completeness(total, gap, error, error / gap.abs().clamp_min(1e-12))
