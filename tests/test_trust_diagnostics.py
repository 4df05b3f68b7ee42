"""The evaluation's own diagnostics: a masked cross-entropy (logits scaled by 1e4) is flagged in every
mode, a forward that cuts the autograd graph gets a report with an upper-bound warning naming
advcat.bpda, and the doubled-steps check does not fire on an honest model's seed-to-seed noise."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model
from torch import Tensor, nn

import advcat
from advcat.evaluation.sanity import noise_points


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread (no OpenMP barriers)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Scaled(nn.Module):
    """The digits model with its logits times 1e4: softmax saturates, cross-entropy's gradient is zero."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) * 1e4


class Detached(nn.Module):
    """The digits model behind a .detach(): the forward cuts the graph, no gradient reaches the input."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.detach())


def _check(report: advcat.Report, name: str) -> dict:
    return next(c for c in report.checks if c["name"] == name)


@pytest.mark.parametrize("attacks", ["fast", "standard"])
def test_scaled_logits_are_flagged_as_masking_in_every_mode(attacks):
    _, _, x, y = digits()
    report = advcat.evaluate(Scaled(trained_digits_model()), (x, y), eps=[0.1], attacks=attacks, n=30,
                             batch_size=30, sanity_points=30, progress=False)
    check = _check(report, "margin_loss")
    assert check["passed"] is False
    warning = next(w for w in report.warnings if w.startswith("margin_loss"))
    assert "gradient masking" in warning and "cross-entropy" in warning and "apgd_t" in warning
    # the margin attack's breaks count: the saturated model is no longer reported near 100% robust
    assert report.robust_accuracy[0] <= 0.7


@pytest.mark.parametrize("attacks", ["fast", ["apgd_ce", ("square", {"steps": 200})]])
def test_a_forward_that_cuts_the_graph_gets_an_upper_bound_report_naming_bpda(attacks):
    _, _, x, y = digits()
    with pytest.warns(UserWarning, match="advcat.bpda"):
        report = advcat.evaluate(Detached(trained_digits_model()), (x, y), eps=[0.1], attacks=attacks,
                                 n=20, batch_size=20, sanity_points=10, progress=False)
    gradients = next(w for w in report.warnings if w.startswith("gradients"))
    assert "advcat.bpda" in gradients and "UPPER BOUND" in gradients
    assert report.warnings[0] == gradients  # the loudest warning comes first
    rows = {row["name"]: row for row in report.attacks[0]}
    assert rows["apgd_ce"]["broken"] == 0  # the gradient attack could not run: it broke nothing
    if "square" in rows:
        assert rows["square"]["broken"] > 0
        assert report.robust_accuracy[0] < report.clean_accuracy
    else:  # the naive cascade breaks nothing; the adaptive stage (gradient-free, 5000 queries) does
        assert report.naive_robust_accuracy[0] == report.clean_accuracy
        assert report.adapted and report.robust_accuracy[0] < report.clean_accuracy


def test_doubled_steps_check_ignores_an_honest_models_noise():
    _, _, x, y = digits()
    # 41 of 59 points broken with 50 steps, 42 with 100: one point of noise, flagged by a 1-point rule
    report = advcat.evaluate(trained_digits_model(), (x, y), eps=[0.12], attacks=[("apgd_ce", {"steps": 50})],
                             n=60, batch_size=60, sanity_points=60, seed=0, progress=False)
    assert _check(report, "doubled_steps")["passed"] is True
    assert not any(w.startswith(("doubled_steps", "margin_loss")) for w in report.warnings)


def test_noise_bound_scales_with_the_subset_and_the_broken_share():
    assert noise_points(85, 25, 27) > 8  # the 25 vs 27 of 85 is noise
    assert noise_points(85, 25, 45) < 45 - 25  # 20 more points is not
    assert noise_points(10, 0, 1) == 2  # never below two points
