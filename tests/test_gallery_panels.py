"""Issue 14: the figures `advcat gallery` draws from saved results stand alone in a paper.

The attack panel names the clean class and the adversarial prediction with its probability, each
attribution map has a title naming the method and the class and a colour bar, and a synthesis
summary names ImageNet classes instead of printing their indices.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from figure_layout import layout_problems  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import advcat  # noqa: E402
from advcat.attacks.result import AttackResult  # noqa: E402
from advcat.attribution.overlay import overlay_grid  # noqa: E402
from advcat.attribution.result import Attribution  # noqa: E402
from advcat.io_paths import CorruptFileError  # noqa: E402
from advcat.objectives import ClassLogit  # noqa: E402
from advcat.synthesis.result import SynthesisResult  # noqa: E402
from advcat.viz.attack import attack_panel  # noqa: E402
from advcat.viz.gallery import synthesis_titles  # noqa: E402
from advcat.viz.saved import figure_for  # noqa: E402

ZEBRA, TABBY, RETRIEVER = 340, 281, 207  # ImageNet-1k indices, as torchvision lists them


def _texts(figure: Figure) -> str:
    """Every visible text of the figure, whitespace collapsed, in one string."""
    return " | ".join(" ".join(t.get_text().split()) for t in figure.findobj(Text) if t.get_visible())


def _imagenet_attack(n: int = 2) -> AttackResult:
    """A hand-made ImageNet-sized result: labels zebra, the adversarial logits favour tabby."""
    torch.manual_seed(0)
    x = torch.rand(n, 3, 16, 16)
    adv = (x + (torch.rand_like(x) - 0.5) * (8 / 255)).clamp(0, 1)
    logits = torch.zeros(n, 1000)
    logits[:, TABBY] = 5.0
    return AttackResult(
        adv=adv, x0=x, success=torch.ones(n, dtype=torch.bool), logits=logits,
        labels=torch.full((n,), ZEBRA), target=None,
        steps_taken=torch.full((n,), 5), queries=torch.full((n,), 6), method="pgd", norm="linf",
        eps=4 / 255, seed=0,
    )


def _grey_net(classes: int) -> nn.Module:
    """A tiny seeded CNN on 16x16 images with `classes` outputs, wrapped for pixel inputs."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, classes))
    return advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=16)


def _colour_bars(figure: Figure) -> int:
    return sum(1 for ax in figure.axes if hasattr(ax, "_colorbar"))


def test_saved_attack_panel_names_the_clean_label_and_the_adversarial_prediction(tmp_path: Path) -> None:
    result = _imagenet_attack()
    kind, figure, caption = figure_for(Path(result.save(tmp_path / "pgd")))
    assert kind == "AttackResult" and layout_problems(figure) == []
    text = _texts(figure)
    p_tabby = float(torch.softmax(result.logits[0], 0)[TABBY])  # e^5 / (e^5 + 999) = 0.13
    assert "label: zebra" in text
    assert f"tabby (p={p_tabby:.2f})" in text and "tabby (p=0.13)" in text
    assert "clean logits" in caption, "the caption says why no clean probability is shown"


def test_saved_attack_from_a_real_attack_names_its_classes(tmp_path: Path) -> None:
    model = _grey_net(1000)
    x = torch.rand(2, 3, 16, 16)
    result = advcat.attack(model, x, torch.tensor([ZEBRA, RETRIEVER]), method="fgsm", eps=8 / 255)
    _, figure, _ = figure_for(Path(result.save(tmp_path / "fgsm")))
    assert layout_problems(figure) == []
    text = _texts(figure)
    assert "label: zebra" in text and "label: golden retriever" in text
    names = advcat.data.classes.imagenet_classes()
    for i, top in enumerate(result.logits.argmax(1).tolist()):
        p = float(torch.softmax(result.logits[i].float(), 0)[top])
        assert f"{names[top][:17]}" in text and f"(p={p:.2f})" in text


def test_attack_panel_with_clean_logits_shows_the_clean_prediction_and_its_probability() -> None:
    result = _imagenet_attack(1)
    clean = torch.zeros(1, 1000)
    clean[0, ZEBRA] = 7.0
    figure = attack_panel(result, clean, classes=advcat.data.classes.imagenet_classes())
    assert layout_problems(figure) == []
    p_zebra = float(torch.softmax(clean[0], 0)[ZEBRA])
    text = _texts(figure)
    assert f"original zebra (p={p_zebra:.2f})" in text and "label:" not in text
    assert "tabby (p=0.13)" in text


