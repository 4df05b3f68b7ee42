"""Composable objectives: per-sample scores the engine maximizes (`from advcat import objectives as O`)."""

from advcat.objectives.base import Objective, Scaled, Sum
from advcat.objectives.classes import DLR, ClassLogit, CrossEntropy, LogProbability, Margin
from advcat.objectives.image import Blur, Lp, TotalVariation
from advcat.objectives.layers import Activation, Channel, Direction, Diversity, Neuron

__all__ = [
    "DLR",
    "Activation",
    "Blur",
    "Channel",
    "Direction",
    "ClassLogit",
    "CrossEntropy",
    "Diversity",
    "LogProbability",
    "Lp",
    "Margin",
    "Neuron",
    "Objective",
    "Scaled",
    "Sum",
    "TotalVariation",
]
