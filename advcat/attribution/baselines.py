"""Baselines (references) in pixel space: black by default, stated in words in the result.

A baseline is what "absent" means to integrated gradients, DeepLift, occlusion and ablation. Here
it is always an image in [0, 1] (never a normalized value), so "black" means black pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.attribution.methods import Method
from advcat.validate import check_images

_NAMED = {"black": 0.0, "grey": 0.5, "gray": 0.5, "white": 1.0}

BaselineLike = str | float | Tensor | None


def _blur(x: Tensor) -> tuple[Tensor, str]:
    from kornia.filters import gaussian_blur2d

    sigma = max(x.shape[-2:]) / 20.0
    size = 2 * int(3 * sigma) + 1
    blurred = gaussian_blur2d(x, (size, size), (sigma, sigma)).clamp(0, 1)
    return blurred, f"blur (sigma={sigma:g} px)"


def resolve_baseline(
    baseline: BaselineLike, x: Tensor, method: Method
) -> tuple[Tensor | None, str]:
    """The baseline tensor for `method` on images `x`, and a description for the result.

    Accepts "black" (default), "grey", "white", "blur" (Gaussian blur of each image), a constant in
    [0, 1], or an image tensor: (C, H, W) or (1, C, H, W) shared by all samples, (N, C, H, W) one
    per sample, or for SHAP methods (B, C, H, W) as the distribution to draw from.
    """
    if method.baseline == "none":
        if baseline is not None:
            raise ValueError(f"method {method.name!r} takes no baseline; leave baseline=None")
        return None, "none"
    n = x.shape[0]
    if baseline is None:
        baseline = "black"
    if isinstance(baseline, bool):
        raise TypeError(
            f"baseline must be a name, a number in [0, 1] or an image, got {baseline!r}"
        )
    if isinstance(baseline, str):
        key = baseline.strip().lower()
        if key == "blur":
            if method.baseline == "distribution":
                raise ValueError("a 'blur' baseline is per sample; SHAP methods need a shared "
                                 "distribution (pass a (B, C, H, W) tensor or a constant)")
            return _blur(x)
        if key not in _NAMED:
            raise ValueError(
                f"unknown baseline {baseline!r}; expected one of {', '.join([*_NAMED, 'blur'])}, "
                "a number in [0, 1] or an image tensor"
            )
        baseline = _NAMED[key]
        description = f"{key} ({baseline:g})"
        return torch.full_like(x[:1], baseline), description
    if isinstance(baseline, (int, float)):
        value = float(baseline)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"a constant baseline is a pixel value in [0, 1], got {value}")
        return torch.full_like(x[:1], value), f"constant ({value:g})"
    if not isinstance(baseline, Tensor):
        raise TypeError(
            f"baseline must be a name, a number in [0, 1] or an image tensor, got "
            f"{type(baseline).__name__}"
        )
    ref = baseline.unsqueeze(0) if baseline.dim() == 3 else baseline
    check_images(ref, name="baseline")
    if ref.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"baseline images must have shape (C, H, W) = {tuple(x.shape[1:])}, "
            f"got {tuple(ref.shape)}"
        )
    ref = ref.to(device=x.device, dtype=x.dtype)
    if method.baseline == "distribution":
        return ref, f"distribution of {ref.shape[0]} images"
    if ref.shape[0] not in (1, n):
        raise ValueError(
            f"baseline must hold 1 image (shared) or {n} (one per sample), got {ref.shape[0]}"
        )
    return ref, "image (shared)" if ref.shape[0] == 1 else "image (one per sample)"


def baseline_rows(reference: Tensor, method: Method, part: Tensor, start: int) -> Tensor:
    """The baseline rows for the images `part` (samples start, start+1, ...): shared ones
    broadcast, per-sample ones sliced, laid out in memory like `part` (a channels-last input gets
    a channels-last baseline, so both go through the same kernels)."""
    if method.baseline == "distribution":
        return reference
    rows = reference if reference.shape[0] == 1 else reference[start:start + part.shape[0]]
    return torch.empty_like(part).copy_(rows.expand_as(part))
