"""`advcat demo`: the lesson's figures done right, on the embedded model, offline.

This module orders the parts (one module per figure: ideal, attack, transfer, robustness,
attributions) and names the index page. Each part writes its figure and tensors as soon as it is
done and refreshes index.html and summary.json, so an interrupted demo keeps everything finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from advcat.attacks.result import AttackResult
from advcat.demo.attack import cat_into_dog, dog_into_cat
from advcat.demo.attributions import attributions
from advcat.demo.ideal import ideal_images
from advcat.demo.robustness import robustness
from advcat.demo.settings import FULL, QUICK
from advcat.demo.state import Demo
from advcat.demo.transfer import transfer

TITLE = "advcat demo: the transfer-learning lesson, measured"
INTRO = (
    "Every image here is the exact tensor that was evaluated, saved losslessly. Models take [0, 1] "
    "pixels with normalization inside, so every epsilon is in pixels (of 1). Model: embedded "
    "EfficientNet-Lite0 (ImageNet); second model for transfer and readability: EfficientNet-Lite2."
)


def run_demo(
    out: str | Path = "advcat-demo",
    *,
    quick: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Run every part of the demo into `out`; returns the path of its index.html."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    demo = Demo(folder, QUICK if quick else FULL, progress, title=TITLE, intro=INTRO)
    cat: list[AttackResult] = []  # the attacked cat, whose attributions come last
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("ideal tabby and zebra", lambda: ideal_images(demo)),
        ("cat attacked into a golden retriever", lambda: cat.append(cat_into_dog(demo))),
        ("dog attacked into a cat, and transfer", lambda: transfer(demo, *dog_into_cat(demo))),
        ("robustness curve", lambda: robustness(demo)),
        ("attributions of the clean and attacked cat", lambda: attributions(demo, cat[0])),
    ]
    started = time.perf_counter()
    for number, (name, part) in enumerate(parts, 1):
        log(f"[{number}/{len(parts)}] {name} ...")
        part()
    demo.summary["seconds"] = round(time.perf_counter() - started, 1)
    demo.flush()
    index = folder / "index.html"
    log(f"done in {demo.summary['seconds']:.0f} s: open {index.resolve()}")
    return index
