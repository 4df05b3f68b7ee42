"""`load_model`: the embedded default, torchvision and timm architectures, and advcat checkpoints.

Every model comes back in pixel space (a PixelModel) with its metadata. Nothing here downloads
unless the user asks for a library's pretrained weights on a machine with internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from advcat.models.checkpoint import load_checkpoint
from advcat.models.embedded import EMBEDDED, load_embedded
from advcat.models.pixel import IMAGENET_MEAN, IMAGENET_STD, ModelInfo, PixelModel

DEFAULT_MODEL = "efficientnet_lite0"
_OFFLINE_HINT = (
    "pretrained weights for {name!r} could not be fetched ({error}). Offline, download the "
    "weights file elsewhere and pass it: advcat.load_model({name!r}, weights='path/to/file.pth'), "
    "or use the embedded default advcat.load_model()"
)


def load_model(
    name: str | Path = DEFAULT_MODEL,
    *,
    weights: str | Path | None = "DEFAULT",
    device: str | torch.device | None = None,
) -> PixelModel:
    """A pixel-space model ([0, 1] input, normalization inside) with its metadata in `.info`.

    `name`: "efficientnet_lite0" (embedded, offline), "efficientnet_lite2", "torchvision:<arch>",
    "timm:<arch>", or the path of an advcat checkpoint. `weights`: "DEFAULT" (pretrained), a local
    file, None (random weights, stated in `.info.weights`), or for torchvision a named set such
    as "IMAGENET1K_V2". Pretrained weights that cannot be
    downloaded raise ConnectionError, with how to pass a local file instead.
    """
    model = _load(name, weights)
    model.eval()
    return model.to(device) if device is not None else model


def _load(name: str | Path, weights: str | Path | None) -> PixelModel:
    if isinstance(name, Path) or (isinstance(name, str) and _looks_like_path(name)):
        return load_checkpoint(Path(name))
    if not isinstance(name, str):
        raise TypeError(f"a model name must be a string or a path, got {type(name).__name__}")
    if name in EMBEDDED:
        return _embedded(name, weights)
    library, _, arch = name.partition(":")
    if library == "torchvision" and arch:
        return _torchvision(arch, weights)
    if library == "timm" and arch:
        return _timm(arch, weights)
    raise ValueError(
        f"unknown model {name!r}; expected one of {sorted(EMBEDDED)}, 'torchvision:<arch>', "
        "'timm:<arch>', or the path of an advcat checkpoint"
    )


def _looks_like_path(name: str) -> bool:
    return name.endswith((".safetensors", ".json", ".pt", ".pth")) or Path(name).exists()


def _imagenet() -> tuple[str, ...]:
    from advcat.data.classes import imagenet_classes

    return imagenet_classes()


def _embedded(name: str, weights: str | Path | None) -> PixelModel:
    if weights is None or weights == "DEFAULT":
        return load_embedded(name, weights == "DEFAULT", _imagenet())
    model = load_embedded(name, False, _imagenet())
    _load_local_weights(model.net, Path(weights))
    return _with_weights(model, str(weights))


def _with_weights(model: PixelModel, weights: str) -> PixelModel:
    info = ModelInfo.from_dict({**model.info.to_dict(), "weights": weights})
    return PixelModel(model.net, info)


def _load_local_weights(net: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    net.load_state_dict(state, strict=True)


def _torchvision(arch: str, weights: str | Path | None) -> PixelModel:
    import torchvision

    if arch not in torchvision.models.list_models():
        import difflib

        close = difflib.get_close_matches(arch, torchvision.models.list_models(), n=5)
        raise ValueError(f"torchvision has no model {arch!r}; close matches: {close}")
    size, resize, interpolation = 224, 256, "bilinear"
    classes: tuple[str, ...] | None = _imagenet()
    enum = _torchvision_weights(arch, weights)
    if enum is not None:
        try:
            net = torchvision.models.get_model(arch, weights=enum)
        except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
            hint = _OFFLINE_HINT.format(name=f"torchvision:{arch}", error=error)
            raise ConnectionError(hint) from error
        preset = enum.transforms()
        size, resize = int(preset.crop_size[0]), int(preset.resize_size[0])
        interpolation = preset.interpolation.value
        classes = tuple(enum.meta.get("categories", classes))
        label = str(enum)
    else:
        net = torchvision.models.get_model(arch, weights=None)
        label = "random"
        if weights is not None:
            _load_local_weights(net, Path(weights))
            label = str(weights)
    info = ModelInfo(name=f"torchvision:{arch}", arch=f"torchvision:{arch}", input_size=size,
                     resize=resize, interpolation=interpolation, mean=IMAGENET_MEAN,
                     std=IMAGENET_STD, classes=classes, weights=label)
    return PixelModel(net, info)


def _torchvision_weights(arch: str, weights: str | Path | None) -> Any:
    """The torchvision weights `weights` names ("DEFAULT", "IMAGENET1K_V2" or
    "ResNet50_Weights.IMAGENET1K_V2"), or None for random weights or a file's path."""
    import torchvision

    if weights is None or isinstance(weights, Path) or Path(weights).exists():
        return None
    table = torchvision.models.get_model_weights(arch)
    owner, _, member = str(weights).rpartition(".")
    if member in table.__members__ and owner in ("", table.__name__):
        return table[member]
    if any(separator in str(weights) for separator in "/\\") or _looks_like_path(str(weights)):
        return None
    raise ValueError(
        f"torchvision's {arch!r} has no weights named {weights!r}; expected a file's path or one of "
        f"{sorted(table.__members__)}"
    )


def _timm(arch: str, weights: str | Path | None) -> PixelModel:
    import timm

    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch}*")[:5]
        raise ValueError(f"timm has no model {arch!r}; close matches: {close}")
    if weights == "DEFAULT":
        try:
            net = timm.create_model(arch, pretrained=True)
        except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
            raise ConnectionError(_OFFLINE_HINT.format(name=f"timm:{arch}", error=error)) from error
        label = "timm pretrained"
    else:
        net = timm.create_model(arch, pretrained=False)
        label = "random"
        if weights is not None:
            _load_local_weights(net, Path(weights))
            label = str(weights)
    config = timm.data.resolve_data_config({}, model=net)
    size = int(config["input_size"][-1])
    info = ModelInfo(
        name=f"timm:{arch}", arch=f"timm:{arch}", input_size=size,
        resize=round(size / float(config.get("crop_pct", 0.875))),
        interpolation=str(config.get("interpolation", "bicubic")),
        mean=tuple(float(m) for m in config["mean"]), std=tuple(float(s) for s in config["std"]),
        classes=_imagenet() if getattr(net, "num_classes", 1000) == 1000 else None, weights=label,
    )
    return PixelModel(net, info)


def build_arch(arch: str) -> nn.Module:
    """A bare network (random weights) of an architecture name, for checkpoints to load into."""
    if arch in EMBEDDED:
        from advcat.models.embedded import build_embedded

        return build_embedded(arch, pretrained=False)
    return _load(arch, None).net
