"""Robust accuracy against eps for one or several evaluation reports, on one matplotlib figure.

Each curve carries a 95% Wilson interval for its n points (a robustness number on 20 points is
a wide interval, and the figure says so); L-inf budgets read as k/255, as the rest of advcat does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

NORM_TITLES = {"linf": "L-inf", "l2": "L2", "l1": "L1"}
Z95 = 1.959964


def wilson_interval(fraction: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default), as fractions.

    Wilson (1927): unlike the normal approximation it stays inside [0, 1] and is sound at 0 and
    1, where small robustness evaluations often land.
    """
    if n <= 0:
        return 0.0, 1.0
    scale = 1 + z * z / n
    centre = (fraction + z * z / (2 * n)) / scale
    half = z * math.sqrt(fraction * (1 - fraction) / n + z * z / (4 * n * n)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def robustness_curve(
    reports: Sequence[Any], *, labels: Sequence[str] | None = None, axes: Any = None,
    title: str | None = None,
) -> Figure:
    """One line per report: clean accuracy at eps 0, then robust accuracy (%) at each eps.

    Reports must share a norm (the x axis is one threat model); `labels` default to the models'
    names. Shaded bands are 95% Wilson intervals over each report's n points. Pass `axes` to draw
    into an existing figure.
    """
    if len(reports) == 0:
        raise ValueError("robustness_curve needs at least one report")
    norms = {r.config.get("norm") for r in reports}
    if len(norms) > 1:
        raise ValueError(f"the reports use different norms {sorted(map(str, norms))}; plot them separately")
    if labels is not None and len(labels) != len(reports):
        raise ValueError(f"got {len(labels)} labels for {len(reports)} reports")
    norm = str(norms.pop())
    if axes is None:
        figure = Figure(figsize=(5, 3.5), layout="constrained")
        axes = figure.add_subplot()
    else:
        figure = axes.figure
    for i, report in enumerate(reports):
        xs = [0.0, *report.eps]
        fractions = [report.clean_accuracy, *report.robust_accuracy]
        label = labels[i] if labels is not None else report.model
        line, = axes.plot(xs, [100 * f for f in fractions], "-o", markersize=3,
                          label=f"{label} (n={report.n})")
        bands = [wilson_interval(f, report.n) for f in fractions]
        axes.fill_between(xs, [100 * low for low, _ in bands], [100 * high for _, high in bands],
                          color=line.get_color(), alpha=0.15, linewidth=0)
    _eps_axis(axes, norm, max(max(r.eps, default=0.0) for r in reports))
    axes.set_ylabel("robust accuracy (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    handles, names = axes.get_legend_handles_labels()
    handles.append(Patch(color="grey", alpha=0.3))
    names.append("95% interval (Wilson)")
    axes.legend(handles, names, fontsize="small")
    axes.set_title(title or f"Robust accuracy under {NORM_TITLES.get(norm, norm)} attacks", fontsize=10)
    return figure


def _eps_axis(axes: Any, norm: str, top: float) -> None:
    """The eps axis: k/255 ticks for L-inf (at most about 8 of them), plain decimals otherwise."""
    axes.set_xlabel(f"eps ({NORM_TITLES.get(norm, norm)}{', pixels in [0, 1]' if norm != 'linf' else ''})")
    if norm != "linf" or top <= 0:
        return
    levels = top * 255
    step = max(1.0, math.ceil(levels / 8)) if levels >= 1 else levels / 4
    axes.xaxis.set_major_locator(MultipleLocator(step / 255))
    axes.xaxis.set_major_formatter(FuncFormatter(_over_255))


def _over_255(value: float, _position: object) -> str:
    return "0" if abs(value) < 1e-12 else f"{value * 255:.3g}/255"
