"""The network to fine-tune: a private copy of the backbone with a new head, fitted to the data.

The copy takes the data set's own images: grayscale is repeated to the backbone's three channels
and other sizes are resized to the training resolution inside the model (`ModelInfo.in_channels`
and `adapt_size`), so the result is a pixel-space model like any other.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from advcat.core.rng import derive_seed
from advcat.models.heads import replace_head
from advcat.models.pixel import ModelInfo, PixelModel

HEAD_STREAM = 7


def backbone_model(backbone: str | Path | nn.Module) -> PixelModel:
    """A private PixelModel of `backbone`: loaded by name/path, or a deep copy of a module.

    A plain module is taken to read [0, 1] pixels as they are (wrap it with advcat.wrap first if
    it expects normalized input).
    """
    if isinstance(backbone, (str, Path)):
        from advcat.models.zoo import load_model

        return load_model(backbone)
    if isinstance(backbone, PixelModel):
        return copy.deepcopy(backbone)
    if isinstance(backbone, nn.Module):
        net = copy.deepcopy(backbone)
        channels = _first_conv_channels(net) or 3
        info = ModelInfo(name=type(backbone).__name__, mean=(0.0,) * channels,
                         std=(1.0,) * channels, weights="user")
        return PixelModel(net, info)
    raise TypeError(
        f"backbone must be a model name (e.g. 'efficientnet_lite0', 'timm:resnet18'), a checkpoint "
        f"path or a torch.nn.Module; got {type(backbone).__name__}"
    )


def _first_conv_channels(net: nn.Module) -> int | None:
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    return None


def fit_to_data(
    model: PixelModel,
    classes: Sequence[str],
    shape: tuple[int, ...],
    *,
    image_size: int | None,
    preprocessing: ModelInfo | None,
    seed: int,
) -> PixelModel:
    """`model` with a new seeded head for `classes` and metadata for images of `shape` (C, H, W).

    The backbone sees `image_size` pixels (default its own input size); `preprocessing` (the
    data set's resize and interpolation, when known) is recorded so `load_image` matches it.
    """
    old = model.info
    channels, height, width = shape
    backbone_channels = len(old.mean)
    if channels not in (1, backbone_channels):
        raise ValueError(
            f"the data has {channels}-channel images but the backbone takes {backbone_channels}; "
            "only grayscale data is adapted (repeated to the backbone's channels)"
        )
    size = image_size if image_size is not None else old.input_size
    adapt = None if (height == width == size) else size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, HEAD_STREAM))
        replace_head(model.net, len(classes))
    info = ModelInfo(
        name=f"{old.name} (fine-tuned)", arch=old.arch, input_size=height,
        resize=preprocessing.resize if preprocessing is not None else height,
        interpolation=preprocessing.interpolation if preprocessing is not None else old.interpolation,
        mean=old.mean, std=old.std, classes=tuple(classes),
        weights=f"fine-tuned from {old.weights}", in_channels=channels, adapt_size=adapt,
    )
    return PixelModel(model.net, info)
