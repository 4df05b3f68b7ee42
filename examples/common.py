"""What every example shares: the `--quick` and `--out` options and the quick mode's small models.

`--quick` runs an example on tiny settings (a few steps, small images, few samples) so the test
suite can run every example in seconds; the numbers it prints then mean nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import advcat
from advcat.models import ModelInfo, PixelModel


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """An argument parser with `--quick` and `--out` (default ./examples-out/NAME)."""
    result = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    result.add_argument("--quick", action="store_true",
                        help="tiny settings (few steps, small images) to check that it runs")
    result.add_argument("--out", type=Path, default=Path("examples-out") / name,
                        help="folder for the images, figures and summary.json")
    return result


def at_size(model: PixelModel, size: int) -> PixelModel:
    """The same network seeing `size` px images (its preprocessing scaled to match).

    The EfficientNets pool globally, so they run at any resolution; quick mode uses this to make
    every forward pass cheap. Their accuracy at 64 px is poor, which is fine for a smoke run.
    """
    info = model.info
    scaled = {**info.to_dict(), "input_size": size, "resize": round(size * info.resize / info.input_size)}
    return PixelModel(model.net, ModelInfo.from_dict(scaled))


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    """Write `summary` as OUT/summary.json and say where."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {out}/ (numbers in {path.name})")
    return path


def load(name: str = advcat.models.DEFAULT_MODEL, *, quick: bool = False, size: int = 64) -> PixelModel:
    """`advcat.load_model(name)`, shrunk to `size` px in quick mode."""
    model = advcat.load_model(name)
    return at_size(model, size) if quick else model
