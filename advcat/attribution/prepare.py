"""A copy of the model prepared for a Captum rule, so that DeepLift and guided backprop mean what
they say on networks with in-place activations, ReLU6, chained or shared activation modules.

Captum's guided backprop hooks only `nn.ReLU` instances and its DeepLift only a fixed list of module
types, so a ReLU6 is silently treated as linear; in-place activations break the hooks; the hooks sit
on each module's input tensor, so they see the gradient of every use of that tensor, and one
activation feeding another loses the second one's DeepLift multipliers; and DeepLift stores one
input per module, so a module called twice per pass (torchvision ResNet's `self.relu`) fails. The
copy fixes all of these; the user's model is never touched.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_UNSUPPORTED = (nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.SELU, nn.CELU,
                nn.PReLU)
# The module types Captum's DeepLift applies its rules to (it matches exact types). Its rescale
# rule for elementwise ones is exact only when each gets an input tensor of its own. Its max-pool
# rule is left as Captum has it, with a warning: it is not complete (see `prepare`).
_ELEMENTWISE = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_DEEPLIFT_RULES = (*_ELEMENTWISE, nn.Softmax, *_MAX_POOLS)


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
        above_low: Tensor = self.lower(x - self.low)
        above_high: Tensor = self.upper(x - self.high)
        return self.low + above_low - above_high

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


class PerCall(nn.Module):
    """A stateless module called `calls` times per forward pass, split into one copy per call, so
    that DeepLift can store each call's input. `reset()` starts a new pass."""

    def __init__(self, module: nn.Module, calls: int) -> None:
        super().__init__()
        self.copies = nn.ModuleList(copy.deepcopy(module) for _ in range(calls))
        self.made = 0

    def reset(self) -> None:
        self.made = 0

    def forward(self, x: Tensor) -> Tensor:
        if self.made >= len(self.copies):
            raise RuntimeError(
                f"a shared {type(self.copies[0]).__name__} was called more than the "
                f"{len(self.copies)} times seen on the first image; DeepLift cannot follow "
                "input-dependent control flow"
            )
        out: Tensor = self.copies[self.made](x)
        self.made += 1
        return out


def _fresh_input(_module: nn.Module, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(t.clone() if isinstance(t, Tensor) else t for t in inputs)


def _replacement(module: nn.Module, rule: str) -> nn.Module | None:
    if not isinstance(module, nn.Hardtanh):
        return None
    if rule == "deeplift":
        return ClampAsReLUs(module.min_val, module.max_val)
    if rule == "guided" and module.min_val == 0.0:
        return GuidedClamp(module.max_val)
    return None


def _hooked(module: nn.Module, rule: str) -> bool:
    return type(module) in _DEEPLIFT_RULES if rule == "deeplift" else isinstance(module, nn.ReLU)


def _swap(model: nn.Module, choose: Callable[[nn.Module], nn.Module | None]) -> None:
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = choose(child)
            if new is not None:
                setattr(parent, name, new)


def _call_counts(model: nn.Module, example: Tensor, rule: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    handles = [m.register_forward_hook(lambda mod, *_: counts.update([id(mod)]))
               for m in model.modules() if _hooked(m, rule)]
    try:
        with torch.no_grad():
            model(example[:1])
    finally:
        for handle in handles:
            handle.remove()
    return counts


def _split_shared(model: nn.Module, example: Tensor) -> None:
    counts = _call_counts(model, example, "deeplift")
    _swap(model, lambda child: PerCall(child, counts[id(child)])
          if _hooked(child, "deeplift") and counts[id(child)] > 1 else None)
    splits = [m for m in model.modules() if isinstance(m, PerCall)]
    if splits:

        def new_pass(*_: object) -> None:
            for split in splits:
                split.reset()

        model.register_forward_pre_hook(new_pass)


def prepare(model: nn.Module, rule: str, example: Tensor | None = None) -> nn.Module:
    """A deep copy of `model` made safe for Captum's `rule` ("deeplift" or "guided").

    In-place activations are turned off, ReLU6-like clamps rewritten, every hooked elementwise
    activation gets an input tensor of its own (Captum's hooks sit on that tensor and would
    otherwise see the gradient of its other uses, or drop a following activation's multipliers),
    and for DeepLift (given an `example` batch) shared nonlinearities are split per call.
    Activations the rule cannot handle (SiLU, GELU, ...) get a warning.
    """
    if rule not in ("deeplift", "guided"):
        raise ValueError(f"rule must be 'deeplift' or 'guided', got {rule!r}")
    prepared = copy.deepcopy(model)
    for module in prepared.modules():
        if getattr(module, "inplace", None) is True:
            module.inplace = False  # type: ignore[assignment]
    _swap(prepared, lambda child: _replacement(child, rule))
    if rule == "deeplift" and example is not None:
        _split_shared(prepared, example)
    for module in prepared.modules():
        if _hooked(module, rule) and type(module) in _ELEMENTWISE:
            module.register_forward_pre_hook(_fresh_input)
    if rule == "deeplift" and any(isinstance(m, _MAX_POOLS) for m in prepared.modules()):
        warnings.warn(
            "the model has max-pooling; Captum's DeepLift max-pool rule does not keep "
            "summation-to-delta (measured: errors of 17% to several times the logit gap on small "
            "networks), so read the map with care or use integrated gradients",
            stacklevel=3,
        )
    found = sorted({type(m).__name__ for m in prepared.modules() if isinstance(m, _UNSUPPORTED)})
    if found:
        label = "DeepLift" if rule == "deeplift" else "guided backprop"
        warnings.warn(
            f"the model has {', '.join(found)} activations, which Captum's {label} rule treats "
            "as linear; the map follows plain gradients through them",
            stacklevel=3,
        )
    return prepared
