"""Layout checks for figures that go into papers: no text outside the canvas, no titles on top of
each other. Uses matplotlib's renderer, which gives each text artist its window extent."""

from __future__ import annotations

from itertools import combinations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

SLACK = 1.0  # pixels: antialiasing may reach one pixel past an edge


def _undrawn_tick_labels(figure: Figure) -> set[int]:
    """Tick labels outside the view limits or of axes turned off: visible, but never drawn."""
    hidden: set[int] = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            drawn = {id(tick) for tick in axis._update_ticks()} if ax.axison else set()  # noqa: SLF001
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if id(tick) not in drawn:
                    hidden |= {id(tick.label1), id(tick.label2)}
            if not ax.axison:
                hidden.add(id(axis.label))
    return hidden


def _visible_texts(figure: Figure) -> list[Text]:
    hidden = _undrawn_tick_labels(figure)
    return [t for t in figure.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _headings(figure: Figure) -> list[Text]:
    """Suptitle, axes titles and axis labels: the texts that must never collide."""
    found: list[Text] = []
    if figure._suptitle is not None:  # noqa: SLF001 - matplotlib keeps it there
        found.append(figure._suptitle)  # noqa: SLF001
    for ax in figure.axes:
        found += [ax.title, ax._left_title, ax._right_title]  # noqa: SLF001
        if ax.axison:
            found += [ax.xaxis.label, ax.yaxis.label]
    return [t for t in found if t.get_visible() and t.get_text().strip()]


def layout_problems(figure: Figure) -> list[str]:
    """What is wrong with `figure`'s text layout, as readable lines (empty when it is fine)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = figure.bbox
    problems = []
    for text in _visible_texts(figure):
        box = text.get_window_extent(renderer)
        if (box.x0 < page.x0 - SLACK or box.y0 < page.y0 - SLACK
                or box.x1 > page.x1 + SLACK or box.y1 > page.y1 + SLACK):
            problems.append(f"text {text.get_text()!r} leaves the canvas: {box.bounds} vs {page.bounds}")
    boxes = [(t, t.get_window_extent(renderer)) for t in _headings(figure)]
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        if _overlap(box_a, box_b) > SLACK:
            problems.append(f"{a.get_text()!r} overlaps {b.get_text()!r}")
    return problems


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return min(width, height) if width > 0 and height > 0 else 0.0
