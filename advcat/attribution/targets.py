"""Which class each sample's map explains: an index, a name, a per-sample tensor or list, or (by
default) the model's own prediction."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from advcat.data.classes import class_index
from advcat.validate import check_labels

TargetLike = int | str | Tensor | Sequence[int | str] | None


def attribution_targets(
    target: TargetLike,
    logits: Tensor,
    classes: Sequence[str] | None,
) -> Tensor:
    """A (N,) long tensor of class indices on the logits' device.

    `classes` are the model's class names for name lookup (None: ImageNet-1k); indices are checked
    against the number of logits.
    """
    n, num_classes = logits.shape
    device = logits.device
    if target is None:
        return logits.argmax(dim=1)
    if isinstance(target, Tensor):
        if target.dim() == 0:
            target = target.reshape(1).expand(n)
        return check_labels(target, n, name="target", num_classes=num_classes).to(device).long()
    if isinstance(target, (int, str)) and not isinstance(target, bool):
        index = class_index(target, classes)
        return check_labels(torch.full((n,), index, device=device), n, name="target",
                            num_classes=num_classes)
    if isinstance(target, Sequence) and not isinstance(target, bool):
        if len(target) != n:
            raise ValueError(f"target lists {len(target)} classes for a batch of {n} images")
        indices = torch.tensor([class_index(t, classes) for t in target], device=device)
        return check_labels(indices, n, name="target", num_classes=num_classes)
    raise TypeError(
        "target must be None (the model's prediction), a class index, a class name, a (N,) "
        f"tensor or a list of N classes; got {type(target).__name__}"
    )
