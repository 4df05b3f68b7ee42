"""Plain pixels, the lesson's parameterization: squashed by a sigmoid or clipped to [0, 1]."""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.params.base import Param
from advcat.params.color import logit
from advcat.params.start import check_std, start_image, start_noise

_MODES = ("sigmoid", "clamp")


class Pixel(Param):
    """One variable per pixel. `mode="sigmoid"`: image = sigmoid(z); `mode="clamp"`: z is the image,
    clipped to [0, 1] after every step (projected gradient ascent, the lesson's recipe).

    Starts at `x0` (mid-grey for synthesis from noise) plus normal noise of `std` in z's units.
    """

    def __init__(self, mode: str = "sigmoid", std: float = 0.01) -> None:
        if mode not in _MODES:
            raise ValueError(f"Pixel mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self.std = check_std(std)
        self.default_lr = 0.05 if mode == "sigmoid" else 0.01

    def __repr__(self) -> str:
        return f"Pixel(mode={self.mode!r}, std={self.std:g})"

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """x0 (as logits in sigmoid mode) plus seeded noise."""
        base = start_image(shape, index, x0)
        z = logit(base) if self.mode == "sigmoid" else base.clone()
        return self.project(z + start_noise(z, index, seed, restart, self.std))

    def to_image(self, z: Tensor) -> Tensor:
        """sigmoid(z), or z clipped to [0, 1]."""
        return torch.sigmoid(z) if self.mode == "sigmoid" else z.clamp(0.0, 1.0)

    def project(self, z: Tensor) -> Tensor:
        """Clamp mode keeps z in [0, 1] so no pixel sticks outside with a zero gradient."""
        return z if self.mode == "sigmoid" else z.clamp(0.0, 1.0)
