"""Figures for papers: attack panels, galleries, attribution overlays, robustness and training curves.

Each function returns a matplotlib Figure (object API, no global pyplot state); `save_figure`
writes it as PNG, PDF or SVG, and `build_gallery` turns saved results into an HTML page.
"""

from advcat.viz.attack import amplify, attack_panel
from advcat.viz.gallery import gallery, synthesis_gallery
from advcat.viz.page import Entry, write_index
from advcat.viz.robustness import robustness_curve
from advcat.viz.save import COLUMN_WIDTH, PAGE_WIDTH, save_figure
from advcat.viz.saved import build_gallery
from advcat.viz.training import confusion_figure, training_curves

__all__ = [
    "COLUMN_WIDTH", "PAGE_WIDTH", "Entry", "amplify", "attack_panel", "build_gallery",
    "confusion_figure", "gallery", "robustness_curve", "save_figure", "synthesis_gallery",
    "training_curves", "write_index",
]
