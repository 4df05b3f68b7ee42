"""Attack targets from what users write: an index, a name, an (N,) tensor, "least_likely", "random"."""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.core.rng import derive_seed
from advcat.data.classes import class_index

TargetSpec = int | str | Tensor | None


def resolve_target(
    spec: TargetSpec, logits: Tensor, labels: Tensor, seed: int, classes: tuple[str, ...] | None,
    ids: Tensor | None = None,
) -> Tensor | None:
    """Per-sample target classes (N,), or None for an untargeted attack.

    "least_likely" takes each sample's lowest-scoring class on the clean input; "random" draws a
    class other than the label from (seed, sample id), so it does not depend on batch size; `ids`
    are the samples' ids (default 0..N-1).
    """
    if spec is None:
        return None
    n, num_classes = logits.shape
    if isinstance(spec, str) and spec == "least_likely":
        return logits.argmin(1)
    if isinstance(spec, str) and spec == "random":
        offsets = []
        for i in (torch.arange(n) if ids is None else ids).tolist():
            generator = torch.Generator().manual_seed(derive_seed(seed, i, 7919))
            offsets.append(int(torch.randint(1, num_classes, (1,), generator=generator)))
        shift = torch.tensor(offsets, device=labels.device)
        return (labels + shift) % num_classes
    if isinstance(spec, Tensor):
        if spec.dim() == 0:
            spec = int(spec.item())
        else:
            if spec.shape != (n,) or spec.is_floating_point():
                raise ValueError(
                    f"target must be an integer tensor of shape ({n},), got {spec.dtype} {tuple(spec.shape)}"
                )
            if int(spec.min()) < 0 or int(spec.max()) >= num_classes:
                raise ValueError(f"target holds classes outside [0, {num_classes - 1}]")
            return spec.to(labels.device, torch.long)
    if isinstance(spec, (int, str)) and not isinstance(spec, bool):
        index = class_index(
            spec,
            classes
            if classes is not None and len(classes) == num_classes
            else _numbered(num_classes, classes),
        )
        return torch.full((n,), index, dtype=torch.long, device=labels.device)
    raise TypeError(
        "target must be a class index, a class name, an (N,) tensor, 'least_likely' or 'random', "
        f"got {spec!r}"
    )


def _numbered(num_classes: int, classes: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Without class names of the right length, only indices resolve; ImageNet models get names."""
    if classes is None and num_classes == 1000:
        return None
    return tuple(str(i) for i in range(num_classes))
