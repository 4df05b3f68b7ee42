"""The main job: `advcat demo` writes the lesson's figures, done right, into a gallery folder."""

from advcat.demo.page import Entry, write_index
from advcat.demo.pipeline import run_demo
from advcat.demo.settings import FULL, QUICK, DemoSettings

__all__ = ["FULL", "QUICK", "DemoSettings", "Entry", "run_demo", "write_index"]
