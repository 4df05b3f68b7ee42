"""Figures of a training run: loss and accuracy curves per epoch, and a confusion matrix.

Both return matplotlib Figures (built with the object API, no global pyplot state) for the caller
to show or save.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor


def training_curves(history: Sequence[dict[str, Any]]) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and held-out validation."""
    if not history:
        raise ValueError("the history is empty: no epoch was trained")
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    for axes, key, title in ((loss_axes, "loss", "loss (cross-entropy)"),
                             (acc_axes, "acc", "accuracy")):
        for prefix, label, style in (("train_", "train", "-o"), ("val_", "validation", "-s")):
            values = [row.get(prefix + key) for row in history]
            if any(v is not None for v in values):
                axes.plot(epochs, [float("nan") if v is None else v for v in values], style,
                          label=label, markersize=3)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def confusion_figure(matrix: Tensor | Sequence[Sequence[int]],
                     classes: Sequence[str] | None = None, *, normalize: bool = True) -> Figure:
    """The confusion matrix (rows: true class, columns: predicted), row-normalized by default."""
    counts = torch.as_tensor(matrix, dtype=torch.float64)
    if counts.dim() != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix is square (K, K), got shape {tuple(counts.shape)}")
    k = counts.shape[0]
    names = list(classes) if classes is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for a {k}x{k} matrix")
    shown = counts / counts.sum(1, keepdim=True).clamp_min(1) if normalize else counts
    size = min(4 + 0.55 * k, 16)
    figure = Figure(figsize=(size, size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xticks(range(k), names, rotation=90 if k > 6 else 45, ha="right" if k <= 6 else "center")
    axes.set_yticks(range(k), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    low, high = image.get_clim()
    middle = 0.5 * (float(low) + float(high))  # white text on the dark half of the colour scale
    if k <= 15:
        for i in range(k):
            for j in range(k):
                value = shown[i, j].item()
                text = f"{value:.2f}" if normalize else f"{int(value)}"
                axes.text(j, i, text, ha="center", va="center", fontsize=9 if k <= 8 else 8,
                          color="white" if value > middle else "black")
    axes.set_title("confusion matrix" + (" (row-normalized)" if normalize else ""))
    return figure
