"""Networks by architecture name: the embedded default, torchvision's and timm's, with their weights.

Below both `advcat.models.zoo` (which adds checkpoint paths to the names) and
`advcat.models.checkpoint` (which rebuilds the network a checkpoint names), so neither imports the
other to reach it. Nothing here downloads unless asked for a library's pretrained weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from advcat.models.embedded import EMBEDDED, build_embedded, load_embedded
from advcat.models.pixel import IMAGENET_MEAN, IMAGENET_STD, ModelInfo, PixelModel

_PROBE_TIMEOUT = 5.0  # seconds one request to the Hugging Face Hub may take before it counts as offline
_OFFLINE_HINT = (
    "pretrained weights for {name!r} could not be fetched ({error}). Offline, download the "
    "weights file elsewhere and pass it: advcat.load_model({name!r}, weights='path/to/file.pth'), "
    "or use the embedded default advcat.load_model()"
)


def load_named(name: str, weights: str | Path | None) -> PixelModel:
    """The model an architecture name stands for (embedded, "torchvision:<arch>", "timm:<arch>"),
    with `weights` as `load_model` takes them; an unknown name is a ValueError listing the forms."""
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


def build_arch(arch: str) -> nn.Module:
    """A bare network (random weights) of an architecture name, for checkpoints to load into."""
    if arch in EMBEDDED:
        return build_embedded(arch, pretrained=False)
    return load_named(arch, None).net


def looks_like_path(name: str) -> bool:
    """Whether `name` is a file's name or path rather than an architecture name."""
    return name.endswith((".safetensors", ".json", ".pt", ".pth")) or Path(name).exists()


def _imagenet() -> tuple[str, ...]:
    from advcat.data.classes import imagenet_classes

    return imagenet_classes()


def _embedded(name: str, weights: str | Path | None) -> PixelModel:
    if weights is None or weights == "DEFAULT":
        return load_embedded(name, weights == "DEFAULT", _imagenet())
    model = load_embedded(name, False, _imagenet())
    _load_local_weights(model.net, Path(weights), name)
    return _with_weights(model, str(weights))


def _with_weights(model: PixelModel, weights: str) -> PixelModel:
    info = ModelInfo.from_dict({**model.info.to_dict(), "weights": weights})
    return PixelModel(model.net, info)


def _load_local_weights(net: nn.Module, path: Path, name: str) -> None:
    """Load the state dict in `path` into `net` (model `name`); a file that does not fit is refused
    naming it and what differs."""
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    state = _read_state_dict(path)
    problem = _misfit(net, state)
    if problem:
        raise ValueError(f"weights file {path} does not fit {name} ({problem}); pass the architecture "
                         "the weights were saved from")
    net.load_state_dict(state, strict=True)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file, or of a .pt/.pth state dict (read with weights_only=True:
    nothing is unpickled but tensors and containers)."""
    import pickle

    from advcat.io_paths import read_tensors

    advice = "save model.state_dict() with torch.save or safetensors and pass that file"
    if path.suffix == ".safetensors":
        return read_tensors(path, advice)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"weights file {path} is not a state dict torch.load(weights_only=True) reads "
                         f"({reason}); {advice}") from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not (isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())):
        raise ValueError(f"weights file {path} holds a {type(state).__name__}, not a state dict of "
                         f"tensors; {advice}")
    return state


def _misfit(net: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """What keeps `state` from loading into `net` strictly (missing, unexpected, reshaped keys); '' if
    nothing."""
    own = net.state_dict()
    groups = (
        ("missing", [k for k in own if k not in state]),
        ("unexpected", [k for k in state if k not in own]),
        ("of another shape", [k for k in own if k in state and own[k].shape != state[k].shape]),
    )
    return "; ".join(f"{len(keys)} key(s) {label}: {', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}"
                     for label, keys in groups if keys)


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
            _load_local_weights(net, Path(weights), f"torchvision:{arch}")
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
    if any(separator in str(weights) for separator in "/\\") or looks_like_path(str(weights)):
        return None
    raise ValueError(
        f"torchvision's {arch!r} has no weights named {weights!r}; expected a file's path or one of "
        f"{sorted(table.__members__)}"
    )


def _timm(arch: str, weights: str | Path | None) -> PixelModel:
    import timm
    from timm.data.config import resolve_data_config

    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch}*")[:5]
        raise ValueError(f"timm has no model {arch!r}; close matches: {close}")
    if weights == "DEFAULT":
        _check_hub_reachable(arch)
        try:
            net = timm.create_model(arch, pretrained=True)
        except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
            raise ConnectionError(_OFFLINE_HINT.format(name=f"timm:{arch}", error=error)) from error
        label = "timm pretrained"
    else:
        net = timm.create_model(arch, pretrained=False)
        label = "random"
        if weights is not None:
            _load_local_weights(net, Path(weights), f"timm:{arch}")
            label = str(weights)
    config = resolve_data_config({}, model=net)
    size = int(config["input_size"][-1])
    info = ModelInfo(
        name=f"timm:{arch}", arch=f"timm:{arch}", input_size=size,
        resize=round(size / float(config.get("crop_pct", 0.875))),
        interpolation=str(config.get("interpolation", "bicubic")),
        mean=tuple(float(m) for m in config["mean"]), std=tuple(float(s) for s in config["std"]),
        classes=_imagenet() if getattr(net, "num_classes", 1000) == 1000 else None, weights=label,
    )
    return PixelModel(net, info)


def _check_hub_reachable(arch: str) -> None:
    """Fail at once, not after a minute of retries, when timm's pretrained weights for `arch` come
    from the Hugging Face Hub, are not in its cache, and the hub cannot be reached."""
    source = _hub_source(arch)
    if source is None or _hub_cached(*source):
        return
    import huggingface_hub

    if huggingface_hub.constants.HF_HUB_OFFLINE:
        problem = "HF_HUB_OFFLINE is set"
    else:
        try:
            huggingface_hub.get_session().head(huggingface_hub.constants.ENDPOINT, timeout=_PROBE_TIMEOUT)
            return
        except Exception as error:  # noqa: BLE001 - whatever fails, the download would fail too
            problem = f"{huggingface_hub.constants.ENDPOINT} cannot be reached: {error}"
    raise ConnectionError(
        f"pretrained weights for 'timm:{arch}' are not in the Hugging Face cache and {problem}; "
        f"downloading them needs internet. Offline, pass a local state dict "
        f"(load_model('timm:{arch}', weights='path/to/file.pth'), or --weights FILE on the command "
        f"line) or use random weights (weights=None)"
    )


def _hub_source(arch: str) -> tuple[str, str | None, list[str]] | None:
    """(repo, revision, candidate file names) timm downloads `arch`'s weights from, or None when they
    do not come from the Hugging Face Hub."""
    from timm.models import get_pretrained_cfg

    try:
        config = get_pretrained_cfg(arch)
    except (RuntimeError, ValueError, KeyError):
        return None
    if config is None or not config.hf_hub_id or config.source == "local-dir":
        return None
    if config.source != "hf-hub" and (config.file or config.state_dict):
        return None
    repo, _, revision = config.hf_hub_id.partition("@")
    files = [config.hf_hub_filename] if config.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]
    return repo, revision or None, files


def _hub_cached(repo: str, revision: str | None, files: list[str]) -> bool:
    """Whether one of `files` of the hub `repo` is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(repo, name, revision=revision), str) for name in files)
