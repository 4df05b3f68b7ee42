"""The pixel-space wrapper: a model that takes [0, 1] images and keeps its normalization inside.

Because normalization lives in the model, an epsilon always means pixels. The wrapper also carries
the metadata every other part needs: input size, preprocessing and class names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelInfo:
    """What a model expects and what it predicts; stored with checkpoints as JSON."""

    name: str = "custom"
    arch: str | None = None
    input_size: int = 224
    resize: int = 256
    interpolation: str = "bicubic"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    classes: tuple[str, ...] | None = field(default=None, repr=False)
    weights: str = "unknown"
    in_channels: int = 3
    adapt_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        data["classes"] = None if self.classes is None else list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("mean", "std", "classes"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class PixelModel(nn.Module):
    """`net` behind a fixed normalization: forward takes (N, C, H, W) in [0, 1], returns logits.

    If `info.in_channels` is 1 the grayscale input is repeated to the network's 3 channels, and if
    `info.adapt_size` is set the input is resized to it first, so a fine-tuned model takes its
    data set's own images (28x28 grayscale, say).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, net: nn.Module, info: ModelInfo) -> None:
        super().__init__()
        if len(info.mean) != len(info.std):
            raise ValueError(f"mean and std differ in length: {info.mean} vs {info.std}")
        if not info.mean:
            raise ValueError("mean and std must hold one value per channel, got none")
        if not all(math.isfinite(m) for m in info.mean):
            raise ValueError(f"mean must be finite, got {info.mean}")
        if not all(math.isfinite(s) and s > 0 for s in info.std):
            raise ValueError(f"std must be positive and finite, got {info.std}")
        self.net = net
        self.info = info
        self.register_buffer("mean", torch.tensor(info.mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(info.std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.info.in_channels == 1 and x.shape[1] == 1 and self.mean.shape[1] == 3:
            x = x.expand(-1, 3, -1, -1)
        if self.info.adapt_size is not None and x.shape[-1] != self.info.adapt_size:
            size = (self.info.adapt_size, self.info.adapt_size)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        logits: Tensor = self.net((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))
        return logits

    def extra_repr(self) -> str:
        return f"name={self.info.name!r}, input_size={self.info.input_size}"


def wrap(
    model: nn.Module,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    *,
    name: str | None = None,
    input_size: int = 224,
    resize: int | None = None,
    interpolation: str = "bilinear",
    classes: Sequence[str] | None = None,
) -> PixelModel:
    """Make a model that expects normalized input take [0, 1] pixels instead.

    The user's module is used as is (not copied); it only gains a parent. It takes as many input
    channels as `mean` has values (one for a grayscale model).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"wrap expects a torch.nn.Module, got {type(model).__name__}")
    if isinstance(model, PixelModel):
        raise ValueError("the model is already in pixel space (an advcat PixelModel)")
    _check_size("input_size", input_size)
    if resize is not None:
        _check_size("resize", resize)
    info = ModelInfo(
        name=name or type(model).__name__,
        input_size=input_size,
        resize=resize if resize is not None else round(input_size / 0.875),
        interpolation=interpolation,
        mean=_floats("mean", mean),
        std=_floats("std", std),
        classes=None if classes is None else tuple(classes),
        weights="user",
        in_channels=len(mean),
    )
    return PixelModel(model, info)


def _check_size(name: str, value: object) -> None:
    """A size in pixels: a positive integer (0 would make every resize fail later)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer (pixels), got {value!r}")


def _floats(name: str, values: Sequence[float]) -> tuple[float, ...]:
    """Per-channel numbers as floats, refusing what is not a number by the argument's name."""
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, one per channel, got {values!r}") from None


def model_info(model: nn.Module) -> ModelInfo | None:
    """The metadata of an advcat model, or None for a plain module."""
    info = getattr(model, "info", None)
    return info if isinstance(info, ModelInfo) else None
