"""Transformation robustness for synthesis: random pad, jitter, scale and rotation (kornia).

Applied differentiably before every forward pass, they make an image work from many small shifts
and rotations, which removes the pixel-exact noise that only fools one view of the network. kornia
is imported when a stack is built, not when advcat.transforms is imported. Random draws come from
the global RNG, which the engine seeds per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


class Robustness:
    """Pad with grey, then one random affine warp (shift, zoom in `scale`, rotation up to
    `degrees`), then crop back to the input size; optionally random colour jitter (`color`) and
    Gaussian blur (`blur`). Output shape equals input shape.

    `pad` and the largest shift `jitter` are fractions of the image side (0.1 is 22 px at 224), so
    the stack means the same at any size. The defaults are stronger than Lucid's (about 0.05 and
    0.04, zoom 0.9-1.1, 10 degrees): measured on ideal-class images, they make the images far more
    readable to a second network (benchmarks/RESULTS.md).
    """

    def __init__(self, pad: float = 0.1, jitter: float = 0.1, scale: tuple[float, float] = (0.75, 1.25),
                 degrees: float = 20.0, color: bool = False, blur: bool = False) -> None:
        for name, value in (("pad", pad), ("jitter", jitter)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.5:
                raise ValueError(f"{name} must be a fraction of the image side in [0, 0.5], got {value!r}")
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale!r}")
        if degrees < 0:
            raise ValueError(f"degrees must be >= 0, got {degrees!r}")
        self.pad, self.jitter, self.degrees = float(pad), float(jitter), float(degrees)
        self.scale = (float(scale[0]), float(scale[1]))
        self.color, self.blur = bool(color), bool(blur)
        self._stages = self._build()
        self._affines: dict[tuple[int, int, int], Any] = {}

    def _build(self) -> list[Callable[[Tensor], Tensor]]:
        import kornia.augmentation as K

        stages: list[Callable[[Tensor], Tensor]] = []
        if self.color:
            stages.append(K.ColorJiggle(brightness=0.1, contrast=0.1, saturation=0.1, p=1.0))
        if self.blur:
            stages.append(K.RandomGaussianBlur((5, 5), (0.1, 1.0), p=0.5))
        return stages

    def _affine(self, height: int, width: int, shift: int) -> Any:
        """kornia's random affine for padded images of this size, shifting up to `shift` px."""
        import kornia.augmentation as K

        key = (height, width, shift)
        if key not in self._affines:
            self._affines[key] = K.RandomAffine(
                degrees=self.degrees, translate=(shift / width, shift / height),
                scale=self.scale, padding_mode="border", align_corners=False, p=1.0)
        return self._affines[key]

    def _warp(self, x: Tensor, shift: int) -> Tensor:
        """Draw kornia's per-sample affine parameters and matrices, and warp with torch's sampler.

        Same result as calling the kornia module (to float rounding), several times faster on CPU.
        """
        from kornia.geometry.conversions import normalize_homography

        size = (x.shape[-2], x.shape[-1])
        affine = self._affine(size[0], size[1], shift)
        params = affine.forward_parameters(x.shape)
        matrix = affine.compute_transformation(x, params, affine.flags).to(x)
        theta = torch.linalg.inv(normalize_homography(matrix, size, size, align_corners=False))
        grid = F.affine_grid(theta[:, :2], list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def __call__(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        side = max(height, width)
        pad, shift = round(self.pad * side), round(self.jitter * side)
        out = F.pad(x, (pad,) * 4, mode="constant", value=0.5) if pad else x
        out = self._warp(out, shift)
        top, left = (out.shape[-2] - height) // 2, (out.shape[-1] - width) // 2
        out = out[..., top:top + height, left:left + width]
        for stage in self._stages:
            out = stage(out)
        return out

    def __repr__(self) -> str:
        extras = "".join(f", {name}=True" for name in ("color", "blur") if getattr(self, name))
        return (f"Robustness(pad={self.pad:g}, jitter={self.jitter:g}, scale={self.scale}, "
                f"degrees={self.degrees:g}{extras})")
