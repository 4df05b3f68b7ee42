"""Every figure the library draws stands alone in a paper: its text inside the canvas, no title on
another, and the facts a reader needs (units, uncertainty, class names, value labels) on it."""

from __future__ import annotations

import pytest
import torch
from figure_layout import layout_problems
from matplotlib.figure import Figure

from advcat.attacks import AttackResult
from advcat.attribution.overlay import overlay, overlay_pair
from advcat.attribution.result import Attribution
from advcat.evaluation.report import Report
from advcat.synthesis.result import SynthesisResult
from advcat.viz import (
    attack_panel,
    confusion_figure,
    gallery,
    robustness_curve,
    synthesis_gallery,
    training_curves,
)
from advcat.viz.synthesis import recipe_figure

CLASSES = [f"a rather long class name {i}" for i in range(10)]


def _texts(figure: Figure) -> list[str]:
    from matplotlib.text import Text

    return [" ".join(t.get_text().split()) for t in figure.findobj(Text) if t.get_visible()]


def _attack_result(n: int = 2, norm: str = "linf") -> AttackResult:
    torch.manual_seed(0)
    x = torch.rand(n, 3, 24, 24)
    delta = (torch.rand_like(x) - 0.5) * (8 / 255)
    adv = (x + delta).clamp(0, 1)
    logits = torch.randn(n, 10)
    return AttackResult(
        adv=adv, x0=x, success=torch.ones(n, dtype=torch.bool), logits=logits,
        labels=torch.zeros(n, dtype=torch.long), target=torch.full((n,), 3),
        steps_taken=torch.full((n,), 5),
        queries=torch.full((n,), 6), method="pgd", norm=norm, eps=4 / 255, seed=0,
    )


def _report(n: int = 20, norm: str = "linf", name: str = "tiny") -> Report:
    return Report(
        config={"norm": norm, "model": {"name": name}}, versions={}, labels="given", n=n,
        clean_accuracy=0.9, eps=[1 / 255, 2 / 255, 4 / 255, 8 / 255], robust_accuracy=[0.7, 0.5, 0.25, 0.05],
        attacks=[], checks=[], samples={}, seconds={},
    )


def test_robustness_curve_speaks_in_k_over_255_with_a_title_and_an_interval() -> None:
    figure = robustness_curve([_report(), _report(name="other")])
    assert layout_problems(figure) == []
    texts = _texts(figure)
    assert any("/255" in t for t in texts), texts
    assert any("robust accuracy" in t.lower() for t in texts)
    ax = figure.axes[0]
    assert ax.get_title(), "the curve has a title"
    assert ax.collections, "a binomial confidence band is drawn"
    assert any("95%" in t for t in texts), "the band is named in the legend or caption"


def test_robustness_curve_for_l2_keeps_decimals() -> None:
    figure = robustness_curve([_report(norm="l2")])
    assert layout_problems(figure) == []
    assert not any("/255" in t for t in _texts(figure))


def test_attack_panel_labels_bars_and_states_the_amplification() -> None:
    result = _attack_result()
    figure = attack_panel(result, torch.randn(2, 10), classes=CLASSES, title="PGD towards class 3")
    assert layout_problems(figure) == []
    texts = _texts(figure)
    assert any("×" in t or "x" in t and "amplified" in t for t in texts)
    factor = [t for t in texts if "amplified" in t]
    assert factor and any(ch.isdigit() for ch in factor[0]), factor
    assert sum(1 for t in texts if t.endswith("%") or t.startswith("0.")) >= 10, "bars carry their values"


def test_a_targeted_panel_says_whether_the_target_was_reached_not_whether_it_fooled() -> None:
    result = _attack_result()
    missed = AttackResult(**{**vars(result), "success": torch.tensor([True, False])})
    texts = _texts(attack_panel(missed, classes=CLASSES))
    assert layout_problems(attack_panel(missed, classes=CLASSES)) == []
    assert any("adversarial: a rather long cla… reached" in t for t in texts)
    assert any("adversarial: a rather long cla… not reached" in t for t in texts)
    assert not any("fooled" in t for t in texts)


