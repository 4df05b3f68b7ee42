"""Image galleries: a grid of images with titles, and synthesized images with their probabilities.

Returns matplotlib Figures built with the object API (no global pyplot state).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from torch import Tensor

from advcat.validate import check_images

if TYPE_CHECKING:
    from advcat.synthesis.result import SynthesisResult


def gallery(images: Tensor, titles: Sequence[str] | None = None, *, ncols: int | None = None,
            size: float = 2.4, title: str | None = None) -> Figure:
    """Images (N, C, H, W) in [0, 1] in a grid of `ncols` columns (all in one row by default)."""
    check_images(images, name="images")
    count = images.shape[0]
    if titles is not None and len(titles) != count:
        raise ValueError(f"got {len(titles)} titles for {count} images")
    if ncols is not None and (isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1):
        raise ValueError(f"ncols must be a positive integer or None, got {ncols!r}")
    cols = min(ncols or count, count)
    rows = math.ceil(count / cols)
    lines = fit_to_width(title, size * cols) if title else None
    height = size * rows + (0.3 * (lines.count("\n") + 1) + 0.1 if lines else 0.0)
    figure = Figure(figsize=(size * cols, height), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= count:
            continue
        ax.imshow(_hwc(images[i]), cmap="gray" if images.shape[1] == 1 else None,
                  vmin=0.0, vmax=1.0, interpolation="lanczos")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if lines:
        figure.suptitle(lines)
    return figure


def fit_to_width(text: str, width: float, fontsize: float = 12.0) -> str:
    """`text` broken into lines that fit a figure `width` inches wide at `fontsize` points (an
    average glyph is taken as 0.6 em, a safe bound for DejaVu Sans), so a suptitle is never cut."""
    per_line = max(int(width * 72 / (0.6 * fontsize)), 10)
    return textwrap.fill(text, per_line)


def synthesis_gallery(result: SynthesisResult, *, ncols: int | None = None,
                      size: float = 2.4) -> Figure:
    """A synthesis result's images, each titled with its target and the model's probability."""
    return gallery(result.images, synthesis_titles(result), ncols=ncols, size=size,
                   title=literal(result.objective) if len(result.objective) < 80 else None)


def literal(text: str) -> str:
    """`text` as matplotlib draws it verbatim: a `$` in a class name must not start mathtext."""
    return str(text).replace("$", r"\$")


def synthesis_titles(result: SynthesisResult) -> list[str]:
    """"name\\np=0.987" per image (the top class and its probability without a target; the name
    alone for a unit's image, such as a channel atlas's "layer channel k")."""
    probability = result.probability
    titles = []
    for i in range(result.images.shape[0]):
        if probability is not None and result.names is not None:
            titles.append(f"{literal(result.names[i])}\np={float(probability[i]):.3f}")
        elif result.names is not None:
            titles.append(literal(result.names[i]))
        else:
            top = int(result.predictions[i])
            titles.append(f"top: {literal(result.class_name(top))}\np={float(result.probs[i, top]):.3f}")
    return titles


def _hwc(image: Tensor) -> Tensor:
    """(C, H, W) to what imshow takes: (H, W) for one channel, (H, W, C) otherwise."""
    image = image.detach().float().cpu()
    return image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
