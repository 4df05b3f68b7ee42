"""A labelled image set held in memory as one tensor, batched by slicing (Fashion-MNIST, arrays).

Images are stored as given (uint8 levels or floats in [0, 1]) and come out as float32 in [0, 1];
`batch(indices)` gathers a whole batch at once, which is far faster than a DataLoader's
item-by-item collation for small images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset


class TensorImages(Dataset[tuple[Tensor, int]]):
    """Images (N, C, H, W) uint8 or float in [0, 1] with integer labels (N,) and class names."""

    def __init__(self, images: Tensor, labels: Tensor | Sequence[int],
                 classes: Sequence[str] | None = None) -> None:
        if not isinstance(images, Tensor) or images.dim() != 4:
            shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"images must be a tensor of shape (N, C, H, W), got {shape}")
        labels = torch.as_tensor(labels)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}")
        labels = labels.long()
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"expected {images.shape[0]} labels (one per image), got shape {tuple(labels.shape)}"
            )
        if images.dtype != torch.uint8:
            if not images.is_floating_point():
                raise TypeError(f"images must be uint8 or floating point, got {images.dtype}")
            if images.numel() and (float(images.min()) < 0 or float(images.max()) > 1):
                raise ValueError("float images must lie in [0, 1] (pixel space)")
        count = int(labels.max()) + 1 if labels.numel() else 0
        if labels.numel() and int(labels.min()) < 0:
            raise ValueError("labels must be non-negative class indices")
        names = tuple(classes) if classes is not None else tuple(str(i) for i in range(count))
        if len(names) < count:
            raise ValueError(f"labels go up to {count - 1} but only {len(names)} classes are named")
        self.images = images
        self.labels = labels
        self.classes = names

    @property
    def targets(self) -> list[int]:
        """Every label, in order (what stratified splits and class counts read)."""
        return self.labels.tolist()

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self._float(self.images[index]), int(self.labels[index])

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """Images (B, C, H, W) float32 in [0, 1] and labels (B,) for `indices`, in one gather."""
        return self._float(self.images[indices]), self.labels[indices]

    @staticmethod
    def _float(images: Tensor) -> Tensor:
        if images.dtype == torch.uint8:
            return images.float().div_(255.0)
        return images.float()
