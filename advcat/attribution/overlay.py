"""Attribution overlays: a heatmap over the image with a colour bar, and clean vs adversarial side
by side on one colour scale. Returns matplotlib Figures (no pyplot state, no window)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from torch import Tensor

from advcat.attribution.result import Attribution
from advcat.validate import check_count


def _image(image: Tensor, index: int) -> np.ndarray:
    if image.dim() == 4:
        image = image[index]
    if image.dim() != 3:
        raise ValueError(f"image must be (C, H, W) or (N, C, H, W), got {tuple(image.shape)}")
    array = image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return array[..., 0] if array.shape[-1] == 1 else array


def _heat(attribution: Attribution | Tensor, index: int, absolute: bool) -> np.ndarray:
    if isinstance(attribution, Attribution):
        maps = attribution.heat(absolute)
    elif isinstance(attribution, Tensor) and attribution.dim() == 4:
        maps = attribution.abs().sum(1, keepdim=True) if absolute else attribution.sum(1, True)
    else:
        raise TypeError("attribution must be an Attribution or a (N, C, H, W) tensor")
    return maps[index, 0].detach().float().cpu().numpy()


def color_limits(heats: list[np.ndarray], absolute: bool, percentile: float) -> tuple[float, float]:
    """Shared colour limits: [0, p-th percentile] for magnitudes, symmetric around 0 if signed."""
    values = np.concatenate([np.abs(h).ravel() for h in heats])
    top = float(np.percentile(values, percentile)) or float(values.max()) or 1.0
    return (0.0, top) if absolute else (-top, top)


def attributed_to(attribution: Attribution | Tensor, index: int, classes: Sequence[str] | None) -> str:
    """"method for NAME (k)", or "method for class k" without a name: what a map shows, readable
    without the code that made it."""
    if not isinstance(attribution, Attribution):
        return ""
    label = int(attribution.target[index])
    if classes is not None and 0 <= label < len(classes):
        name = f"{classes[label]} ({label})"
    elif attribution.target_names is not None:
        name = f"{attribution.target_names[index]} ({label})"
    else:
        name = f"class {label}"
    return f"{attribution.method.replace('_', ' ')} for {name}"


def _draw(ax: Axes, image: np.ndarray | None, heat: np.ndarray, limits: tuple[float, float],
          absolute: bool, alpha: float, title: str | None, width: int = 42,
          fontsize: float | None = None) -> AxesImage:
    """The heatmap over `image` (or alone, opaque, when there is no image) with a wrapped title."""
    if image is not None:
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    shown = ax.imshow(heat, cmap="inferno" if absolute else "coolwarm", vmin=limits[0],
                      vmax=limits[1], alpha=alpha if image is not None else 1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(textwrap.fill(title, width), fontsize=fontsize)
    return shown


def overlay(
    image: Tensor,
    attribution: Attribution | Tensor,
    *,
    index: int = 0,
    absolute: bool = True,
    alpha: float = 0.6,
    percentile: float = 99.0,
    title: str | None = None,
    classes: Sequence[str] | None = None,
) -> Figure:
    """One image with its attribution heatmap on top and a colour bar.

    `absolute`: magnitudes (sum of |attribution| over channels) or signed values (diverging map);
    colours saturate at the `percentile` of the magnitudes so a few extreme pixels do not wash
    out the rest. The default title names the method and the class attributed (by name when
    `classes` are given).
    """
    picture, heat = _image(image, index), _heat(attribution, index, absolute)
    if picture.shape[:2] != heat.shape:
        raise ValueError(f"image {picture.shape[:2]} and map {heat.shape} differ in size")
    if title is None:
        title = attributed_to(attribution, index, classes) or None
    figure = Figure(figsize=(5.0, 4.2), layout="constrained")
    ax = figure.add_subplot()
    shown = _draw(ax, picture, heat, color_limits([heat], absolute, percentile), absolute, alpha,
                  title)
    figure.colorbar(shown, ax=ax, shrink=0.85, label="attribution")
    return figure


def overlay_pair(
    x: Tensor,
    adv: Tensor,
    clean: Attribution | Tensor,
    moved: Attribution | Tensor,
    *,
    index: int = 0,
    absolute: bool = True,
    alpha: float = 0.6,
    percentile: float = 99.0,
    titles: tuple[str, str] = ("clean", "adversarial"),
    classes: Sequence[str] | None = None,
) -> Figure:
    """Clean and adversarial images side by side, each with its heatmap, on one colour scale.

    The figure's title names the method and the class each map attributes (the clean map's
    class, by name when `classes` are given)."""
    pictures = [_image(x, index), _image(adv, index)]
    heats = [_heat(clean, index, absolute), _heat(moved, index, absolute)]
    limits = color_limits(heats, absolute, percentile)
    figure = Figure(figsize=(9.0, 4.2), layout="constrained")
    axes = figure.subplots(1, 2)
    shown = [_draw(ax, picture, heat, limits, absolute, alpha, title)
             for ax, picture, heat, title in zip(axes, pictures, heats, titles)]
    figure.colorbar(shown[-1], ax=list(axes), shrink=0.85, label="attribution")
    heading = attributed_to(clean, index, classes)
    if heading:
        figure.suptitle(heading)
    return figure


def overlay_grid(
    attribution: Attribution,
    images: Tensor | None = None,
    *,
    rows: Sequence[int] | None = None,
    absolute: bool = True,
    alpha: float = 0.6,
    percentile: float = 99.0,
    classes: Sequence[str] | None = None,
    ncols: int = 4,
) -> Figure:
    """Several maps of one Attribution, each titled with the method and class and with its own
    colour bar (maps of different images differ in scale).

    Over `images` (N, C, H, W) when given; a saved Attribution keeps no images, so without them
    the maps are drawn alone. `rows` picks the samples (default: all).
    """
    picked = list(range(len(attribution))) if rows is None else list(rows)
    if not picked:
        raise ValueError("overlay_grid needs at least one row to draw")
    check_count("ncols", ncols)
    cols = min(ncols, len(picked))
    lines = -(-len(picked) // cols)
    figure = Figure(figsize=(2.6 * cols, 2.6 * lines), layout="constrained")
    axes = figure.subplots(lines, cols, squeeze=False)
    label = "|attribution|" if absolute else "attribution"
    for ax, index in zip(axes.flat, picked):
        heat = _heat(attribution, index, absolute)
        picture = None if images is None else _image(images, index)
        if picture is not None and picture.shape[:2] != heat.shape:
            raise ValueError(f"image {picture.shape[:2]} and map {heat.shape} differ in size")
        shown = _draw(ax, picture, heat, color_limits([heat], absolute, percentile), absolute,
                      alpha, attributed_to(attribution, index, classes), width=26, fontsize=8)
        bar = figure.colorbar(shown, ax=ax, shrink=0.8)
        bar.set_label(label, fontsize=7)
        bar.ax.tick_params(labelsize=6)
        bar.ax.yaxis.get_offset_text().set_fontsize(6)
    for ax in axes.flat[len(picked):]:
        ax.set_axis_off()
    return figure


def heatmap_rgb(attribution: Attribution | Tensor, *, index: int = 0, absolute: bool = True,
                percentile: float = 99.0) -> np.ndarray:
    """The map alone as an (H, W, 3) uint8 colour image, for saving as a PNG."""
    from matplotlib import colormaps

    heat = _heat(attribution, index, absolute)
    low, high = color_limits([heat], absolute, percentile)
    scaled = np.clip((heat - low) / (high - low), 0.0, 1.0)
    colours = colormaps["inferno" if absolute else "coolwarm"](scaled)[..., :3]
    return (colours * 255).round().astype(np.uint8)
