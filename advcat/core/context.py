"""What an objective sees at one step of the engine: images, logits, layer activations, indices.

`index` maps the rows of this (possibly compacted, possibly chunked) batch back to the caller's
samples, so per-sample targets, weights and epsilons given for the whole batch stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


def select(value: float | int | Tensor, index: Tensor, *, dtype: torch.dtype | None = None) -> Tensor:
    """A per-sample value for the rows in `index`: a scalar broadcast, or an (N,) tensor indexed."""
    if isinstance(value, Tensor) and value.dim() > 0:
        return value.to(index.device)[index].to(dtype or value.dtype)
    if isinstance(value, Tensor):
        value = value.item()
    out_dtype = dtype or (
        torch.long if isinstance(value, int) and not isinstance(value, bool) else torch.get_default_dtype()
    )
    return torch.full((index.shape[0],), value, dtype=out_dtype, device=index.device)


@dataclass
class Context:
    """The state an objective scores: all tensors have the active samples as their first dimension."""

    x: Tensor
    logits: Tensor
    index: Tensor
    x0: Tensor | None = None
    activations: dict[str, Tensor] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None

    def per_sample(self, value: float | int | Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """`value` for each active sample, on the batch's device."""
        return select(value, self.index, dtype=dtype).to(self.x.device)

    def activation(self, layer: str) -> Tensor:
        """The recorded output of `layer`; the engine hooks only the layers objectives name."""
        if layer not in self.activations:
            raise KeyError(f"layer {layer!r} was not recorded; objectives must list it in .layers")
        return self.activations[layer]
