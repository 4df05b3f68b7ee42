"""The demo's transfer figure: the attacked dog shown to a second model, PGD against MI-FGSM."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from advcat.attacks.result import AttackResult
from advcat.demo.state import Demo
from advcat.viz.page import Entry

CAPTION = (
    "The same dog attacked on the embedded model with plain PGD and with a transfer attack "
    "(momentum + input diversity), then shown to EfficientNet-Lite2 at its own 260 px "
    "preprocessing, which the lesson got wrong. Both attacks use the same budget."
)
TARGET = "Siamese cat"


def transfer(demo: Demo, x: Tensor, y: Tensor) -> None:
    """Single-model PGD vs MI-FGSM with input diversity, both judged by EfficientNet-Lite2."""
    from advcat.viz.gallery import gallery

    s = demo.settings
    runs = _attacks(demo, x, y)
    numbers, titles, files = _judged(demo, runs, y)
    clean = demo.probs(demo.second, x)
    numbers["clean: Lite2 prediction"] = demo.name(int(clean[0].argmax()))
    numbers["clean: Lite2 p(Siamese cat)"] = float(clean[0, _target()])
    figure = gallery(
        torch.cat([x] + [r.adv for r in runs.values()]),
        [f"clean\nLite2: {demo.name(int(clean[0].argmax()))} p={float(clean[0].max()):.2f}"] + titles,
        title=f"Transfer to EfficientNet-Lite2 (linf eps = {s.transfer_eps * 255:.0f}/255)",
    )
    call = (
        f'advcat.attack(model, x, y, method="pgd", eps={s.transfer_eps * 255:.0f}/255, '
        f'steps={s.transfer_steps}, target="Siamese cat")\n'
        f'advcat.attack(model, x, y, method="mifgsm", eps={s.transfer_eps * 255:.0f}/255, '
        f'steps={s.transfer_steps}, target="Siamese cat", diversity=0.7)\n'
        'advcat.transfer_rate(result, advcat.load_model("efficientnet_lite2"))'
    )
    entry = Entry(key="transfer", title="Does the attacked dog fool a second model?",
                  image="transfer.png", caption=CAPTION, call=call, numbers=numbers, files=files)
    demo.add(entry, figure)


def _target() -> int:
    """The ImageNet index of the transfer attacks' target class."""
    import advcat

    index: int = advcat.data.class_index(TARGET)
    return index


def _attacks(demo: Demo, x: Tensor, y: Tensor) -> dict[str, AttackResult]:
    """The dog attacked on the embedded model with plain PGD and with MI-FGSM + input diversity,
    by the name the figure gives each."""
    import advcat

    s = demo.settings
    return {
        "PGD (single model)": advcat.attack(
            demo.model, x, y, method="pgd", eps=s.transfer_eps, steps=s.transfer_steps, target=TARGET
        ),
        "MI-FGSM + input diversity": advcat.attack(
            demo.model,
            x,
            y,
            method="mifgsm",
            eps=s.transfer_eps,
            steps=s.transfer_steps,
            target=TARGET,
            diversity=0.7,
        ),
    }


def _judged(demo: Demo, runs: dict[str, AttackResult],
            y: Tensor) -> tuple[dict[str, Any], list[str], list[str]]:
    """Each attack saved and judged by the second model: the numbers, a title per image, the files."""
    numbers: dict[str, Any] = {"eps (linf)": demo.settings.transfer_eps}
    titles = []
    files: list[str] = []
    target = _target()
    for (name, result), key in zip(runs.items(), ("transfer_pgd", "transfer_mifgsm")):
        files += demo.saved(result, key)
        second = demo.probs(demo.second, result.adv)
        top = int(second[0].argmax())
        numbers[f"{name}: Lite0 fooled"] = bool(result.success[0])
        numbers[f"{name}: Lite2 prediction"] = demo.name(top)
        numbers[f"{name}: Lite2 p(Siamese cat)"] = float(second[0, target])
        numbers[f"{name}: Lite2 no longer sees the dog"] = top != int(y[0])
        titles.append(f"{name}\nLite2: {demo.name(top)} p={float(second[0].max()):.2f}")
    return numbers, titles, files
