"""Saving figures at paper sizes with one style: the formats a paper needs, fonts embedded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

#: widths in inches of a single column and a full page in common two-column templates
COLUMN_WIDTH = 3.5
PAGE_WIDTH = 7.0
FORMATS = ("png", "pdf", "svg")


def save_figure(
    figure: Figure, path: str | Path, *, formats: Sequence[str] = ("png",), dpi: int = 150
) -> list[Path]:
    """Write `figure` as PATH.<format> for each format; returns the written paths."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown figure formats {unknown}; expected some of {FORMATS}")
    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix.lstrip(".") in FORMATS else stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = stem.with_name(f"{stem.name}.{fmt}")
        figure.savefig(target, dpi=dpi, metadata={"Software": "advcat"} if fmt == "png" else None)
        written.append(target)
    return written
