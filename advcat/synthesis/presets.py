"""Presets named after what users ask for: ideal class, channel/neuron pictures, a diverse batch,
DeepDream. Each picks an objective and a recipe and calls `synthesize` (one engine run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from advcat.models.guard import borrowed
from advcat.models.pixel import model_info
from advcat.models.taps import tap
from advcat.objectives import Activation, Channel, ClassLogit, Diversity, Neuron, Objective
from advcat.synthesis.result import SynthesisResult
from advcat.synthesis.synthesize import ClassTargets, synthesize
from advcat.validate import check_count


def ideal_class(model: nn.Module, target: ClassTargets, **options: Any) -> SynthesisResult:
    """The lesson's "ideal cat": an image per target class, with the readable default recipe."""
    return synthesize(model, target, **options)


def visualize_channel(model: nn.Module, layer: str, channel: int | Sequence[int],
                      **options: Any) -> SynthesisResult:
    """Images that excite a channel of `layer` on average over positions; a list of channels gives
    `n` images per channel, all in one batched run (one per-image channel objective)."""
    channels, n = _channels(channel), options.pop("n", 1)
    check_count("n", n)
    owner = torch.tensor(channels).repeat_interleave(n)
    goal = Channel(layer, owner) if len(channels) > 1 else Channel(layer, channels[0])
    result = synthesize(model, objective=goal, n=n * len(channels), **options)
    return dataclasses.replace(result, names=[f"{layer} channel {c}" for c in owner.tolist()])


def channel_atlas(model: nn.Module, layer: str, channels: int | None = None,
                  **options: Any) -> SynthesisResult:
    """A layer's channel atlas: one image per channel (the first `channels`, or all of them), made
    in one batched run; `advcat.viz.figure(result)` lays them out as a grid named by channel."""
    count = layer_channels(model, layer)
    if channels is not None:
        count = min(check_count("channels", channels), count)
    return visualize_channel(model, layer, list(range(count)), **options)


def layer_channels(model: nn.Module, layer: str) -> int:
    """How many channels `layer` outputs, from one forward pass of a grey image."""
    info = model_info(model)
    size = info.input_size if info is not None else 224
    channels = info.in_channels if info is not None else 3
    reference = next(iter(model.parameters()), None)
    grey = torch.full((1, channels, size, size), 0.5,
                      device=reference.device if reference is not None else "cpu")
    with borrowed(model), torch.no_grad(), tap(model, [layer]) as activations:
        model(grey)
    if layer not in activations or activations[layer].dim() < 2:
        raise ValueError(f"layer {layer!r} gives no (N, C, ...) output to take channels from")
    return int(activations[layer].shape[1])


def visualize_neuron(model: nn.Module, layer: str, channel: int | Sequence[int],
                     position: tuple[int, int] | None = None, **options: Any) -> SynthesisResult:
    """Images that excite one unit of `layer` (a channel at `position`, the centre by default)."""
    channels, n = _channels(channel), options.pop("n", 1)
    return synthesize(model, objective=_one_each(channels, n, lambda c: Neuron(layer, c, position)),
                      n=n * len(channels), **options)


def diverse(model: nn.Module, target: int | str, layer: str, n: int = 4, weight: float = 10.0,
            **options: Any) -> SynthesisResult:
    """`n` images of one class pushed apart in the style (Gram matrix) of `layer`'s activations."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"a diverse batch needs n >= 2 images, got {n!r}")
    goal = ClassLogit(target) + weight * Diversity(layer)
    return synthesize(model, target, objective=goal, n=n, **options)


def deepdream(model: nn.Module, image: Tensor, layer: str, *, steps: int = 64,
              **options: Any) -> SynthesisResult:
    """DeepDream: amplify what `layer` sees in a photo (its mean squared activation), starting
    from the photo in clipped pixels."""
    options.setdefault("param", "pixel")
    return synthesize(model, objective=Activation(layer), image=image, steps=steps, **options)


def _channels(channel: int | Sequence[int]) -> list[int]:
    items = [channel] if isinstance(channel, int) else list(channel)
    if not items or not all(isinstance(c, int) and not isinstance(c, bool) for c in items):
        raise TypeError(f"channel must be an int or a non-empty list of ints, got {channel!r}")
    return items


def _one_each(units: list[int], n: int, term: Any) -> Objective:
    """Unit j's term for images j*n .. j*n+n-1: terms weighted by per-sample 0/1 weights."""
    if len(units) == 1:
        return term(units[0])  # type: ignore[no-any-return]
    check_count("n", n)
    owner = torch.arange(len(units) * n) // n
    terms = [term(unit) * (owner == j).float() for j, unit in enumerate(units)]
    total: Objective = terms[0]
    for weighted in terms[1:]:
        total = total + weighted
    return total
