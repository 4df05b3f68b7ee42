"""The demo's first figure: the ideal tabby and zebra, the lesson's plain recipe beside advcat's default."""

from __future__ import annotations

from typing import Any

import torch

from advcat.demo.state import Demo
from advcat.viz.page import Entry

CAPTION = (
    "Top: the lesson's recipe (gradient ascent on raw pixels, no priors). Bottom: advcat's "
    "default (Fourier parameterization, decorrelated colour, transformation robustness, "
    "total variation). p is the embedded model's probability; the Lite2 value comes from a "
    "second model that never took part in the optimization: it measures readability."
)


def ideal_images(demo: Demo) -> None:
    """The ideal tabby and zebra: the lesson's plain recipe beside advcat's default."""
    import advcat
    from advcat.viz.gallery import gallery

    s = demo.settings
    targets = ["tabby", "zebra"]
    default = advcat.synthesize(
        demo.model, targets, steps=s.synth_steps, size=s.synth_size, progress=demo.progress
    )
    plain = advcat.synthesize(
        demo.model,
        targets,
        param="pixel",
        transforms=None,
        tv=0.0,
        steps=s.synth_steps,
        size=s.synth_size,
        progress=demo.progress,
    )
    files = demo.saved(default, "ideal_default") + demo.saved(plain, "ideal_plain")
    numbers, titles = _judged(demo, {"plain": plain, "default": default})
    figure = gallery(
        torch.cat([plain.images, default.images]),
        titles,
        ncols=2,
        title="Ideal class images: plain pixel recipe (top) vs advcat default (bottom)",
    )
    call = (
        f'advcat.synthesize(model, ["tabby", "zebra"], steps={s.synth_steps})\n'
        f'advcat.synthesize(model, ["tabby", "zebra"], param="pixel", transforms=None, '
        f"tv=0.0, steps={s.synth_steps})"
    )
    entry = Entry(key="ideal_images", title="Ideal tabby cat and zebra", image="ideal_images.png",
                  caption=CAPTION, call=call, numbers=numbers, files=files)
    demo.add(entry, figure)


def _judged(demo: Demo, recipes: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each recipe's images scored by the model they were made for and by the second model:
    the numbers for the summary, and one gallery title per image."""
    numbers: dict[str, Any] = {}
    titles = []
    for recipe, result in recipes.items():
        second = demo.probs(demo.second, result.images)
        targets = [] if result.targets is None else [int(t) for t in result.targets]
        for i, target in enumerate(targets):
            p1 = float(result.probs[i, target])
            p2 = float(second[i, target])
            numbers[f"{recipe} {demo.name(target)}: p (Lite0)"] = p1
            numbers[f"{recipe} {demo.name(target)}: p (Lite2, never optimized)"] = p2
            titles.append(f"{recipe}: {demo.name(target)}\np={p1:.2f} (Lite2 {p2:.2f})")
    return numbers, titles
