"""Image parameterizations: pixels, a 1/f-scaled spectrum, decorrelated colour, CW's tanh space."""

from advcat.params.base import Param
from advcat.params.color import Decorrelated, correlate, decorrelate
from advcat.params.fourier import Fourier, frequency_scale
from advcat.params.pixel import Pixel
from advcat.params.tanh import Tanh

__all__ = [
    "Decorrelated", "Fourier", "Param", "Pixel", "Tanh", "correlate", "decorrelate", "frequency_scale",
]
