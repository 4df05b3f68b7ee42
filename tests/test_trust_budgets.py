"""Issue 13, items 8, 9 and 17: eps 0 is a budget, an implausible L-inf eps is refused, and an
unbounded minimum-norm attack flips every point that can be flipped."""

from __future__ import annotations

import warnings

import pytest
import torch
from digits import digits, trained_digits_model

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T


@pytest.fixture(scope="module")
def problem():  # noqa: ANN201
    model = trained_digits_model()
    _, _, x, y = digits()
    return model, x[:8], y[:8]


@pytest.mark.parametrize("method", ["fgsm", "pgd", "mifgsm", "apgd", "square"])
def test_eps_zero_leaves_those_samples_bit_identical(problem, method) -> None:  # noqa: ANN001
    model, x, y = problem
    eps = torch.tensor([0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1])
    res = advcat.attack(model, x, y, method=method, eps=eps)
    assert torch.equal(res.adv[eps == 0], x[eps == 0])
    assert not bool(res.success[eps == 0].any())
    assert float(res.norms[eps > 0].max()) > 0
    assert torch.equal(advcat.attack(model, x, y, method=method, eps=0.0).adv, x)


def test_evaluate_at_eps_zero_reports_the_clean_accuracy(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    report = advcat.evaluate(model, (x, y), eps=[0, 4 / 255], attacks="fast", progress=False, sanity=False)
    assert report.robust_accuracy[0] == report.clean_accuracy


@pytest.mark.parametrize("eps", [8, 255, 1.5, torch.tensor([0.01, 8.0])])
def test_a_linf_eps_above_one_is_refused_with_the_k_over_255_hint(problem, eps) -> None:  # noqa: ANN001
    model, x, y = problem
    with pytest.raises(ValueError, match=r"eps=.*/255.*eps=None"):
        advcat.attack(model, x, y, method="pgd", eps=eps)
    with pytest.raises(ValueError, match=r"/255"):
        advcat.evaluate(model, (x, y), eps=[float(eps.max()) if isinstance(eps, torch.Tensor) else eps])
    with pytest.raises(ValueError, match="eps"):
        T.Linf(eps)


def test_a_large_linf_eps_warns_at_the_callers_line(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    with pytest.warns(UserWarning, match="unusually large L-inf") as caught:
        advcat.attack(model, x, y, method="fgsm", eps=0.2)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advcat.attack(model, x, y, method="fgsm", eps=16 / 255)
        advcat.attack(model, x, y, method="fgsm", norm="l2", eps=2.0)


def test_the_cli_refuses_linf_eps_8(tmp_path, capsys) -> None:  # noqa: ANN001
    from advcat.cli.main import main

    image = advcat.save_image(torch.rand(3, 32, 32), tmp_path / "photo.png")
    assert main(["attack", str(image), "--model", "timm:test_resnet", "--eps", "8"]) == 2
    assert "8/255" in capsys.readouterr().err


def test_a_zero_step_size_given_by_the_user_is_refused_by_its_name(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    with pytest.raises(ValueError, match="step_size"):
        advcat.attack(model, x, y, method="pgd", eps=0.1, step_size=0.0)


@pytest.mark.parametrize("method", ["fmn", "cw"])
def test_unbounded_minimum_norm_attacks_flip_every_point(method) -> None:  # noqa: ANN001
    model = trained_digits_model()
    _, _, x, y = digits()
    res = advcat.attack(model, x[:32], y[:32], method=method, norm="l2")
    assert res.eps is None and bool(res.success.all())
    with torch.no_grad():
        assert torch.equal(model(res.adv).argmax(1) != y[:32], res.success)


def test_optimize_starts_where_it_is_told_projected_into_the_threat(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    start = (x + 0.3).clamp(0, 1)
    res = advcat.optimize(model, x, O.CrossEntropy(y), threat=T.Linf(0.1), step=S.Sign(0.0), steps=1,
                          start=start)
    assert torch.allclose(res.x, x + (start - x).clamp(-0.1, 0.1))
    with pytest.raises(ValueError, match="start"):
        advcat.optimize(model, x, O.CrossEntropy(y), threat=T.Linf(0.1), step=S.Sign(0.01), steps=1,
                        start=start[:2])
