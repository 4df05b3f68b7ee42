"""Model ensembles: several pixel-space models as one, with their logits averaged.

Attacks on an ensemble transfer better than attacks on one model (Liu et al. 2017); each member
sees the input resized to its own input size, so members of different resolutions combine.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from advcat.models.pixel import ModelInfo, model_info


class Ensemble(nn.Module):
    """Weighted average of the members' logits; the members are used as they are, not copied."""

    def __init__(self, models: Sequence[nn.Module], weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if len(models) == 0:
            raise ValueError("an ensemble needs at least one model")
        if weights is None:
            weights = [1.0 / len(models)] * len(models)
        if len(weights) != len(models):
            raise ValueError(f"got {len(weights)} weights for {len(models)} models")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
        total = float(sum(weights))
        self.members = nn.ModuleList(models)
        self.weights = [float(w) / total for w in weights]
        infos = [model_info(m) for m in models]
        first = infos[0]
        self.info = ModelInfo(
            name="ensemble(" + ", ".join(i.name if i else type(m).__name__
                                         for i, m in zip(infos, models)) + ")",
            input_size=first.input_size if first else 224,
            resize=first.resize if first else 256,
            interpolation=first.interpolation if first else "bicubic",
            classes=first.classes if first else None, weights="members",
        )

    def forward(self, x: Tensor) -> Tensor:
        total: Tensor | None = None
        for member, weight in zip(self.members, self.weights):
            info = model_info(member)
            inputs = x
            if info is not None and x.shape[-1] != info.input_size:
                size = (info.input_size, info.input_size)
                inputs = F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
            logits = weight * member(inputs)
            total = logits if total is None else total + logits
        assert total is not None
        return total


def ensemble(models: Sequence[nn.Module], weights: Sequence[float] | None = None) -> Ensemble:
    """One pixel-space model whose logits are the weighted mean of `models`' logits."""
    for model in models:
        if not isinstance(model, nn.Module):
            raise TypeError(f"ensemble members must be nn.Modules, got {type(model).__name__}")
    return Ensemble(models, weights)


