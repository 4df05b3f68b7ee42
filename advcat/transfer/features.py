"""Cached features: the frozen backbone runs once over the data and the head trains on its output.

The features are what the head receives (captured by a forward pre-hook on the head), so a head
trained on them behaves identically inside the full model. This is the lesson's fast path.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from advcat.transfer.source import Source


class FeatureSource:
    """Features (N, D) with labels (N,), batched by index like a `Source`."""

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        self.features = features
        self.labels = labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batches(self, order: Tensor, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """(features, labels) for `order`'s indices, `batch_size` at a time."""
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            yield self.features[rows], self.labels[rows]


def head_inputs(
    model: nn.Module,
    head: nn.Module,
    source: Source,
    *,
    batch_size: int,
    device: torch.device,
    autocast: torch.dtype | None,
    progress: bool,
    label: str = "features",
) -> FeatureSource:
    """Run `model` (in eval mode, no gradients) over `source` and keep what `head` receives."""
    from advcat.progress import progress_bar

    captured: list[Tensor] = []

    def hook(_module: nn.Module, args: tuple[Tensor, ...]) -> None:
        captured.append(args[0].detach().float().flatten(1).cpu())

    handle = head.register_forward_pre_hook(hook)
    model.eval()
    order = torch.arange(len(source))
    try:
        with torch.inference_mode(), progress_bar(total=len(source), desc=label,
                                                  enabled=progress) as bar:
            for images, _ in source.batches(order, batch_size):
                with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                    model(images.to(device, non_blocking=True))
                bar.update(images.shape[0])
    finally:
        handle.remove()
    return FeatureSource(torch.cat(captured), source.labels.clone())
