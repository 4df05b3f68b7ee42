"""Image parameterizations for synthesis: pixels, a 1/f-scaled spectrum, decorrelated colour."""

from advcat.params.base import Param
from advcat.params.color import Decorrelated, correlate, decorrelate
from advcat.params.fourier import Fourier, frequency_scale
from advcat.params.pixel import Pixel

__all__ = [
    "Decorrelated", "Fourier", "Param", "Pixel", "correlate", "decorrelate", "frequency_scale",
]
