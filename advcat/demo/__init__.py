"""The main job: `advcat demo` writes the lesson's figures, done right, into a gallery folder."""

from advcat.demo.pipeline import run_demo
from advcat.demo.settings import FULL, QUICK, DemoSettings
from advcat.viz.page import Entry, write_index

__all__ = ["FULL", "QUICK", "DemoSettings", "Entry", "run_demo", "write_index"]
