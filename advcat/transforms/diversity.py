"""Input diversity (DI-FGSM, Xie et al. 2019): a random resize and pad before each forward pass.

Plain torch, so the attack core needs no kornia. Draws from the global RNG, which the engine seeds
per step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class InputDiversity:
    """With probability `prob`, resize to a random size in [H, scale*H) and pad back to a square."""

    def __init__(self, prob: float = 0.5, scale: float = 1.1) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        if scale < 1.0:
            raise ValueError(f"scale must be >= 1, got {scale}")
        self.prob = prob
        self.scale = scale

    def __call__(self, x: Tensor) -> Tensor:
        if float(torch.rand(())) >= self.prob:
            return x
        size = x.shape[-1]
        outer = max(size + 1, int(size * self.scale))
        inner = int(torch.randint(size, outer, ()))
        resized = F.interpolate(x, size=(inner, inner), mode="nearest")
        room = outer - inner
        top, left = int(torch.randint(0, room + 1, ())), int(torch.randint(0, room + 1, ()))
        padded = F.pad(resized, (left, room - left, top, room - top))
        return F.interpolate(padded, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def __repr__(self) -> str:
        return f"InputDiversity(prob={self.prob}, scale={self.scale})"
