"""Classification metrics on held-out data: top-k accuracy, per-class accuracy, confusion matrix.

Computed from logits and labels, so they apply to any model's predictions; `classification_report`
runs a pixel-space model over a labelled set (borrowed: the model is left as it was).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check(logits: Tensor, labels: Tensor) -> None:
    if logits.dim() != 2 or labels.dim() != 1 or logits.shape[0] != labels.shape[0]:
        raise ValueError(
            f"expected logits (N, K) and labels (N,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )


def topk_accuracy(logits: Tensor, labels: Tensor, k: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Share of samples whose label is among the k highest logits, for each k (capped at K)."""
    _check(logits, labels)
    if labels.numel() == 0:
        raise ValueError("no samples to score")
    top = logits.topk(min(max(k), logits.shape[1]), dim=1).indices
    hits = top == labels.to(top.device).unsqueeze(1)
    return {int(kk): float(hits[:, :min(kk, logits.shape[1])].any(1).float().mean()) for kk in k}


def confusion_matrix(logits: Tensor, labels: Tensor, num_classes: int | None = None) -> Tensor:
    """(K, K) counts: row = true class, column = predicted class."""
    _check(logits, labels)
    k = num_classes if num_classes is not None else logits.shape[1]
    predicted = logits.argmax(1).cpu()
    flat = labels.cpu().long() * k + predicted
    return torch.bincount(flat, minlength=k * k).reshape(k, k)


def per_class_accuracy(logits: Tensor, labels: Tensor, num_classes: int | None = None) -> Tensor:
    """(K,) accuracy within each true class (NaN for a class with no samples)."""
    matrix = confusion_matrix(logits, labels, num_classes).double()
    totals = matrix.sum(1)
    return torch.where(totals > 0, matrix.diagonal() / totals.clamp_min(1), torch.nan)


@torch.no_grad()
def predict(model: nn.Module, data: Any, *, batch_size: int = 256,
            progress: bool = False) -> tuple[Tensor, Tensor]:
    """(logits, labels) of `model` over a labelled set or an (images, labels) pair, on the CPU."""
    from advcat.models.guard import borrowed
    from advcat.progress import progress_bar
    from advcat.transfer.source import Source, as_dataset

    source = Source(as_dataset(data))
    device = next(iter(model.parameters())).device
    outputs = []
    with borrowed(model), progress_bar(total=len(source), desc="predict",
                                       enabled=progress) as bar:
        for images, _ in source.batches(torch.arange(len(source)), batch_size):
            outputs.append(model(images.to(device)).float().cpu())
            bar.update(images.shape[0])
    return torch.cat(outputs), source.labels


def report(logits: Tensor, labels: Tensor, classes: Sequence[str] | None = None,
           k: int = 5) -> dict[str, Any]:
    """Loss, top-1, top-k, per-class accuracy and confusion matrix as plain JSON-ready values."""
    _check(logits, labels)
    names = list(classes) if classes is not None else [str(i) for i in range(logits.shape[1])]
    top = topk_accuracy(logits, labels, (1, k))
    per_class = per_class_accuracy(logits, labels, logits.shape[1])
    return {
        "n": int(labels.numel()),
        "loss": float(F.cross_entropy(logits.float(), labels.to(logits.device))),
        "top1": top[1],
        f"top{k}": top[k],
        "per_class": {name: (None if bool(torch.isnan(a)) else float(a))
                      for name, a in zip(names, per_class)},
        "confusion": confusion_matrix(logits, labels, logits.shape[1]).tolist(),
    }


def classification_report(model: nn.Module, data: Any, *, k: int = 5,
                          batch_size: int = 256) -> dict[str, Any]:
    """`report` for `model` over a labelled set (class names from the model's metadata)."""
    logits, labels = predict(model, data, batch_size=batch_size)
    info = getattr(model, "info", None)
    return report(logits, labels, getattr(info, "classes", None), k)
