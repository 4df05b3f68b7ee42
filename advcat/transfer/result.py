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
    per-class accuracy, confusion matrix, timings), `.config` and `.path` (OUT, if saved).
    Figures: `advcat.viz.curves(result)` and `advcat.viz.confusion(result)`."""

    model: PixelModel
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def summary(self) -> str:
        """One line: strategy, epochs run, held-out accuracy and time."""
        m = self.metrics
        top1 = f"{m['top1']:.4f}" if "top1" in m else "n/a"
        return (f"{self.config.get('strategy', '?')}: {len(self.history)} epochs, best epoch "
                f"{m.get('best_epoch')}, val top-1 {top1}, {m.get('seconds', 0.0):.1f} s")

    def __repr__(self) -> str:
        return f"FineTuned({self.summary()})"
