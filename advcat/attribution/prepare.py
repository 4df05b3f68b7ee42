"""A copy of the model prepared for a Captum rule, so that DeepLift and guided backprop mean what
they say on networks with in-place activations and ReLU6 (the embedded model has both).

Captum's guided backprop hooks only `nn.ReLU` instances and its DeepLift only a fixed list of module
types; a ReLU6 is silently treated as linear, and in-place activations break its backward hooks.
The user's model is never touched: the copy gets in-place off and each ReLU6-like clamp rewritten.
"""

from __future__ import annotations

import copy
import warnings

import torch.nn.functional as F
from torch import Tensor, nn

_UNSUPPORTED = (nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.SELU, nn.CELU,
                nn.PReLU)


class ClampAsReLUs(nn.Module):
    """`hardtanh(x, low, high)` written as `low + relu(x - low) - relu(x - high)`.

    Exact in value, and DeepLift's rescale rule on the two ReLUs equals the rescale rule on the
    clamp itself (the multipliers add up to (f(x) - f(x0)) / (x - x0)).
    """

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        self.low, self.high = float(low), float(high)
        self.lower = nn.ReLU()
        self.upper = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.low + self.lower(x - self.low) - self.upper(x - self.high)

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}"


class GuidedClamp(nn.ReLU):
    """A ReLU6-like clamp `hardtanh(x, 0, high)` that guided backprop recognises as a ReLU.

    Captum hooks every `nn.ReLU` instance; the hook keeps the clamp's own gradient mask and then
    stops negative signals, which is guided backprop's rule for a capped ReLU.
    """

    def __init__(self, high: float) -> None:
        super().__init__(inplace=False)
        self.high = float(high)

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, 0.0, self.high)

    def extra_repr(self) -> str:
        return f"high={self.high}"


def _replacement(module: nn.Module, rule: str) -> nn.Module | None:
    if not isinstance(module, nn.Hardtanh):
        return None
    if rule == "deeplift":
        return ClampAsReLUs(module.min_val, module.max_val)
    if rule == "guided" and module.min_val == 0.0:
        return GuidedClamp(module.max_val)
    return None


def prepare(model: nn.Module, rule: str) -> nn.Module:
    """A deep copy of `model` with in-place activations off and clamps rewritten for `rule`.

    `rule` is "deeplift" or "guided". Activations Captum's rule cannot handle (SiLU, GELU, ...)
    are reported with a warning, since the rule would silently treat them as linear.
    """
    if rule not in ("deeplift", "guided"):
        raise ValueError(f"rule must be 'deeplift' or 'guided', got {rule!r}")
    prepared = copy.deepcopy(model)
    for module in prepared.modules():
        if getattr(module, "inplace", None) is True:
            module.inplace = False  # type: ignore[assignment]
    for parent in list(prepared.modules()):
        for name, child in list(parent.named_children()):
            new = _replacement(child, rule)
            if new is not None:
                setattr(parent, name, new)
    found = sorted({type(m).__name__ for m in prepared.modules() if isinstance(m, _UNSUPPORTED)})
    if found:
        label = "DeepLift" if rule == "deeplift" else "guided backprop"
        warnings.warn(
            f"the model has {', '.join(found)} activations, which Captum's {label} rule treats "
            "as linear; the map follows plain gradients through them",
            stacklevel=3,
        )
    return prepared
