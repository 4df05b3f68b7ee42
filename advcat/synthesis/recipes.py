"""Named recipes: which parameterization, transforms, step size and priors a synthesis uses.

`param="fourier", transforms="default"` is the readable default; `param="pixel", transforms=None`
is the lesson's plain recipe (gradient ascent on clipped pixels); RECIPES names the three a
comparison figure shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from advcat.params import Decorrelated, Fourier, Maco, Param, Pixel

Transform = Callable[[Tensor], Tensor]

#: parameterizations by name, built with the starting noise's standard deviation
PARAMS: dict[str, Callable[[float], Param]] = {
    "fourier": lambda std: Fourier(std=std),
    "pixel": lambda std: Pixel("clamp", std=std),
    "sigmoid": lambda std: Pixel("sigmoid", std=std),
    "decorrelated": lambda std: Decorrelated(std=std),
    "maco": lambda std: Maco(),  # a random phase start; the magnitude is fixed, so no noise std
}
#: starting noise for synthesis from grey; a start from a photo gets none
START_STD = 0.01

#: total-variation weight of the readable recipe: `tv=None` with a Fourier or decorrelated param
DEFAULT_TV = 4.0

#: the lesson's recipes side by side: keyword arguments for `synthesize`. Total variation is a
#: per-pixel mean, so on plain pixels its weight must be in the thousands to visibly smooth
RECIPES: dict[str, dict[str, Any]] = {
    "plain": {"param": "pixel", "transforms": None, "tv": 0.0},
    "pixel + TV": {"param": "pixel", "transforms": None, "tv": 2000.0},
    "default": {},
}


def make_param(spec: str | Param, *, from_photo: bool = False) -> Param:
    """A Param from a name in PARAMS (noiseless when starting from a photo) or an instance."""
    if isinstance(spec, Param):
        return spec
    if isinstance(spec, str) and spec in PARAMS:
        return PARAMS[spec](0.0 if from_photo else START_STD)
    raise ValueError(
        f"param must be one of {sorted(PARAMS)} or an advcat.params.Param, got {spec!r}")


def make_transforms(spec: object) -> Transform | None:
    """None, "default" (the kornia robustness stack), or any callable on image batches."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec != "default":
            raise ValueError(f"transforms must be 'default', None or a callable, got {spec!r}")
        from advcat.transforms import Robustness

        return Robustness()
    if callable(spec):
        return spec
    raise TypeError(f"transforms must be 'default', None or a callable, got {type(spec).__name__}")


def default_tv(param: Param) -> float:
    """The total-variation weight for `tv=None`: DEFAULT_TV for the smooth parameterizations,
    0 for pixels (so `param="pixel", transforms=None` is the lesson's plain recipe)."""
    return DEFAULT_TV if isinstance(param, (Fourier, Decorrelated)) else 0.0
