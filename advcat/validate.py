"""Checks every public entry point runs before any work starts, with errors a user can act on."""

from __future__ import annotations

import itertools
import math
import operator
import sys
import warnings
import weakref
from pathlib import Path

import torch
from torch import Tensor, nn


def check_images(x: object, *, name: str = "x") -> Tensor:
    """A float (N, C, H, W) tensor with finite values in [0, 1]; raises a precise error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(
            f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}{hint}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor in [0, 1], got dtype {x.dtype} "
            "(for 8-bit images divide by 255)"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (pixel space), got values in [{low:.4g}, {high:.4g}]; "
            "normalization belongs inside the model (advcat.wrap)"
        )
    return x


def check_labels(y: object, n: int, *, name: str = "y", num_classes: int | None = None) -> Tensor:
    """An integer (N,) tensor of class indices matching a batch of `n` images.

    An int (or a 0-d tensor) is one label for every image, a list or tuple of ints one per image.
    """
    y = _label_tensor(y, n, name)
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match x, got {tuple(y.shape)}")
    if y.dtype in (torch.bool,) or y.is_floating_point() or y.is_complex():
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if num_classes is not None and y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{name} holds class indices outside [0, {num_classes - 1}]: "
            f"min {int(y.min())}, max {int(y.max())}"
        )
    return y


def _label_tensor(y: object, n: int, name: str) -> Tensor:
    """`y` as a tensor: an int repeated `n` times, a list or tuple of ints, or the tensor itself."""
    if isinstance(y, Tensor):
        return y.expand(n) if y.dim() == 0 and not y.is_floating_point() and y.dtype != torch.bool else y
    if isinstance(y, (list, tuple)):
        if not all(_is_int(v) for v in y):
            raise TypeError(f"{name} must hold integer class indices, got {list(y)!r}")
        return torch.tensor([operator.index(v) for v in y], dtype=torch.long).view(-1)
    if _is_int(y):
        return torch.full((n,), operator.index(y), dtype=torch.long)  # type: ignore[arg-type]
    raise TypeError(
        f"{name} must be class indices (a tensor, an int or a list of ints), got {type(y).__name__}"
    )


def _is_int(value: object) -> bool:
    """A Python or NumPy integer, not a bool."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def check_same_device(*tensors: Tensor, model: torch.nn.Module | None = None) -> None:
    """All tensors (and the model's parameters, if any) on one device."""
    devices = {t.device for t in tensors}
    if model is not None:
        param = next(iter(model.parameters()), None)
        if param is not None:
            devices.add(param.device)
    if len(devices) > 1:
        raise ValueError(
            f"tensors and model are on different devices: {sorted(str(d) for d in devices)}; "
            "move the input to the model's device (advcat never moves your model)"
        )


def check_model_input(model: nn.Module, x: Tensor, *, name: str = "x") -> None:
    """`x` has the dtype of the model's parameters and, for an advcat model, its channel count.

    Otherwise torch fails deep inside the forward pass, or (one channel against three) broadcasts
    the image silently; "dtype follows the input", so reduced precision goes through autocast=.
    A model advcat did not wrap is warned about once (see `warn_if_unwrapped`).
    """
    warn_if_unwrapped(model)
    reference = _floating_tensor(model)
    if reference is not None and x.dtype != reference.dtype:
        want, got = _dtype_name(reference.dtype), _dtype_name(x.dtype)
        method = _CASTS.get(reference.dtype)
        cast = f"{name}.{method}()" if method else f"{name}.to(torch.{want})"
        raise TypeError(
            f"{name} must be {want} like the model's parameters (got {got}); use {cast} "
            "(autocast= runs the model in reduced precision)"
        )
    info = getattr(model, "info", None)
    means = getattr(info, "mean", None)
    if means is None or len(means) < 2:
        return
    allowed = {len(means)} | ({1} if getattr(info, "in_channels", None) == 1 else set())
    if x.shape[1] not in allowed:
        expected = " or ".join(str(c) for c in sorted(allowed))
        raise ValueError(
            f"{name} has {x.shape[1]} channels but the model takes {expected} "
            f"(its mean/std have {len(means)} entries); shape {tuple(x.shape)}"
        )


class UnwrappedModelWarning(UserWarning):
    """A plain module that advcat did not wrap: nothing says it takes [0, 1] pixels."""


