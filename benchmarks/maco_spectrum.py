"""Estimate the natural-image amplitude spectrum that `advcat.params.Maco` fixes, from bundled photos.

Photos: every one `advcat.data.photos.samples()` finds, in name order (the shipped file: the 4
scikit-image photos, matplotlib's Grace Hopper and foolbox's 20 ImageNet photos, 25 in all; the
names are recorded in the file's metadata). Each is resized (short side, bilinear, antialiased)
and centre-cropped to 224 x 224, in [0, 1], and read in two bases: advcat's decorrelated colour
basis (3 channels) and Rec. 601 luminance (1 channel). Each channel loses its mean, is multiplied
by a 2-D Hann window (so the image border adds no cross to the spectrum) and goes through an
orthonormal FFT; the amplitude is divided by the window's RMS so that it keeps the image's
energy. The spectrum is the arithmetic mean of these amplitudes over the photos and their mirror
images (which makes it symmetric in both axes), fftshifted (zero frequency at [112, 112]), with
the zero-frequency bin set to |mean pixel value| * 224; the signed channel means are stored too.
Deterministic: no randomness, float64 throughout, stored as float16.

Run: `.venv/bin/python benchmarks/maco_spectrum.py` (writes advcat/params/maco_spectrum.safetensors).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from advcat.data.photos import samples
from advcat.params import decorrelate

SIZE = 224
LUMA = (0.299, 0.587, 0.114)
OUT = Path(__file__).resolve().parent.parent / "advcat" / "params" / "maco_spectrum.safetensors"


def load_square(path: Path, size: int = SIZE) -> torch.Tensor:
    """A photo as a (3, size, size) float64 tensor in [0, 1]: short side resized, centre crop."""
    array = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    image = torch.from_numpy(array).permute(2, 0, 1)[None]
    height, width = image.shape[-2:]
    scale = size / min(height, width)
    new = (max(size, round(height * scale)), max(size, round(width * scale)))
    image = F.interpolate(image, size=new, mode="bilinear", antialias=True, align_corners=False)
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    return image[0, :, top:top + size, left:left + size].clamp(0.0, 1.0)


def amplitude(channels: torch.Tensor) -> torch.Tensor:
    """The (C, H, W) amplitude of the mean-free, Hann-windowed channels, rescaled to keep energy."""
    height, width = channels.shape[-2:]
    window = torch.outer(torch.hann_window(height, periodic=False, dtype=torch.float64),
                         torch.hann_window(width, periodic=False, dtype=torch.float64))
    centred = channels - channels.mean(dim=(-2, -1), keepdim=True)
    spectrum = torch.fft.fft2(centred * window, norm="ortho")
    return spectrum.abs() / window.pow(2).mean().sqrt()


def bases(image: torch.Tensor) -> dict[str, torch.Tensor]:
    """The photo in the decorrelated colour basis (3 channels) and as luminance (1 channel)."""
    luma = torch.tensor(LUMA, dtype=torch.float64)
    return {"decorrelated": decorrelate(image[None])[0],
            "luminance": torch.einsum("c,chw->hw", luma, image)[None]}


def estimate(paths: list[Path], size: int = SIZE) -> dict[str, torch.Tensor]:
    """Mean amplitude spectra (fftshifted, DC = |mean| * size) and signed means, per basis."""
    sums: dict[str, torch.Tensor] = {}
    means: dict[str, torch.Tensor] = {}
    for path in paths:
        image = load_square(path, size)
        for flipped in (image, image.flip(-1)):
            for name, channels in bases(flipped).items():
                sums[name] = sums.get(name, 0) + amplitude(channels)
                means[name] = means.get(name, 0) + channels.mean(dim=(-2, -1))
    count = 2 * len(paths)
    out = {}
    for name in sums:
        spectrum, mean = sums[name] / count, means[name] / count
        spectrum[:, 0, 0] = mean.abs() * size
        out[name] = torch.fft.fftshift(spectrum, dim=(-2, -1)).to(torch.float16)
        out[f"{name}_mean"] = mean.to(torch.float16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the safetensors file")
    args = parser.parse_args()
    found = sorted(samples().items())
    if not found:
        raise SystemExit("no sample photos found: install scikit-image, matplotlib or foolbox")
    tensors = estimate([sample.path for _, sample in found])
    metadata = {"photos": ",".join(name for name, _ in found), "size": str(SIZE),
                "layout": "fftshifted amplitude of an orthonormal 2-D FFT, DC at [size // 2, size // 2]",
                "made_by": "benchmarks/maco_spectrum.py"}
    save_file(tensors, str(args.out), metadata=metadata)
    print(f"wrote {args.out} from {len(found)} photos ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
