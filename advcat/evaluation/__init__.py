"""Robust-accuracy benchmarks: attack cascades, worst case per sample, sanity checks, resumable
and sharded runs, and reports for papers."""

from advcat.evaluation.api import evaluate
from advcat.evaluation.report import Report

__all__ = ["Report", "evaluate"]
