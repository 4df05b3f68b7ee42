"""Layer taps: record the outputs of named modules during a forward pass.

Names resolve against the wrapped network, so `"blocks.5"` works whether or not the model sits
inside advcat's pixel-space wrapper. Hooks are removed on exit, even on error.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from torch import Tensor, nn


def _inner(model: nn.Module) -> nn.Module | None:
    inner = getattr(model, "net", None)
    return inner if isinstance(inner, nn.Module) else None


def layer_names(model: nn.Module) -> list[str]:
    """Every module name a user may tap, relative to the wrapped network when there is one."""
    inner = _inner(model)
    root = inner if inner is not None else model
    return [name for name, _ in root.named_modules() if name]


def resolve_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called `name` in `model` (or in the network inside advcat's wrapper).

    An unknown name raises a ValueError listing the closest existing names.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"a layer name must be a non-empty string, got {name!r}")
    candidates: dict[str, nn.Module] = dict(model.named_modules())
    if name in candidates:
        return candidates[name]
    inner = _inner(model)
    if inner is not None:
        inner_modules: dict[str, nn.Module] = dict(inner.named_modules())
        if name in inner_modules:
            return inner_modules[name]
    names = layer_names(model)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise ValueError(
        f"no layer named {name!r} in {type(model).__name__}.{hint} "
        f"advcat.models.layer_names(model) lists all {len(names)} names."
    )


@contextmanager
def tap(model: nn.Module, names: Sequence[str]) -> Iterator[dict[str, Tensor]]:
    """Record the output of each named layer into the yielded dict during forward passes."""
    modules = {name: resolve_layer(model, name) for name in names}
    store: dict[str, Tensor] = {}
    handles = []

    def recorder(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, Tensor):
                store[name] = output
            elif isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):
                store[name] = output[0]

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(recorder(name)))
        yield store
    finally:
        for handle in handles:
            handle.remove()
