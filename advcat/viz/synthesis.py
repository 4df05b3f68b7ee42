"""The lesson's recipes side by side: plain pixels, pixels + total variation, the default.

`compare_recipes` runs them and draws one row per recipe and one column per target; the figure
is one call, so a paper can show why the priors matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from torch import Tensor, nn

from advcat.synthesis.recipes import RECIPES
from advcat.synthesis.result import SynthesisResult
from advcat.synthesis.synthesize import ClassTargets, synthesize


def compare_recipes(model: nn.Module, target: ClassTargets, *,
                    recipes: Mapping[str, Mapping[str, Any]] | None = None,
                    **options: Any) -> Figure:
    """Synthesize `target` with each recipe (RECIPES by default) and draw them in a grid.

    `options` (steps, size, seed, progress, ...) go to every `synthesize` call.
    """
    chosen = RECIPES if recipes is None else recipes
    results = {name: synthesize(model, target, **{**options, **recipe})
               for name, recipe in chosen.items()}
    return recipe_figure(results)


def recipe_figure(results: Mapping[str, SynthesisResult], *,
                  judge: Mapping[str, Tensor] | None = None, judge_name: str = "judge",
                  size: float = 2.2) -> Figure:
    """One row per recipe (named by the mapping's keys), one column per image.

    Titles give the optimized model's probability of the target; `judge` adds, per recipe, the
    probabilities (N,) a second model gives the same images (a readability check).
    """
    if not results:
        raise ValueError("no results to draw")
    names = list(results)
    counts = {results[name].images.shape[0] for name in names}
    if len(counts) != 1:
        raise ValueError(f"every recipe must hold the same number of images, got {sorted(counts)}")
    cols = counts.pop()
    figure = Figure(figsize=(size * cols + 1.2, size * len(names) + 0.3), layout="constrained")
    axes = figure.subplots(len(names), cols, squeeze=False)
    for row, name in enumerate(names):
        result = results[name]
        probability = result.probability
        for col in range(cols):
            ax = axes[row, col]
            ax.imshow(result.images[col].detach().float().cpu().permute(1, 2, 0).clamp(0, 1),
                      interpolation="lanczos")
            ax.set_xticks([])
            ax.set_yticks([])
            label = result.names[col] if result.names else ""
            text = label if probability is None else f"{label} p={float(probability[col]):.2f}"
            if judge is not None and name in judge:
                text += f"\n{judge_name}: {float(judge[name][col]):.2f}"
            ax.set_title(text, fontsize=8)
            if col == 0:
                ax.set_ylabel(name, fontsize=10)
    return figure