def test_saved_attribution_maps_have_titles_and_colour_bars(tiny_cnn, tmp_path: Path) -> None:  # noqa: ANN001
    x = torch.rand(3, 3, 16, 16)
    attribution = advcat.attribute(tiny_cnn, x, torch.tensor([3, 5, 3]), method="saliency")
    kind, figure, caption = figure_for(attribution.save(tmp_path / "saliency"))
    assert kind == "Attribution" and layout_problems(figure) == []
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert [" ".join(t.split()) for t in titles] == ["saliency for class3 (3)", "saliency for class5 (5)",
                                                     "saliency for class3 (3)"]
    assert _colour_bars(figure) == 3, "one colour bar per map"
    assert any("|attribution|" in ax.get_ylabel() for ax in figure.axes if hasattr(ax, "_colorbar"))
    assert "saliency" in caption


def test_saved_attribution_keeps_its_class_names_and_reads_files_without_them(
        tiny_cnn, tmp_path: Path) -> None:  # noqa: ANN001
    x = torch.rand(2, 3, 16, 16)
    attribution = advcat.attribute(tiny_cnn, x, torch.tensor([4, 7]), method="saliency")
    assert attribution.target_names == ["class4", "class7"]
    assert "class class4, class7" in attribution.summary()
    saved = attribution.save(tmp_path / "named")
    assert Attribution.load(saved).target_names == ["class4", "class7"]
    meta = saved.with_suffix(".json")
    record = json.loads(meta.read_text())
    record.pop("target_names")
    meta.write_text(json.dumps(record))
    assert Attribution.load(saved).target_names is None
    record["target_names"] = ["class4"]
    meta.write_text(json.dumps(record))
    with pytest.raises(CorruptFileError, match="target_names must be 2 strings"):
        Attribution.load(saved)


def test_overlay_grid_names_classes_and_draws_over_the_images_when_given() -> None:
    raw = torch.randn(2, 3, 16, 16)
    attribution = Attribution(raw=raw, map=raw.sum(1, keepdim=True), method="integrated_gradients",
                              target=torch.tensor([ZEBRA, RETRIEVER]), baseline="black")
    names = advcat.data.classes.imagenet_classes()
    figure = overlay_grid(attribution, torch.rand(2, 3, 16, 16), classes=names)
    assert layout_problems(figure) == []
    maps = [ax for ax in figure.axes if not hasattr(ax, "_colorbar")]
    assert [len([a for a in ax.get_children() if isinstance(a, AxesImage)]) for ax in maps] == [2, 2]
    text = _texts(figure)
    assert "integrated gradients for zebra (340)" in text
    assert "integrated gradients for golden retriever (207)" in text
    assert _colour_bars(figure) == 2
    with pytest.raises(ValueError, match="differ in size"):
        overlay_grid(attribution, torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="ncols"):
        overlay_grid(attribution, ncols=0)


def test_synthesis_summary_names_imagenet_classes() -> None:
    probs = torch.full((2, 1000), 1e-4)
    probs[0, ZEBRA], probs[1, TABBY] = 0.9, 0.8
    result = SynthesisResult(images=torch.rand(2, 3, 8, 8), probs=probs, targets=None,
                             history=torch.zeros(3), objective="Channel('conv', 1)", seed=0)
    summary = result.summary()
    assert "top: zebra (p=0.900)" in summary and "top: tabby (p=0.800)" in summary
    assert not re.search(r"top class \d+", summary)
    assert [t.split("\n")[0] for t in synthesis_titles(result)] == ["top: zebra", "top: tabby"]


def test_synthesis_summary_keeps_the_index_where_no_name_is_known() -> None:
    probs = torch.full((1, 10), 0.01)
    probs[0, 7] = 0.91
    result = SynthesisResult(images=torch.rand(1, 3, 8, 8), probs=probs, targets=torch.tensor([2]),
                             history=torch.zeros(3), objective="ClassLogit(2)", seed=0,
                             names=["class 2"])
    assert "class 2: p=0.010, top: class 7 (p=0.910)" in result.summary()


def test_synthesize_names_the_class_in_objective_and_summary() -> None:
    model = _grey_net(1000)
    result = advcat.synthesize(model, ["zebra", TABBY], param="pixel", transforms=None, steps=2,
                               progress=False)
    assert result.objective == "ClassLogit(zebra, tabby)"
    summary = result.summary()
    assert summary.startswith("ClassLogit(zebra, tabby)") and "zebra: p=" in summary
    assert "tabby: p=" in summary and not re.search(r"top class \d+|y\[\d+\]", summary)


def test_class_objectives_built_from_names_describe_them_plainly() -> None:
    assert ClassLogit("tabby").describe() == "ClassLogit(tabby)"
    assert repr(ClassLogit("golden retriever") - 0.5 * ClassLogit(3)) == \
        "ClassLogit(golden retriever) - 0.5*ClassLogit(3)"
