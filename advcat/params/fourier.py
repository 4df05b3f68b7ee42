"""Fourier parameterization: optimize the image's spectrum, each frequency scaled by 1/frequency.

Scaling by 1/f makes every frequency band equally easy to change, so gradient steps no longer
favour the high-frequency patterns that fool a network without looking like anything (Olah et al.,
"Feature Visualization", 2017). The colour basis is decorrelated by default.
"""

from __future__ import annotations

import torch
from torch import Tensor

from advcat.params.base import Param
from advcat.params.color import correlate, decorrelate, logit
from advcat.params.start import check_std, start_image, start_noise

#: the spatial signal is divided by this before the sigmoid, so the start is close to grey
_DAMPING = 4.0


def frequency_scale(height: int, width: int, decay: float = 1.0, *,
                    like: Tensor | None = None) -> Tensor:
    """The (height, width) weights 1 / max(|f|, 1 / max(height, width)) ** decay of a 2-D FFT."""
    fy: Tensor = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx: Tensor = torch.fft.fftfreq(width, dtype=torch.float64)[None, :]
    frequency = (fx.pow(2) + fy.pow(2)).sqrt().clamp_min(1.0 / max(height, width))
    scale = frequency.pow(-decay)
    return scale if like is None else scale.to(device=like.device, dtype=like.dtype)


class Fourier(Param):
    """Images from a spectrum z (n, C, H, W, 2) (real and imaginary parts) scaled by 1/f ** `decay`.

    image = sigmoid(colour(Re ifft2(z * scale) * 1/4)), `colour` being the decorrelated-colour map
    when `decorrelate` (needs 3 channels). The full spectrum keeps any H and W exact. Starts at
    `x0` (mid-grey for synthesis from noise) mapped exactly into the spectrum, plus noise of `std`.
    """

    default_lr = 0.05

    def __init__(self, decorrelate: bool = True, decay: float = 1.0, std: float = 0.01) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or decay < 0:
            raise ValueError(f"decay must be a number >= 0, got {decay!r}")
        self.decorrelate = bool(decorrelate)
        self.decay = float(decay)
        self.std = check_std(std)

    def __repr__(self) -> str:
        return f"Fourier(decorrelate={self.decorrelate}, decay={self.decay:g}, std={self.std:g})"

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """The spectrum whose image is x0, plus seeded noise."""
        signal = logit(start_image(shape, index, x0))
        if self.decorrelate:
            signal = decorrelate(signal)
        scale = frequency_scale(signal.shape[-2], signal.shape[-1], self.decay, like=signal)
        spectrum = torch.fft.fft2(signal * _DAMPING, norm="ortho") / scale
        z = torch.view_as_real(spectrum).contiguous()
        return z + start_noise(z, index, seed, restart, self.std)

    def to_image(self, z: Tensor) -> Tensor:
        """sigmoid(colour(Re ifft2(z * scale) / 4))."""
        if z.dim() != 5 or z.shape[-1] != 2:
            raise ValueError(f"a Fourier variable has shape (n, C, H, W, 2), got {tuple(z.shape)}")
        scale = frequency_scale(z.shape[2], z.shape[3], self.decay, like=z)
        spectrum = torch.view_as_complex(z.contiguous()) * scale
        signal = torch.fft.ifft2(spectrum, norm="ortho").real / _DAMPING
        if self.decorrelate:
            signal = correlate(signal)
        return torch.sigmoid(signal)
