"""Attributions over Captum: one `attribute()` call, comparison of clean vs adversarial maps,
explanation metrics, sanity checks and overlays, in pixel space with the model borrowed."""

from advcat.attribution.api import attribute
from advcat.attribution.compare import Comparison, compare_attributions, compare_maps
from advcat.attribution.methods import METHODS, get_method, method_names
from advcat.attribution.metrics import infidelity, sensitivity
from advcat.attribution.overlay import heatmap_rgb, overlay, overlay_pair
from advcat.attribution.prepare import prepare
from advcat.attribution.result import Attribution
from advcat.attribution.sanity import (
    Completeness,
    Randomization,
    cascading_randomization,
    completeness,
)
from advcat.attribution.similarity import spearman, ssim, top_k_overlap

__all__ = [
    "METHODS", "Attribution", "Comparison", "Completeness", "Randomization", "attribute",
    "cascading_randomization", "compare_attributions", "compare_maps", "completeness",
    "get_method", "heatmap_rgb", "infidelity", "method_names", "overlay", "overlay_pair",
    "prepare", "sensitivity", "spearman", "ssim", "top_k_overlap",
]
