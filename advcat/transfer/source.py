"""Training data in one shape: a labelled image set read in seeded, shuffled batches.

`finetune` takes a Dataset of (image, label) pairs (any advcat.data set, torchvision's with a
to-tensor transform, ...) or a pair of tensors (images, labels). In-memory sets are batched by
one gather; other sets go through a DataLoader.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torch.utils.data import Subset as IndexSubset

from advcat.data.split import Subset, dataset_targets
from advcat.data.tensors import TensorImages


class Source:
    """A labelled set: `labels` (N,), `classes`, the shape of one image, and batches by index."""

    def __init__(self, data: Dataset[tuple[Tensor, int]], *, workers: int = 0) -> None:
        self.data = data
        self.workers = workers
        self.labels = torch.tensor(dataset_targets(data), dtype=torch.long)
        names = getattr(data, "classes", None)
        self.classes: tuple[str, ...] | None = tuple(names) if names is not None else None
        first = data[0][0] if len(self) else None
        if not isinstance(first, Tensor) or first.dim() != 3:
            kind = type(first).__name__ if not isinstance(first, Tensor) else tuple(first.shape)
            raise TypeError(
                f"each item must be (image tensor (C, H, W) in [0, 1], label); got an image of "
                f"{kind} (for torchvision sets pass transform=torchvision.transforms.ToTensor())"
            )
        self.shape = tuple(first.shape)

    def __len__(self) -> int:
        return len(self.data)  # type: ignore[arg-type]

    def batches(self, order: Tensor, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """(images, labels) for `order`'s indices, `batch_size` at a time, in that order."""
        if _gathers(self.data):
            for start in range(0, len(order), batch_size):
                yield self.data.batch(order[start:start + batch_size])
            return
        loader = DataLoader(IndexSubset(self.data, order.tolist()), batch_size=batch_size,
                            shuffle=False, num_workers=self.workers)
        for images, labels in loader:
            yield images, torch.as_tensor(labels, dtype=torch.long)


def _gathers(data: object) -> TypeGuard[TensorImages | Subset[Any]]:
    """Whether `data` batches by one gather (in memory, or a subset of such a set)."""
    if isinstance(data, TensorImages):
        return True
    return isinstance(data, Subset) and _gathers(data.dataset)


def as_dataset(data: object, classes: Sequence[str] | None = None,
               name: str = "train") -> Dataset[tuple[Tensor, int]]:
    """A Dataset from a Dataset (as is) or an (images, labels) pair of tensors (all finite: a NaN
    pixel would turn the model into NaNs; other sets are guarded by the loss check per batch)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], Tensor):
        bad = int((~torch.isfinite(data[0])).flatten(1).any(1).sum()) if data[0].dim() > 1 else 0
        if bad:
            raise ValueError(f"{name} holds {bad} image(s) with NaN or infinite pixels; images must be "
                             "finite, in [0, 1]")
        return TensorImages(data[0], data[1], classes)
    if isinstance(data, Dataset) or (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        return data  # type: ignore[return-value]
    raise TypeError(
        f"training data must be a Dataset of (image, label) or an (images, labels) pair of "
        f"tensors, got {type(data).__name__}"
    )