_WARNED: weakref.WeakSet[nn.Module] = weakref.WeakSet()


def warn_if_unwrapped(model: nn.Module) -> None:
    """Warn once per model when no module in it carries advcat's metadata (a plain nn.Module).

    advcat's eps and bounds are in [0, 1] pixels: a module that normalizes nothing itself would be
    attacked in the wrong space without a word. `advcat.wrap` puts the normalization inside.
    """
    if model in _WARNED:
        return
    _WARNED.add(model)
    if any(hasattr(getattr(m, "info", None), "input_size") for m in model.modules()):
        return
    warnings.warn(
        f"{type(model).__name__} is a plain nn.Module that advcat did not wrap: it must take images "
        "in [0, 1] with its normalization inside. Wrap it with advcat.wrap(model, mean=..., std=...) "
        "(mean=[0.0], std=[1.0] for a model trained on [0, 1] pixels); this is said once per model",
        UnwrappedModelWarning,
        stacklevel=user_stacklevel(),
    )


_PACKAGE = str(Path(__file__).resolve().parent)


def user_stacklevel() -> int:
    """The `stacklevel` that points a warning, issued by this function's caller, at the first line
    outside advcat: the user's call, whatever the depth of advcat's own frames."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_CASTS = {torch.float32: "float", torch.float64: "double", torch.float16: "half", torch.bfloat16: "bfloat16"}


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _floating_tensor(model: nn.Module) -> Tensor | None:
    """The model's first floating-point parameter (or buffer), which sets the input dtype."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor
    return None


def check_index(index: object, n: int, *, name: str = "index") -> Tensor:
    """An integer (N,) tensor of sample ids, one per image of a batch of `n`."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer sample ids, got {type(index).__name__}")
    if tuple(index.shape) != (n,):
        raise ValueError(f"{name} must hold one sample id per image, shape ({n},); got {tuple(index.shape)}")
    if index.dtype == torch.bool or index.is_floating_point() or index.is_complex():
        raise TypeError(f"{name} must hold integer sample ids, got dtype {index.dtype}")
    return index


def check_seed(seed: object, *, name: str = "seed") -> int:
    """An integer seed (a Python or NumPy integer); callers resolve None to a fresh seed first."""
    if not isinstance(seed, bool):
        try:
            return operator.index(seed)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise TypeError(f"{name} must be an integer or None, got {seed!r}")


def check_model_output(output: object) -> Tensor:
    """The model's output is a tensor (not a tuple of logits and extras, not a dict)."""
    if isinstance(output, Tensor):
        return output
    kind = type(output).__name__
    raise TypeError(
        f"the model returned a {kind}; advcat needs a logits tensor (N, K): wrap the model in a "
        "module whose forward returns only the logits, e.g. net(x)[0] or net(x).logits"
    )


def check_logits(logits: object) -> Tensor:
    """The model's output must be finite (N, K) logits; warns when they look like probabilities."""
    logits = check_model_output(logits)
    if logits.dim() != 2:
        raise ValueError(f"the model must return logits of shape (N, K), got {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("the model returned NaN or infinite logits on the input")
    if logits.shape[1] > 1 and _probabilities(logits):
        warnings.warn(
            "the model seems to return probabilities (softmax): every row is non-negative and sums "
            "to 1. Softmax outputs mask gradients, so the model looks more robust than it is; pass "
            "logits (drop the final softmax)",
            UserWarning,
            stacklevel=2,
        )
    return logits


def _probabilities(logits: Tensor) -> bool:
    """Every row non-negative and summing to 1 within 1e-4."""
    rows = logits.detach().double()
    return bool((rows >= 0).all()) and bool(((rows.sum(1) - 1).abs() <= 1e-4).all())


def check_count(name: str, value: object, *, optional: bool = False) -> int:
    """An integer >= 1 (steps, restarts, batch sizes, columns), or a ValueError naming the
    argument; with `optional`, None passes too (callers then read it as "the default")."""
    if optional and value is None:
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        allowed = "None or an integer >= 1" if optional else "an integer >= 1"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_positive(name: str, value: object) -> float:
    """A finite number > 0 (learning rates, constants), or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_fraction(name: str, value: object) -> float:
    """A number in (0, 1] (APGD's rho, Square's p_init), or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)
