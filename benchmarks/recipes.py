"""Ideal-class recipes on 24 ImageNet classes, judged by a model that never saw the optimization.

Each recipe makes one image per class and seed on the embedded EfficientNet-Lite0, all classes of
a seed in one batched run (an image is keyed on its class and replica, so the batch does not
matter); EfficientNet-Lite2 scores every image resized bicubically to its 260 px. Per recipe: the
mean over classes of Lite2's p(target) (each class averaged over the seeds), the worst class, and
seconds per image. Writes a gallery page of the default recipe's images with Lite2's probability
under each, and a channel atlas of one layer.

Run: `.venv/bin/python benchmarks/recipes.py [--steps 128] [--write]`; `--write` replaces this
benchmark's section of benchmarks/RESULTS.md and writes benchmarks/figures/recipes/.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import advcat
from advcat.models import borrowed
from advcat.synthesis import SynthesisResult, channel_atlas, synthesize
from advcat.viz import Entry, figure, save_figure, write_index

sys.path.insert(0, str(Path(__file__).parent))
from results import machine_and_date, write_section  # noqa: E402

TITLE = "## Synthesis: recipes on 24 classes, two seeds, judged by Lite2 (issue 17)"
OUT = Path(__file__).with_name("figures") / "recipes"
#: animals, objects and scenes across ImageNet, the lesson's tabby, Siamese cat and zebra among them
CLASSES = [281, 284, 340, 207, 1, 94, 130, 145, 291, 323, 417, 430, 466, 508, 530, 574, 655, 717,
           779, 817, 948, 970, 980, 985]
RECIPES: dict[str, dict[str, Any]] = {
    "plain (lesson)": {"param": "pixel", "transforms": None, "tv": 0.0},
    "pixel + TV (lesson)": {"param": "pixel", "transforms": None, "tv": 2000.0},
    "default (Fourier, Lucid-style)": {},
    "MACO": {"param": "maco"},
}
ATLAS_LAYER, ATLAS_CHANNELS = "blocks.4", 16


def judge(second: advcat.PixelModel, result: SynthesisResult) -> torch.Tensor:
    """Lite2's probability of each image's target, the images resized bicubically to its input."""
    size = second.info.input_size
    images = F.interpolate(result.images, size=(size, size), mode="bicubic", align_corners=False)
    with borrowed(second), torch.no_grad():
        probs = second(images.clamp(0.0, 1.0)).softmax(1)
    assert result.targets is not None
    return probs[torch.arange(len(result.targets)), result.targets]


def run_recipe(model: advcat.PixelModel, second: advcat.PixelModel, recipe: dict[str, Any],
               seeds: list[int], steps: int) -> tuple[torch.Tensor, float, SynthesisResult]:
    """(seeds, classes) judge probabilities, seconds per image, and the first seed's result."""
    scores, first = [], None
    start = time.perf_counter()
    for seed in seeds:
        result = synthesize(model, CLASSES, steps=steps, seed=seed, progress=False, **recipe)
        scores.append(judge(second, result))
        first = first or result
    assert first is not None
    return torch.stack(scores), (time.perf_counter() - start) / (len(seeds) * len(CLASSES)), first


def page(result: SynthesisResult, scores: torch.Tensor, atlas: SynthesisResult) -> None:
    """The default recipe's images, each titled with Lite2's probability, and the atlas, as PNGs
    and an index page."""
    OUT.mkdir(parents=True, exist_ok=True)
    names = [f"{name}\nLite2 p={float(p):.2f}" for name, p in zip(result.names or [], scores)]
    grid = advcat.viz.gallery(result.images, names, ncols=6, size=2.0,
                              title="Default recipe, seed 0: Lite0 made them, Lite2 judges them")
    save_figure(grid, OUT / "ideal_classes", dpi=60)
    save_figure(figure(atlas, ncols=8), OUT / "atlas", dpi=60)
    write_index(OUT, "Ideal images and a channel atlas", "benchmarks/recipes.py", [
        Entry(key="ideal", title="24 ideal images (default recipe, seed 0)", image="ideal_classes.png",
              caption="Under each image: its class and the judge's (Lite2's) probability of it.",
              call="advcat.synthesize(model, CLASSES, steps=..., seed=0)"),
        Entry(key="atlas", title=f"Channel atlas of {ATLAS_LAYER}, first {ATLAS_CHANNELS} channels",
              image="atlas.png", caption="One image per channel, made in one batched run.",
              call=f"advcat.synthesis.channel_atlas(model, {ATLAS_LAYER!r}, channels={ATLAS_CHANNELS})"),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    model, second = advcat.load_model(), advcat.load_model("efficientnet_lite2")
    load = os.getloadavg()[0]
    rows, default = [], None
    for name in args.recipes:
        scores, per_image, first = run_recipe(model, second, RECIPES[name], args.seeds, args.steps)
        per_class = scores.mean(0)
        worst = int(per_class.argmin())
        rows.append(f"| {name} | {float(per_class.mean()):.3f} | {float(per_class.min()):.3f} "
                    f"({first.names[worst] if first.names else CLASSES[worst]}) | "
                    f"{int((per_class < 0.5).sum())} | {per_image:.1f} |")
        print(rows[-1], flush=True)
        if RECIPES[name] == {}:
            default = (first, scores[0])
    if default is not None:
        page(*default, channel_atlas(model, ATLAS_LAYER, channels=ATLAS_CHANNELS, steps=args.steps,
                                     progress=False))
    text = "\n".join([
        TITLE, "",
        f"- command: `.venv/bin/python benchmarks/recipes.py --steps {args.steps} --write` (seeds "
        f"{', '.join(map(str, args.seeds))}; 224 px; each seed's {len(CLASSES)} classes in one batched run)",
        *machine_and_date(load, "seconds are upper bounds"),
        f"- classes (ImageNet indices): {', '.join(map(str, CLASSES))}",
        "",
        "Lite2's p(target), each class averaged over the seeds: mean over the classes, the worst class, "
        "and how many classes fall below 0.5.",
        "",
        "| recipe | Lite2 mean | Lite2 worst class | classes below 0.5 | seconds per image |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Gallery: `benchmarks/figures/recipes/index.html` (the default recipe's images with Lite2's "
        f"probability, and a channel atlas of {ATLAS_LAYER}).",
        "",
    ])
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
