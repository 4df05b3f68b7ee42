"""The layer Grad-CAM explains when none is named: the last spatial feature map before pooling.

Found generically with one forward pass: among the modules that produce a 4D map larger than 1x1
(pooling modules excluded), the last to finish. A block finishes after its children, so this picks
"layer4" in a ResNet, "features" in a VGG and "bn2" in timm's EfficientNets.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from advcat.models import layer_names, resolve_layer

_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d, nn.LPPool2d)


def _root(model: nn.Module) -> nn.Module:
    inner = getattr(model, "net", None)
    return inner if isinstance(inner, nn.Module) else model


def last_feature_layer(model: nn.Module, x: Tensor) -> str:
    """The name of the last module that outputs a (N, C, h, w) map with h, w > 1 on input `x`."""
    finished: list[str] = []
    handles = []

    def recorder(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, Tensor) and output.dim() == 4 and min(output.shape[-2:]) > 1:
                finished.append(name)

        return hook

    try:
        for name, module in _root(model).named_modules():
            if name and not isinstance(module, _POOLS):
                handles.append(module.register_forward_hook(recorder(name)))
        with torch.no_grad():
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    if not finished:
        raise ValueError(
            "found no layer with a spatial (N, C, h, w) output to explain; pass layer= with one "
            f"of advcat.models.layer_names(model) (the model has {len(layer_names(model))})"
        )
    return finished[-1]


def find_layer(model: nn.Module, x: Tensor, layer: str | None) -> tuple[str, nn.Module]:
    """The (name, module) of the layer to explain: `layer` if given, else the last feature map."""
    name = last_feature_layer(model, x) if layer is None else layer
    return name, resolve_layer(model, name)
