"""The adaptive stage on planted gradient masking: five defences around the trained digits CNN that
hide its gradient without making it more robust. Naively (APGD-CE and the sanity attacks) each looks
robust; the adaptive stage must bring it down to about the undefended model's robust accuracy and
name the adaptation that did it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from digits import digits, trained_digits_model

import advcat

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import masking  # noqa: E402

POINTS = 40
#: the adaptive number may exceed the undefended model's by this much (a fraction): the planted
#: defences quantize the input, which changes a few points' margins either way
TOLERANCE = 0.08
#: a masked evaluation looks at least this much more robust than the undefended model
MASKED_GAP = 0.4
MASKING = {
    "quantized input (8 levels)": "bpda",
    "logits x 1e4": "margin",
    "JPEG-like DCT rounding (detached)": "bpda",
    "thermometer code (8 levels)": "bpda",
}


@pytest.fixture(scope="module")
def points() -> tuple[torch.Tensor, torch.Tensor]:
    _, _, x, y = digits()
    return x[:POINTS], y[:POINTS]


@pytest.fixture(scope="module")
def defences() -> dict[str, torch.nn.Module]:
    return masking.planted(trained_digits_model())


@pytest.fixture(scope="module")
def unmasked(points: tuple[torch.Tensor, torch.Tensor]) -> advcat.Report:
    return masking.evaluate(trained_digits_model(), *points)


def _names(report: advcat.Report) -> list[str]:
    assert report.adaptive is not None
    return [a["name"] for a in report.adaptive["adaptations"]]


def test_the_undefended_model_needs_no_adaptation(unmasked: advcat.Report) -> None:
    assert unmasked.warnings == []
    assert unmasked.adaptive is not None and not unmasked.adapted and _names(unmasked) == []
    assert unmasked.robust_accuracy == unmasked.naive_robust_accuracy
    assert unmasked.robust_accuracy[0] < 0.3


@pytest.mark.parametrize("name", list(MASKING))
def test_adaptive_evaluation_unmasks_a_planted_defence(
    name: str, defences: dict[str, torch.nn.Module], points: tuple[torch.Tensor, torch.Tensor],
    unmasked: advcat.Report,
) -> None:
    model = defences[name]
    report = masking.evaluate(model, *points)
    assert report.naive_robust_accuracy is not None and report.adapted
    naive, adaptive = report.naive_robust_accuracy[0], report.robust_accuracy[0]
    honest = unmasked.robust_accuracy[0]
    assert naive >= honest + MASKED_GAP
    assert adaptive <= honest + TOLERANCE
    assert MASKING[name] in _names(report)
    used = next(a for a in report.adaptive["adaptations"] if a["name"] == MASKING[name])
    assert used["broken"][0] >= round((naive - adaptive) * POINTS) // 2
    assert int(report.robust(masking.EPS).sum()) == round(adaptive * POINTS)
    assert all(not m._forward_hooks for m in model.modules())  # the straight-through hooks are gone


def test_a_randomized_defence_gets_eot(
    defences: dict[str, torch.nn.Module], points: tuple[torch.Tensor, torch.Tensor], unmasked: advcat.Report
) -> None:
    """Random resize barely masks this small model (its single-draw gradients still work), but the
    deterministic check fires and EOT runs; the adaptive number is never above the naive one."""
    report = masking.evaluate(defences["random resize and pad"], *points)
    assert report.naive_robust_accuracy is not None
    assert any(w.startswith("deterministic") for w in report.warnings)
    assert "eot" in _names(report)
    assert report.robust_accuracy[0] <= report.naive_robust_accuracy[0]
    assert report.robust_accuracy[0] <= unmasked.robust_accuracy[0] + TOLERANCE


def test_adaptive_false_is_the_naive_evaluation(
    defences: dict[str, torch.nn.Module], points: tuple[torch.Tensor, torch.Tensor]
) -> None:
    model = defences["quantized input (8 levels)"]
    naive = masking.evaluate(model, *points, adaptive=False)
    adapted = masking.evaluate(model, *points)
    assert naive.adaptive is None and naive.naive_robust_accuracy is None
    assert naive.robust_accuracy == adapted.naive_robust_accuracy
    assert adapted.robust_accuracy[0] < naive.robust_accuracy[0]


def test_reports_say_adaptive_plainly(
    defences: dict[str, torch.nn.Module], points: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    report = masking.evaluate(defences["JPEG-like DCT rounding (detached)"], *points)
    assert "adaptive (naive cascade: " in report.summary() and "bpda" in report.summary()
    markdown = report.to_markdown()
    assert "| naive robust accuracy | adaptive robust accuracy |" in markdown
    assert "bpda" in markdown and "[bpda]" in markdown
    assert report.robustbench_line().endswith("advcat fast + adaptive |")
    again = advcat.Report.load(report.save(tmp_path / "report.json"))
    assert again.naive_robust_accuracy == report.naive_robust_accuracy and again.adaptive == report.adaptive


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_adaptive_stage_resumes(
    defences: dict[str, torch.nn.Module], points: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    model = defences["thermometer code (8 levels)"]
    x, y = points
    first = advcat.evaluate(model, (x, y), eps=masking.EPS, attacks="fast", progress=False, batch_size=16,
                            sanity_points=masking.SANITY_POINTS, out=tmp_path)
    assert len(list((tmp_path / "adaptive" / "batches").glob("*.json"))) == 3
    (tmp_path / "adaptive" / "batches" / "000001.json").unlink()
    again = advcat.evaluate(model, (x, y), eps=masking.EPS, attacks="fast", progress=False, batch_size=16,
                            sanity_points=masking.SANITY_POINTS, out=tmp_path)
    assert again.to_dict(times=False) == first.to_dict(times=False)
    assert first.robust_accuracy[0] < first.naive_robust_accuracy[0]  # type: ignore[index]
