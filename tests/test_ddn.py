"""DDN (Rony et al. 2019): its step rule, budgets, bookkeeping, reproducibility and strength."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model
from torch import Tensor, nn

import advcat
from advcat import objectives as O
from advcat.attacks import DDN, DDNLoss
from advcat.core.context import Context
from advcat.steps import DDNStep, StepInfo


@pytest.fixture(scope="module")
def problem() -> tuple[nn.Module, Tensor, Tensor]:
    model = trained_digits_model()
    _, _, x, y = digits()
    return model, x[:64], y[:64]


class _Saturated(nn.Module):
    """The digits model with logits scaled by 1e4: the softmax is exactly one-hot in float32, so
    the cross-entropy's gradient is exactly zero and DDN moves along its random directions."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) * 1e4


def _saturated() -> nn.Module:
    return advcat.wrap(_Saturated(trained_digits_model()), mean=[0.0], std=[1.0], input_size=8)


def _info(z: Tensor, x0: Tensor, score: Tensor, t: int = 0, eps: Tensor | None = None) -> StepInfo:
    return StepInfo(t=t, steps=10, index=torch.arange(z.shape[0]), score=score, project=lambda v: v,
                    eps=eps, x0=x0)


def test_the_step_moves_along_the_gradient_and_sets_the_norm_from_the_radius_rule() -> None:
    torch.manual_seed(0)
    x0 = torch.full((3, 1, 4, 4), 0.5)
    z = x0 + 0.01 * torch.randn(3, 1, 4, 4)
    grad = torch.randn(3, 1, 4, 4)
    step = DDNStep(alpha_init=0.1, gamma=0.05, radius_init=0.2)
    info = _info(z, x0, score=torch.tensor([1.0, -1.0, -1.0]), eps=torch.tensor([1.0, 1.0, 0.15]))
    state = step.init(z, info)
    assert torch.allclose(state["radius"], (z - x0).flatten(1).norm(dim=1))  # a start's norm
    out = step.apply(z, step.transform(grad, state, info), state, info)
    delta = (out - x0).flatten(1)
    start = (z - x0).flatten(1).norm(dim=1)
    # adversarial: shrink by 1 - gamma; not: grow by 1 + gamma; a bound caps the radius
    want = torch.minimum(start * torch.tensor([0.95, 1.05, 1.05]), torch.tensor([1.0, 1.0, 0.15]))
    assert torch.allclose(delta.norm(dim=1), want, rtol=1e-5)
    moved = (z - x0).flatten(1) + 0.1 * grad.flatten(1) / grad.flatten(1).norm(dim=1, keepdim=True)
    assert torch.allclose(delta / delta.norm(dim=1, keepdim=True), moved / moved.norm(dim=1, keepdim=True),
                          atol=1e-6)
    at_x0 = step.init(x0, _info(x0, x0, torch.zeros(3)))
    assert torch.equal(at_x0["radius"], torch.full((3,), 0.2))  # radius_init where the start is x0


def test_the_step_anneals_alpha_and_clips_to_the_box() -> None:
    x0 = torch.full((1, 1, 2, 2), 0.5)
    z = x0 + torch.tensor([0.1, 0.0, 0.0, 0.0]).view(1, 1, 2, 2)
    direction = torch.tensor([0.0, 1.0, 0.0, 0.0]).view(1, 1, 2, 2)
    step = DDNStep(alpha_init=1.0, gamma=0.5)
    for t, alpha in ((0, 1.0), (5, 0.505), (10, 0.01)):  # cosine from 1 to 1 / 100 over 10 steps
        state = {"radius": torch.tensor([0.1]), "worst": torch.tensor([1e3])}
        delta = (step.apply(z, direction, state, _info(z, x0, torch.tensor([-1.0]), t=t)) - x0).flatten()
        assert torch.allclose(state["radius"], torch.tensor([0.15]))
        assert torch.allclose(delta.norm(), torch.tensor(0.15))
        assert torch.allclose(delta[1] / delta[0], torch.tensor(alpha / 0.1)), (t, delta)
    state = {"radius": torch.tensor([5.0]), "worst": torch.tensor([1e3])}
    out = step.apply(x0, direction.abs() + 0.5, state, _info(x0, x0, torch.tensor([-1.0])))
    assert torch.equal(out, torch.ones_like(x0))  # the sphere of radius 7.5 lies outside the box


