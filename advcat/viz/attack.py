"""Attack panels: original | adversarial | amplified perturbation | top-5 before and after.

One row per sample, built from an AttackResult and the model, so the figure shows exactly the
tensors that were evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from advcat.attacks.result import AttackResult
from advcat.viz.save import PAGE_WIDTH


def _hwc(image: Tensor) -> Tensor:
    image = image.detach().float().cpu().clamp(0, 1)
    return image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]


def amplify(delta: Tensor) -> Tensor:
    """A perturbation mapped to [0, 1] for display: 0.5 is no change, scaled by its largest value."""
    scale = delta.detach().abs().flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (0.5 + 0.5 * delta.detach() / scale).clamp(0, 1)


def amplification(delta: Tensor) -> Tensor:
    """(N,) how many times `amplify` magnifies each perturbation for display (0.5 / max |delta|)."""
    return 0.5 / delta.detach().abs().flatten(1).amax(1).clamp_min(1e-12)


def _budget(result: AttackResult, i: int) -> str:
    size = float(result.norms[i])
    return f"{size * 255:.2f}/255" if result.norm == "linf" else f"{size:.3g}"


def _label(index: int, classes: Sequence[str] | None) -> str:
    name = classes[index] if classes is not None and index < len(classes) else str(index)
    return name if len(name) <= 18 else name[:17] + "…"


def _predicted(probabilities: Tensor, classes: Sequence[str] | None) -> str:
    """"name (p=0.93)": the top class of one sample and the model's probability of it."""
    top = int(probabilities.argmax())
    return f"{_label(top, classes)} (p={float(probabilities[top]):.2f})"


def _original(before: Tensor | None, labels: Tensor, i: int, classes: Sequence[str] | None) -> str:
    """The clean image's title: the model's prediction on it, or its label when no logits are at
    hand (a saved AttackResult keeps the labels but not the clean logits)."""
    if before is None:
        return f"original\nlabel: {_label(int(labels[i]), classes)}"
    return f"original\n{_predicted(before[i], classes)}"


def _bars(
    ax: Axes, probabilities: Tensor, classes: Sequence[str] | None, highlight: set[int], title: str
) -> None:
    top = probabilities.topk(min(5, probabilities.numel()))
    names = [_label(int(i), classes) for i in top.indices]
    colours = ["tab:red" if int(i) in highlight else "tab:blue" for i in top.indices]
    bars = ax.barh(range(len(names))[::-1], top.values.tolist(), color=colours)
    ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=2)
    ax.set_yticks(range(len(names))[::-1], names, fontsize=7)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.5, 1])
    ax.set_xlabel("probability", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=8)


def attack_panel(
    result: AttackResult,
    clean_logits: Tensor | None = None,
    *,
    classes: Sequence[str] | None = None,
    rows: Sequence[int] | None = None,
    title: str | None = None,
) -> Figure:
    """The attack on each selected sample as one row of five panels.

    `clean_logits` are the model's logits on the clean images (`result.x0`);
    without them (a saved result, no model at hand) the "before" bars are left out and the clean
    image is titled with its label instead of the prediction. The bars of the target (or the
    true label) are drawn in red.
    """
    picked = list(range(result.adv.shape[0])) if rows is None else list(rows)
    if not picked:
        raise ValueError("attack_panel needs at least one row")
    columns = 5 if clean_logits is not None else 4
    height = 2.3 * len(picked) + (0.35 if title else 0.0)
    figure = Figure(figsize=(PAGE_WIDTH * 1.5 * columns / 5, height), layout="constrained")
    ratios = [1.2, 1.2, 1.2, 1, 1][:columns]
    axes = figure.subplots(len(picked), columns, squeeze=False, gridspec_kw={"width_ratios": ratios})
    clean = result.x0
    amplified, factors = amplify(result.delta), amplification(result.delta)
    before = None if clean_logits is None else torch.softmax(clean_logits.detach().float().cpu(), 1)
    after = torch.softmax(result.logits.detach().float().cpu(), 1)
    for row, i in enumerate(picked):
        ax = axes[row]
        goal = int(result.target[i]) if result.target is not None else int(result.labels[i])
        verdict = _verdict(result, i, classes)
        for col, (image, text) in enumerate(
            [
                (clean[i], _original(before, result.labels, i, classes)),
                (result.adv[i], f"adversarial: {verdict}\n{_predicted(after[i], classes)}"),
                (amplified[i], f"perturbation, amplified ×{float(factors[i]):.0f}\n"
                               f"{result.norm} norm {_budget(result, i)}"),
            ]
        ):
            ax[col].imshow(_hwc(image), vmin=0, vmax=1, interpolation="nearest")
            ax[col].set_title(text, fontsize=7.5)
            ax[col].set_axis_off()
        if before is not None:
            _bars(ax[3], before[i], classes, {goal}, "top-5 before")
        _bars(ax[columns - 1], after[i], classes, {goal}, "top-5 after")
    if title:
        figure.suptitle(title, fontsize=9)
    return figure


def _verdict(result: AttackResult, i: int, classes: Sequence[str] | None) -> str:
    """What the attack achieved on sample i: a targeted attack names its target, so a changed but
    wrong prediction is not called "not fooled"."""
    if result.target is None:
        return "fooled" if bool(result.success[i]) else "not fooled"
    name = _label(int(result.target[i]), classes)
    return f"{name} {'reached' if bool(result.success[i]) else 'not reached'}"
