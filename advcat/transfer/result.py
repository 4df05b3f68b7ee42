"""FineTuned: what `advcat.finetune` hands back, a pixel-space model with its training record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advcat.models.pixel import PixelModel


@dataclass
class FineTuned:
    """`.model` (pixel space, eval mode, best validation epoch), `.history` (one dict per epoch:
    train/val loss and accuracy, learning rate, seconds), `.metrics` (held-out top-1/top-k,
    per-class accuracy, confusion matrix, timings), `.config` and `.path` (OUT, if saved)."""

    model: PixelModel
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def curves(self):  # noqa: ANN201 - a matplotlib Figure; matplotlib stays a lazy import
        """Training curves (loss and accuracy per epoch) as a matplotlib Figure."""
        from advcat.viz.training import training_curves

        return training_curves(self.history)

    def confusion(self, normalize: bool = True):  # noqa: ANN201 - a matplotlib Figure
        """The held-out confusion matrix as a matplotlib Figure."""
        from advcat.viz.training import confusion_figure

        if "confusion" not in self.metrics:
            raise ValueError("no held-out data was scored (val_fraction=0 and no val set)")
        return confusion_figure(self.metrics["confusion"], self.model.info.classes,
                                normalize=normalize)

    def summary(self) -> str:
        """One line: strategy, epochs run, held-out accuracy and time."""
        m = self.metrics
        top1 = f"{m['top1']:.4f}" if "top1" in m else "n/a"
        return (f"{self.config.get('strategy', '?')}: {len(self.history)} epochs, best epoch "
                f"{m.get('best_epoch')}, val top-1 {top1}, {m.get('seconds', 0.0):.1f} s")

    def __repr__(self) -> str:
        return f"FineTuned({self.summary()})"
