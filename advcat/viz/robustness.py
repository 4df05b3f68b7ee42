"""Robust accuracy against eps for one or several evaluation reports, on one matplotlib figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure


def robustness_curve(
    reports: Sequence[Any], *, labels: Sequence[str] | None = None, axes: Any = None
) -> Figure:
    """One line per report: clean accuracy at eps 0, then robust accuracy (%) at each eps.

    Reports must share a norm (the x axis is one threat model); `labels` default to the models'
    names. Pass `axes` to draw into an existing figure.
    """
    if len(reports) == 0:
        raise ValueError("robustness_curve needs at least one report")
    norms = {r.config.get("norm") for r in reports}
    if len(norms) > 1:
        raise ValueError(f"the reports use different norms {sorted(map(str, norms))}; plot them separately")
    if labels is not None and len(labels) != len(reports):
        raise ValueError(f"got {len(labels)} labels for {len(reports)} reports")
    if axes is None:
        figure = Figure(figsize=(5, 3.5), layout="constrained")
        axes = figure.add_subplot()
    else:
        figure = axes.figure
    for i, report in enumerate(reports):
        xs = [0.0, *report.eps]
        ys = [100 * report.clean_accuracy, *(100 * r for r in report.robust_accuracy)]
        label = labels[i] if labels is not None else report.model
        axes.plot(xs, ys, "-o", markersize=3, label=f"{label} (n={report.n})")
    axes.set_xlabel(f"eps ({norms.pop()})")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure
