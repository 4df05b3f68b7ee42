"""Issue 15, item 3: eps is given at call time, a list of eps gives one result per eps in one
call (points broken at a smaller eps carried over), and attack settings are frozen (`replace`)."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model

import advcat
from advcat.attacks import PGD, Square, make_attack

BUDGETS = [0.02, 0.05, 0.1, 0.2]


@pytest.fixture(scope="module")
def digit_batch() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    _, _, x, y = digits()
    return trained_digits_model(), x[:48], y[:48]


def test_eps_at_call_time_equals_the_attack_built_with_that_eps(digit_batch) -> None:  # noqa: ANN001
    model, x, y = digit_batch
    built = PGD(eps=0.05, steps=5)(model, x, y, seed=3)
    called = PGD(steps=5)(model, x, y, eps=0.05, seed=3)
    assert torch.equal(built.adv, called.adv) and torch.equal(built.success, called.success)
    assert called.eps == 0.05 and called.config["step_size"] == pytest.approx(2.5 * 0.05 / 5)
    assert bool((called.norms <= 0.05 + 1e-6).all())


def test_a_list_of_eps_gives_one_result_per_eps_each_within_its_own_ball(digit_batch) -> None:  # noqa: ANN001
    model, x, y = digit_batch
    results = advcat.attack(model, x, y, method="pgd", eps=[0.1, 0.02, 0.2, 0.05], steps=5)
    assert [r.eps for r in results] == [0.1, 0.02, 0.2, 0.05]
    by_eps = {r.eps: r for r in results}
    for eps, result in by_eps.items():
        assert bool((result.norms <= eps + 1e-6).all())
        assert bool((result.adv >= 0).all() & (result.adv <= 1).all())
        with torch.no_grad():
            assert torch.equal(result.success, model.eval()(result.adv).argmax(1) != y)
    for small, large in zip(sorted(by_eps), sorted(by_eps)[1:]):
        assert bool((by_eps[small].success <= by_eps[large].success).all())  # broken stays broken
        carried = by_eps[small].success
        assert torch.equal(by_eps[large].adv[carried], by_eps[small].adv[carried])
    assert 0 < int(by_eps[0.02].success.sum()) < int(by_eps[0.2].success.sum())


def test_a_sweep_attacks_the_standing_points_as_a_single_call_would(digit_batch) -> None:  # noqa: ANN001
    """Each sample keeps its id, so a point no smaller eps broke gets the very images a single-eps
    call on the whole batch gives it."""
    model, x, y = digit_batch
    small, large = advcat.attack(model, x, y, method="pgd", eps=[0.05, 0.1], steps=5, seed=1)
    alone = advcat.attack(model, x, y, method="pgd", eps=0.1, steps=5, seed=1)
    fresh = ~small.success
    assert bool(fresh.any())
    assert torch.allclose(large.adv[fresh], alone.adv[fresh], atol=1e-6)
    assert torch.equal(large.success[fresh], alone.success[fresh])


def test_a_sweep_where_every_point_falls_early_still_answers_every_eps(digit_batch) -> None:  # noqa: ANN001
    model, x, y = digit_batch
    results = advcat.attack(model, x[:4], y[:4], method="pgd", eps=[0.5, 0.9], steps=10)
    assert len(results) == 2 and results[1].eps == 0.9
    assert bool(results[0].success.all()) and torch.equal(results[1].adv, results[0].adv)


@pytest.mark.parametrize("bad, error, match", [
    ([], ValueError, "empty list"),
    ([0.1, "big"], TypeError, "holds numbers"),
    ([0.1, -0.2], ValueError, "eps"),
])
def test_a_bad_eps_list_is_refused_before_any_work(digit_batch, bad, error, match) -> None:  # noqa: ANN001
    model, x, y = digit_batch
    with pytest.raises(error, match=match):
        advcat.attack(model, x, y, method="pgd", eps=bad, steps=2)


def test_settings_are_frozen_and_replace_makes_a_checked_copy() -> None:
    pgd = PGD(eps=0.1, steps=5)
    with pytest.raises(AttributeError, match="replace"):
        pgd.steps = 50  # type: ignore[misc]
    more = pgd.replace(steps=50)
    assert (more.steps, pgd.steps, more.eps) == (50, 5, 0.1)
    with pytest.raises(TypeError, match="no setting 'stpes'"):
        pgd.replace(stpes=50)
    with pytest.raises(ValueError, match="steps"):
        pgd.replace(steps=0)
    randomized = make_attack("pgd", eps=0.1, eot=4)
    assert randomized.replace(steps=3).eot == 4 and make_attack("pgd").eot == 1


def test_gradient_free_comes_from_the_step_rule() -> None:
    assert Square(eps=0.1).gradient_free and not PGD(eps=0.1).gradient_free
    assert not make_attack("apgd_t").gradient_free and not make_attack("cw").gradient_free
