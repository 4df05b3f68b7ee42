"""Image parameterizations: pixels, a 1/f-scaled spectrum, a fixed natural spectrum (MACO),
decorrelated colour, CW's tanh space."""

from advcat.params.base import Param
from advcat.params.color import Decorrelated, correlate, decorrelate
from advcat.params.fourier import Fourier, frequency_scale
from advcat.params.maco import Maco
from advcat.params.pixel import Pixel
from advcat.params.tanh import Tanh

__all__ = [
    "Decorrelated", "Fourier", "Maco", "Param", "Pixel", "Tanh", "correlate", "decorrelate",
    "frequency_scale",
]
