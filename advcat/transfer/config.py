"""The training settings of one fine-tuning run, checked up front and stored with its checkpoints.

A resumed run must use the same settings as the interrupted one; the JSON form of this record is
what the two are compared by.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from advcat.validate import check_count

STRATEGIES = ("linear", "partial", "full")
DEFAULT_UNFREEZE = 2


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes the optimization; see `advcat.finetune` for each field."""

    strategy: str = "linear"
    epochs: int = 10
    lr: float = 1e-3
    backbone_lr: float | None = None
    unfreeze: int | None = None
    batch_size: int = 64
    weight_decay: float = 0.05
    warmup: float = 0.05
    label_smoothing: float = 0.0
    clip_grad: float | None = 1.0
    patience: int | None = 3
    augment: str = "default"
    image_size: int | None = None
    cache_features: bool = True
    adversarial: dict[str, Any] | None = None
    val_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        check_count("epochs", self.epochs)
        check_count("batch_size", self.batch_size)
        for name in _REAL_FIELDS:
            _finite(name, getattr(self, name))
        for name in ("lr", "backbone_lr"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.unfreeze is not None:
            check_count("unfreeze", self.unfreeze)
            if self.strategy != "partial":
                raise ValueError(f"unfreeze= counts the blocks trained by strategy='partial'; "
                                 f"strategy={self.strategy!r} does not take it")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup is a fraction of all steps in [0, 1), got {self.warmup!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing!r}")
        if self.clip_grad is not None and self.clip_grad <= 0:
            raise ValueError(f"clip_grad must be positive or None, got {self.clip_grad!r}")
        if self.patience is not None:
            check_count("patience", self.patience)
        if self.image_size is not None:
            check_count("image_size", self.image_size)
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in [0, 1), got {self.val_fraction!r}")
        if self.cached and self.augment not in ("default", "none"):
            raise ValueError(
                "cached features are computed once, so images cannot be augmented per epoch: "
                "pass cache_features=False to train with augment=, or augment='none'"
            )

    @property
    def cached(self) -> bool:
        """Whether the head trains on features computed once (linear strategy, not adversarial)."""
        return self.strategy == "linear" and self.cache_features

    @property
    def blocks(self) -> int:
        """How many of the backbone's top blocks train (0 for linear, all for full: -1)."""
        if self.strategy == "linear":
            return 0
        if self.strategy == "full":
            return -1
        return self.unfreeze if self.unfreeze is not None else DEFAULT_UNFREEZE

    @property
    def lower_lr(self) -> float:
        """The learning rate of unfrozen backbone blocks (a tenth of the head's by default)."""
        return self.backbone_lr if self.backbone_lr is not None else self.lr / 10.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_REAL_FIELDS = ("lr", "backbone_lr", "weight_decay", "warmup", "label_smoothing", "clip_grad",
                "val_fraction")


def _finite(name: str, value: object) -> None:
    """A real-valued setting must be a finite number (None where the field allows it): an inf or
    NaN learning rate or decay would train a model of NaNs without an error."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
