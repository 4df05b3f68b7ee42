"""Figures for papers: attack panels, galleries, attribution overlays, robustness and training curves.

Each function returns a matplotlib Figure (object API, no global pyplot state); `figure(result)`
draws any advcat result with the function for its type (results themselves never import viz),
`save_figure` writes a figure as PNG, PDF or SVG, and `build_gallery` turns saved results into an
HTML page.
"""

from advcat.viz.attack import amplify, attack_panel
from advcat.viz.dispatch import confusion, curves, figure
from advcat.viz.gallery import gallery, synthesis_gallery
from advcat.viz.page import Entry, write_index
from advcat.viz.robustness import robustness_curve
from advcat.viz.save import COLUMN_WIDTH, PAGE_WIDTH, save_figure
from advcat.viz.saved import build_gallery
from advcat.viz.training import confusion_figure, training_curves

__all__ = [
    "COLUMN_WIDTH", "PAGE_WIDTH", "Entry", "amplify", "attack_panel", "build_gallery", "confusion",
    "confusion_figure", "curves", "figure", "gallery", "robustness_curve", "save_figure", "synthesis_gallery",
    "training_curves", "write_index",
]
