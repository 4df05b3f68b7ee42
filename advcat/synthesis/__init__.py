"""Ideal-class images and feature visualization: presets over the engine (`advcat.synthesize`)."""

from advcat.synthesis.presets import (
    channel_atlas,
    deepdream,
    diverse,
    ideal_class,
    visualize_channel,
    visualize_neuron,
)
from advcat.synthesis.recipes import PARAMS, RECIPES
from advcat.synthesis.result import SynthesisResult
from advcat.synthesis.synthesize import synthesize

__all__ = [
    "PARAMS", "RECIPES", "SynthesisResult", "channel_atlas", "deepdream", "diverse", "ideal_class",
    "synthesize", "visualize_channel", "visualize_neuron",
]
