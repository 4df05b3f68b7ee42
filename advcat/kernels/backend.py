"""Which implementation the hot steps use: fused Triton kernels on CUDA, plain torch elsewhere.

`set_kernels("auto")` (the default) picks Triton for CUDA tensors when Triton imports; "torch"
forces the reference twins; "triton" forces the kernels (on CPU only under TRITON_INTERPRET=1,
which is how the CPU tests check them).
"""

from __future__ import annotations

import importlib.util
import os

from torch import Tensor

BACKENDS = ("auto", "torch", "triton")
_selected = "auto"


def set_kernels(backend: str) -> None:
    """Choose "auto", "torch" or "triton" for every fused step from now on."""
    global _selected
    if backend not in BACKENDS:
        raise ValueError(f"unknown kernel backend {backend!r}; expected one of {BACKENDS}")
    if backend == "triton" and not triton_available():
        raise RuntimeError("the triton backend needs the `triton` package (pip install triton)")
    _selected = backend


def get_kernels() -> str:
    """The backend chosen with `set_kernels`."""
    return _selected


def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def use_triton(tensor: Tensor) -> bool:
    """Whether to run the Triton kernel for this tensor under the current backend."""
    if _selected == "torch":
        return False
    runnable = tensor.is_cuda or interpreting()
    if _selected == "triton":
        if not runnable:
            raise RuntimeError(
                "Triton kernels need CUDA tensors (or TRITON_INTERPRET=1 on the CPU); "
                "use advcat.set_kernels('auto') or 'torch'"
            )
        return True
    return tensor.is_cuda and triton_available()