def test_gallery_suptitle_fits_even_when_long() -> None:
    images = torch.rand(3, 3, 16, 16)
    figure = gallery(images, ["tabby", "zebra", "golden retriever"],
                     title="ClassLogit(tabby) - 4.0 * TotalVariation() over a decorrelated Fourier image")
    assert layout_problems(figure) == []


@pytest.mark.parametrize("count", [1, 2])
def test_a_narrow_gallery_wraps_its_suptitle_instead_of_cutting_it(count: int) -> None:
    """The demo's quick ideal-image figure is two images wide under a 70-character title."""
    title = "Ideal class images: plain pixel recipe (top) vs advcat default (bottom)"
    figure = gallery(torch.rand(2 * count, 3, 16, 16), ncols=count, title=title)
    assert layout_problems(figure) == []
    assert " ".join(figure.get_suptitle().split()) == title


def test_synthesis_gallery_and_recipe_figure_fit() -> None:
    probs = torch.softmax(torch.randn(3, 10), 1)
    result = SynthesisResult(images=torch.rand(3, 3, 16, 16), probs=probs, targets=torch.tensor([1, 2, 3]),
                             history=torch.zeros(5), objective="ClassLogit(tabby) - 4 * TotalVariation()",
                             seed=0, names=["tabby", "zebra", "golden retriever"])
    assert layout_problems(synthesis_gallery(result)) == []
    judge = {"default": torch.tensor([0.5, 0.6, 0.7]), "plain": torch.tensor([0.1, 0.2, 0.3])}
    assert layout_problems(recipe_figure({"default": result, "plain": result}, judge=judge)) == []


def test_training_curves_tick_whole_epochs() -> None:
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_acc": 0.5 + e / 10,
                "val_acc": 0.45 + e / 10} for e in (1, 2, 3)]
    figure = training_curves(history)
    assert layout_problems(figure) == []
    for ax in figure.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.parametrize("k", [2, 10, 15])
def test_confusion_matrix_cells_are_readable(k: int) -> None:
    matrix = torch.randint(0, 50, (k, k))
    figure = confusion_figure(matrix, [f"class {i}" for i in range(k)])
    assert layout_problems(figure) == []
    cells = [t for t in figure.axes[0].texts]
    assert len(cells) == k * k
    assert min(t.get_fontsize() for t in cells) >= 8


@pytest.mark.parametrize("normalize", [True, False])
def test_confusion_cell_text_contrasts_with_its_cell(normalize: bool) -> None:
    """Text is white exactly on the dark half of the colour scale, whatever the largest cell is
    (a row-normalized matrix of small shares had white text on pale cells)."""
    matrix = torch.full((4, 4), 10) + torch.eye(4, dtype=torch.long) * (0 if normalize else 90)
    figure = confusion_figure(matrix, ["a", "b", "c", "d"], normalize=normalize)
    image = figure.axes[0].images[0]
    for cell in figure.axes[0].texts:
        shade = image.norm(float(cell.get_text()))
        assert (cell.get_color() == "white") == (shade > 0.5), (cell.get_text(), shade)


def _attribution(n: int = 1) -> Attribution:
    raw = torch.randn(n, 3, 16, 16)
    return Attribution(raw=raw, map=raw.sum(1, keepdim=True), method="integrated_gradients",
                       target=torch.tensor([3] * n), baseline="black",
                       options={"target_names": ["tabby"] * n})


def test_overlays_name_the_class_attributed() -> None:
    attribution = _attribution()
    image = torch.rand(1, 3, 16, 16)
    single = overlay(image, attribution, classes=CLASSES)
    assert layout_problems(single) == []
    assert any(CLASSES[3] in t for t in _texts(single))
    pair = overlay_pair(image, image, attribution, attribution, classes=CLASSES)
    assert layout_problems(pair) == []
    assert any(CLASSES[3] in t for t in _texts(pair))