def test_ddns_objective_has_the_margins_value_and_the_cross_entropys_gradient(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    x = x[:6].clone().requires_grad_(True)
    y = y[:6]

    def score(objective: O.Objective) -> tuple[Tensor, Tensor]:
        value = objective(Context(x=x, logits=model(x), index=torch.arange(6), x0=x.detach()))
        return value.detach(), torch.autograd.grad(value.sum(), x)[0]

    value, grad = score(DDNLoss(O.Margin(y), O.CrossEntropy(y)))
    margin, margin_grad = score(O.Margin(y))
    _, ce_grad = score(O.CrossEntropy(y))
    assert torch.equal(value, margin)
    assert torch.allclose(grad, ce_grad) and not torch.allclose(grad, margin_grad)


def test_ddn_refuses_bad_settings_by_name() -> None:
    with pytest.raises(ValueError, match="gamma"):
        DDN(gamma=1.0)
    with pytest.raises(ValueError, match="alpha_init"):
        DDN(alpha_init=0.0)
    with pytest.raises(ValueError, match="radius_init"):
        DDN(radius_init=-1.0)
    with pytest.raises(ValueError, match="l2"):
        DDN(norm="linf")


def test_ddn_within_eps_reports_truthfully(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    x, y = x[:32], y[:32]
    eps = torch.full((32,), 0.5)
    eps[::3] = 0.2
    res = advcat.attack(model, x, y, method="ddn", eps=eps)
    assert float(res.adv.min()) >= 0 and float(res.adv.max()) <= 1
    assert bool((res.norms <= eps + 1e-6).all()), res.norms - eps
    with torch.no_grad():
        assert torch.equal(res.success, model(res.adv).argmax(1) != y)
    assert 0 < int(res.success.sum()) < 32  # the budgets bind: some points hold, some fall
    assert bool(res.success[eps == 0.5].float().mean() > res.success[eps == 0.2].float().mean())


def test_ddn_leaves_the_model_as_it_was(tiny_cnn) -> None:  # noqa: ANN001
    tiny_cnn.train()
    before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
    flags = [p.requires_grad for p in tiny_cnn.parameters()]
    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    res = advcat.attack(tiny_cnn, x, method="ddn", steps=10)
    assert res.norms.max() > 0  # it did attack
    assert tiny_cnn.training and flags == [p.requires_grad for p in tiny_cnn.parameters()]
    assert all(torch.equal(before[k], v) for k, v in tiny_cnn.state_dict().items())


def test_ddn_is_reproducible_and_its_random_directions_follow_the_seed() -> None:
    model = _saturated()
    _, _, x, y = digits()
    x, y = x[:8], y[:8]
    first = advcat.attack(model, x, y, method="ddn", steps=10, seed=0)
    again = advcat.attack(model, x, y, method="ddn", steps=10, seed=0)
    other = advcat.attack(model, x, y, method="ddn", steps=10, seed=1)
    assert bool((first.norms > 0).all())  # a zero gradient still moves the search
    assert torch.equal(first.adv, again.adv)
    assert not torch.equal(first.adv, other.adv)


@pytest.mark.parametrize("saturated", [False, True])
def test_ddn_gives_each_sample_the_same_result_in_any_batch(problem, saturated) -> None:  # noqa: ANN001
    model, x, y = problem
    model = _saturated() if saturated else model
    x, y = x[:20], y[:20]
    whole = advcat.attack(model, x, y, method="ddn", steps=20)
    chunked = advcat.attack(model, x, y, method="ddn", steps=20, batch_size=7)
    assert torch.allclose(whole.adv, chunked.adv, atol=1e-5)
    assert torch.equal(whole.success, chunked.success)
    rows = torch.arange(5, 15)
    part = advcat.attack(model, x[rows], y[rows], method="ddn", steps=20, index=rows)
    assert torch.allclose(whole.adv[rows], part.adv, atol=1e-5)
    assert torch.equal(whole.success[rows], part.success)


def _smallest_pgd_eps(model: nn.Module, x: Tensor, y: Tensor, top: float, rounds: int = 7) -> Tensor:
    """Per sample, the smallest L2 eps on a halving grid below `top` where 20-step PGD-L2 succeeds."""
    broken, holds = torch.full((len(y),), top), torch.zeros(len(y))
    for _ in range(rounds):
        middle = (broken + holds) / 2
        fell = advcat.attack(model, x, y, method="pgd", norm="l2", eps=middle, steps=20).success
        broken = torch.where(fell, middle, broken)
        holds = torch.where(fell, holds, middle)
    return broken


def test_unbounded_ddn_flips_the_points_with_norms_close_to_fmn_and_below_pgd(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    x, y = x[:32], y[:32]
    ddn = advcat.attack(model, x, y, method="ddn")
    fmn = advcat.attack(model, x, y, method="fmn", norm="l2", steps=100)
    assert ddn.eps is None and float(ddn.success.float().mean()) >= 31 / 32
    with torch.no_grad():
        assert torch.equal(ddn.success, model(ddn.adv).argmax(1) != y)
    assert float(ddn.norms.median()) <= 1.1 * float(fmn.norms.median()), (ddn.norms, fmn.norms)
    pgd = _smallest_pgd_eps(model, x, y, top=4.0)
    assert float((ddn.norms / pgd).median()) < 1.0, ddn.norms / pgd


def test_targeted_ddn_reaches_its_targets(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    x, y = x[:24], y[:24]
    target = (y + 3) % 10
    res = advcat.attack(model, x, y, method="ddn", target=target)
    with torch.no_grad():
        predicted = model(res.adv).argmax(1)
    assert torch.equal(res.success, predicted == target)
    assert float(res.success.float().mean()) >= 23 / 24
    # the direction must pull towards the target (pushing away from the label ends 1.4x farther)
    fmn = advcat.attack(model, x, y, method="fmn", norm="l2", steps=100, target=target)
    assert float(res.norms.median()) <= 1.1 * float(fmn.norms.median()), (res.norms, fmn.norms)
