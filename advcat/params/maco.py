"""MACO: optimize only the Fourier phase; the magnitude stays a natural-image spectrum.

Fel et al., "Unlocking feature visualization for deeper networks with magnitude-constrained
optimization", NeurIPS 2023. With the amplitude fixed, an optimization can only move structure
around, never add the high-frequency energy that fools a network without looking like anything.

The spectrum (maco_spectrum.safetensors, made by benchmarks/maco_spectrum.py) is the mean
amplitude of an orthonormal 2-D FFT of 25 bundled photos (scikit-image's 4, matplotlib's Grace
Hopper, foolbox's 20 ImageNet photos) and their mirror images, each resized and centre-cropped to
224 x 224, mean-free and Hann-windowed, in advcat's decorrelated colour basis and as luminance.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import Tensor

from advcat.core.rng import per_sample
from advcat.params.base import Param
from advcat.params.color import correlate

SPECTRUM_FILE = Path(__file__).with_name("maco_spectrum.safetensors")
#: the side of the shipped spectrum, whose zero frequency sits at [SPECTRUM_SIZE // 2] * 2
SPECTRUM_SIZE = 224
#: keeps the random phase apart from every other stream drawn from the same seed
_STREAM = 2_000_003
#: image = sigmoid(_GAIN * (rgb - 1/2)): slope 1 at mid-grey, a soft clip at 0 and 1
_GAIN = 4.0


@lru_cache(maxsize=1)
def load_spectrum() -> dict[str, Tensor]:
    """The shipped spectra as float32: "decorrelated" (3, 224, 224) and "luminance" (1, 224, 224)
    fftshifted amplitudes (zero frequency at [112, 112], equal to |mean| * 224), and their signed
    channel means "decorrelated_mean" (3,) and "luminance_mean" (1,)."""
    return {name: tensor.float() for name, tensor in load_file(str(SPECTRUM_FILE)).items()}


def reflect(x: Tensor) -> Tensor:
    """x at the negated frequency: out[..., k, l] = x[..., -k mod H, -l mod W]."""
    return torch.roll(torch.flip(x, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))


def resize_amplitude(shifted: Tensor, mean: Tensor, height: int, width: int) -> Tensor:
    """An amplitude spectrum (C, S, S), fftshifted, resampled to an unshifted (C, height, width) one.

    Bilinear interpolation of the log-amplitude at the target's frequencies (cycles per pixel),
    so the per-pixel energy of each band is kept; the source's zero frequency is replaced by its
    neighbours' mean first, the target's is |mean| * sqrt(height * width), and the result is
    made symmetric (|X(-f)| = |X(f)|, as for any real image).
    """
    size = shifted.shape[-1]
    centre = size // 2
    log = shifted.clamp_min(1e-8).log().clone()
    around = log[:, [centre - 1, centre + 1, centre, centre], [centre, centre, centre - 1, centre + 1]]
    log[:, centre, centre] = around.mean(dim=1)
    fy = torch.fft.fftfreq(height, dtype=torch.float64)
    fx = torch.fft.fftfreq(width, dtype=torch.float64)
    # source pixel of frequency f is centre + f * size; grid_sample's align_corners=True maps
    # pixel 0 to -1 and pixel size - 1 to +1
    gy = (centre + fy * size) * 2 / (size - 1) - 1
    gx = (centre + fx * size) * 2 / (size - 1) - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)[None].to(log)
    sampled = F.grid_sample(log[None], grid, mode="bilinear", padding_mode="border",
                            align_corners=True)[0].exp()
    sampled = 0.5 * (sampled + reflect(sampled))
    sampled[:, 0, 0] = mean.abs() * math.sqrt(height * width)
    return sampled


def _half_plane(height: int, width: int, device: torch.device) -> Tensor:
    """True on one frequency of each pair (f, -f) (neither of a self-paired one), as (H, W)."""
    order = torch.arange(height * width, device=device).view(height, width)
    return order < reflect(order)


class Maco(Param):
    """Images whose Fourier amplitude is a fixed natural-image spectrum; z (n, C, H, W) sets the phase.

    signal = ifft2(M * exp(i * phase)), phase = (z - z at -f) / 2 (odd, so the signal is real and
    its amplitude is exactly M), plus pi at the zero frequency of channels whose mean is negative.
    image = sigmoid(4 * (colour(signal) - 1/2)), `colour` being the decorrelated-colour map when
    `decorrelate` and the model takes 3 channels (the decorrelated spectrum); otherwise every
    channel gets the luminance spectrum. M comes from the shipped 224 x 224 spectrum by
    `resize_amplitude`. Starts from a uniform random phase keyed on (seed, sample, restart); it
    cannot start from a photo, so `x0` must be flat (synthesis from grey).
    """

    #: radians per Adam step; on Lite0, judged by Lite2 (6 classes, 128 steps, seed 0), 0.05, 0.1
    #: and 0.25 scored 0.49, 0.56 and 0.19
    default_lr = 0.1

    def __init__(self, decorrelate: bool = True) -> None:
        self.decorrelate = bool(decorrelate)
        self._cache: dict[tuple[object, ...], tuple[Tensor, Tensor]] = {}

    def __repr__(self) -> str:
        return f"Maco(decorrelate={self.decorrelate})"

    def _colour(self, channels: int) -> bool:
        return self.decorrelate and channels == 3

    def magnitude(self, channels: int, height: int, width: int, *, like: Tensor | None = None) -> Tensor:
        """The fixed amplitude M (channels, height, width) of an unshifted orthonormal FFT."""
        return self._spectrum(channels, height, width, like if like is not None else torch.empty(0))[0]

    def _spectrum(self, channels: int, height: int, width: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """(M, phase offset) for a size, on `like`'s device and dtype, computed once per key."""
        device, dtype = like.device, like.dtype
        key = (channels, height, width, device, dtype)
        if key not in self._cache:
            basis = "decorrelated" if self._colour(channels) else "luminance"
            spectra = load_spectrum()
            shifted, mean = spectra[basis], spectra[f"{basis}_mean"]
            if basis == "luminance":
                shifted, mean = shifted.expand(channels, -1, -1), mean.expand(channels)
            magnitude = resize_amplitude(shifted.double(), mean.double(), height, width)
            offset = torch.zeros_like(magnitude)
            offset[:, 0, 0] = torch.where(mean < 0, math.pi, 0.0).double()
            self._cache[key] = (magnitude.to(device, dtype), offset.to(device, dtype))
        return self._cache[key]

    def init(self, shape: tuple[int, ...], index: Tensor, seed: int, restart: int,
             x0: Tensor | None) -> Tensor:
        """A phase drawn uniformly from [-pi, pi) for each sample, from (seed, sample, restart)."""
        if len(shape) != 3:
            raise ValueError(f"Maco makes (C, H, W) images, got a sample shape {tuple(shape)}")
        if x0 is not None and x0.numel() and bool((x0.flatten(1).amax(1) > x0.flatten(1).amin(1)).any()):
            raise ValueError("Maco starts from a random phase and cannot start from a photo: "
                             "synthesize from grey (image=None) or use param='fourier'")
        device, dtype = (x0.device, x0.dtype) if x0 is not None else (index.device, torch.float32)
        phase = (2 * per_sample("rand", tuple(shape), index, seed, _STREAM + restart,
                                device=device, dtype=dtype) - 1) * math.pi
        # z = phase on one half of the frequencies and -phase mirrored on the other, so the odd
        # part that `signal` uses is the drawn phase itself (uniform, not a difference of two)
        return torch.where(_half_plane(shape[1], shape[2], phase.device), phase, -reflect(phase))

    def signal(self, z: Tensor) -> Tensor:
        """The real signal ifft2(M * exp(i * phase)) (n, C, H, W) before colour and squash."""
        if z.dim() != 4:
            raise ValueError(f"a Maco variable has shape (n, C, H, W), got {tuple(z.shape)}")
        magnitude, offset = self._spectrum(z.shape[1], z.shape[2], z.shape[3], z)
        phase = 0.5 * (z - reflect(z)) + offset
        spectrum = torch.polar(magnitude.expand_as(phase), phase)
        signal: Tensor = torch.fft.ifft2(spectrum, norm="ortho").real
        return signal

    def to_image(self, z: Tensor) -> Tensor:
        """sigmoid(4 * (colour(signal(z)) - 1/2)), in [0, 1]."""
        signal = self.signal(z)
        if self._colour(signal.shape[1]):
            signal = correlate(signal)
        return torch.sigmoid(_GAIN * (signal - 0.5))
