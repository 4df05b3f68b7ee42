"""The demo's attribution figure: what the network looks at in the clean and the attacked cat."""

from __future__ import annotations

from typing import Any

from advcat.attacks.result import AttackResult
from advcat.demo.state import Demo
from advcat.viz.page import Entry

CAPTION = (
    "Attribution maps for the clean prediction's class on both images, on one colour scale "
    "per method. The rank correlation says how far the imperceptible perturbation moved "
    "the explanation."
)


def attributions(demo: Demo, adversarial: AttackResult) -> None:
    """Integrated gradients and Grad-CAM of the clean and the attacked cat, side by side."""
    from matplotlib.figure import Figure

    import advcat
    from advcat.attribution.overlay import overlay_pair

    s = demo.settings
    clean = adversarial.x0
    numbers: dict[str, Any] = {}
    canvas = Figure(figsize=(9.0, 8.6), layout="constrained")
    methods: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("integrated_gradients", "Integrated gradients", {"n_steps": s.ig_steps}),
        ("gradcam", "Grad-CAM", {}),
    )
    for row, (method, title, options) in enumerate(methods):
        compared = advcat.compare_attributions(demo.model, clean, adversarial.adv, method=method, **options)
        numbers[f"{title}: rank correlation clean vs adversarial"] = float(compared.spearman[0])
        numbers[f"{title}: top-5% pixel overlap"] = float(compared.top_k[0])
        pair = overlay_pair(
            clean, adversarial.adv, compared.clean, compared.adv, titles=("clean cat", "attacked cat")
        )
        ax = canvas.add_subplot(2, 1, row + 1)
        ax.imshow(_rendered(pair))  # the pair's own heading names the method and the class
        ax.set_axis_off()
    call = (
        f'advcat.compare_attributions(model, x, result.adv, method="integrated_gradients", '
        f"n_steps={s.ig_steps})\n"
        'advcat.compare_attributions(model, x, result.adv, method="gradcam")'
    )
    entry = Entry(key="attributions", title="What the network looks at, before and after the attack",
                  image="attributions.png", caption=CAPTION, call=call, numbers=numbers)
    demo.add(entry, canvas)


def _rendered(figure: Any) -> Any:
    """A figure drawn to an RGBA pixel array, to place it inside another figure."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())
