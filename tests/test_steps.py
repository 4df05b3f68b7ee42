"""Step rules: sign, normalized Lp, Adam, momentum and the APGD schedule, with compaction."""

from __future__ import annotations

import math

import pytest
import torch

from advcat import steps as S
from advcat import threats as T
from advcat.steps import StepInfo


def _info(index, t=0, steps=10, score=None, project=None, eps=None) -> StepInfo:
    index = torch.as_tensor(index)
    n = index.shape[0]
    return StepInfo(t=t, steps=steps, index=index,
                    score=torch.zeros(n) if score is None else score,
                    project=project or (lambda z: z), eps=eps)


def test_sign_step_on_a_known_gradient_with_per_sample_alpha():
    step = S.Sign(torch.tensor([0.1, 0.2, 0.3]))
    z = torch.zeros(2, 3)
    grad = torch.tensor([[2.0, -0.5, 0.0], [-1e-9, 3.0, -4.0]])
    info = _info([2, 0])
    out = step.apply(z, step.transform(grad, {}, info), {}, info)
    assert torch.allclose(out, torch.tensor([[0.3, -0.3, 0.0], [-0.1, 0.1, -0.1]]))


def test_normalized_l2_step_has_length_alpha_along_the_gradient():
    step = S.Normalized(0.5, p=2)
    gen = torch.Generator().manual_seed(0)
    z = torch.rand(4, 3, 5, 5, generator=gen)
    grad = torch.randn(4, 3, 5, 5, generator=gen) * torch.tensor([1e-6, 1.0, 10.0, 1e3])[:, None,
                                                                                         None, None]
    grad[3] = 0.0
    info = _info(torch.arange(4))
    move = step.apply(z, step.transform(grad, {}, info), {}, info) - z
    assert torch.allclose(move[:3].flatten(1).norm(dim=1), torch.full((3,), 0.5))
    cosine = torch.nn.functional.cosine_similarity(move[:3].flatten(1), grad[:3].flatten(1))
    assert torch.allclose(cosine, torch.ones(3))
    assert torch.equal(move[3], torch.zeros_like(move[3]))


def test_normalized_l1_step_keeps_the_top_fraction():
    grad = torch.linspace(-1.0, 0.98, 100).roll(37).view(1, 4, 25)
    info = _info([0])
    top = S.Normalized(2.0, p=1, q=0.99)
    move = top.apply(torch.zeros_like(grad), top.transform(grad, {}, info), {}, info).flatten()
    assert int((move != 0).sum()) == 1 and float(move[grad.flatten().abs().argmax()]) == -2.0
    ten = S.Normalized(2.0, p=1, q=0.9)
    move = ten.apply(torch.zeros_like(grad), ten.transform(grad, {}, info), {}, info).flatten()
    largest = set(grad.flatten().abs().topk(10).indices.tolist())
    assert set(move.nonzero().flatten().tolist()) == largest
    assert torch.allclose(move[list(largest)].abs(), torch.full((10,), 0.2))
    assert torch.equal(move.sign()[list(largest)], grad.flatten().sign()[list(largest)])


def test_normalized_inf_equals_sign():
    grad = torch.randn(3, 7, generator=torch.Generator().manual_seed(1))
    info = _info(torch.arange(3))
    z = torch.rand(3, 7)
    a, b = S.Normalized(0.1, p=math.inf), S.Sign(0.1)
    assert torch.equal(a.apply(z, a.transform(grad, {}, info), {}, info),
                       b.apply(z, b.transform(grad, {}, info), {}, info))


def test_adam_first_step_by_hand():
    step = S.Adam(0.1)
    z = torch.tensor([[1.0, 1.0, 1.0]])
    grad = torch.tensor([[2.0, -0.5, 0.0]])
    info = _info([0])
    state = step.init(z, info)
    out = step.apply(z, step.transform(grad, state, info), state, info)
    # m_hat = g and v_hat = g^2 after one step, so the move is lr * g / (|g| + 1e-8)
    expected = torch.tensor([[1.0 + 0.1 * 2.0 / (2.0 + 1e-8), 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1.0]])
    assert torch.allclose(out, expected, atol=1e-7)
    assert torch.allclose(state["m"], torch.tensor([[0.2, -0.05, 0.0]]))
    assert torch.allclose(state["v"], torch.tensor([[0.004, 0.00025, 0.0]]))


def test_adam_ascent_matches_torch_adam_on_the_negated_score():
    gen = torch.Generator().manual_seed(2)
    z0 = torch.rand(3, 2, 4, 4, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, 4, 4, generator=gen, dtype=torch.float64)

    def score(z):
        return (torch.sin(3 * z) * w).flatten(1).sum(1) - (z**2).flatten(1).sum(1)

    param = z0.clone().requires_grad_(True)
    reference = torch.optim.Adam([param], lr=0.05, betas=(0.8, 0.99), eps=1e-6)
    step = S.Adam(0.05, betas=(0.8, 0.99), eps=1e-6)
    z = z0.clone()
    state = step.init(z, _info(torch.arange(3)))
    for t in range(6):
        reference.zero_grad()
        (-score(param).sum()).backward()
        reference.step()
        zg = z.clone().requires_grad_(True)
        grad = torch.autograd.grad(score(zg).sum(), zg)[0]
        info = _info(torch.arange(3), t=t)
        z = step.apply(z, step.transform(grad, state, info), state, info)
    assert torch.allclose(z, param.detach(), atol=1e-10)


def test_momentum_accumulates_l1_normalized_gradients():
    grads = [torch.tensor([[3.0, 0.0]]), torch.tensor([[-1.0, 1.0]])]
    info = _info([0])
    step = S.Momentum(0.1, decay=1.0)
    state = step.init(torch.zeros(1, 2), info)
    step.transform(grads[0], state, info)
    direction = step.transform(grads[1], state, info)
    # g = [1, 0] + [-0.5, 0.5]: the first coordinate keeps its sign against the new gradient
    assert torch.allclose(state["g"], torch.tensor([[0.5, 0.5]]))
    assert torch.equal(direction, torch.tensor([[1.0, 1.0]]))
    assert torch.allclose(step.apply(torch.zeros(1, 2), direction, state, info),
                          torch.tensor([[0.1, 0.1]]))
    half = S.Momentum(0.1, decay=0.5)
    state = half.init(torch.zeros(1, 2), info)
    half.transform(grads[0], state, info)
    assert torch.equal(half.transform(grads[1], state, info), torch.tensor([[0.0, 1.0]]))
    l2 = S.Momentum(0.1, decay=1.0, p=2)
    state = l2.init(torch.zeros(1, 2), info)
    l2.transform(grads[0], state, info)
    assert torch.allclose(l2.transform(grads[1], state, info),
                          torch.tensor([[1.0, 1.0]]) / math.sqrt(2))


def test_apgd_checkpoints_follow_the_paper():
    # p = 0, .22, .41 (+.19), .57 (+.16), .70 (+.13), .80 (+.10), .87 (+.07), .93 (+.06), .99 (+.06)
    assert S.apgd_checkpoints(100) == (22, 41, 57, 70, 80, 87, 93, 99)
    assert S.apgd_checkpoints(1000) == (220, 410, 570, 700, 800, 870, 930, 990)


def _linf_projector(x0, eps, index):
    threat = T.Linf(eps)
    return lambda z: x0 + threat.project(z - x0, x0, index)


def test_apgd_first_two_steps_by_hand():
    eps = 0.1
    x0 = torch.full((1, 4), 0.5)
    project = _linf_projector(x0, eps, torch.arange(1))
    step = S.APGDStep("linf", eps, steps=100)
    g0, g1 = torch.tensor([[1.0, -1.0, 1.0, -1.0]]), torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    info = _info([0], t=0, steps=100, score=torch.tensor([0.0]), project=project)
    state = step.init(x0, info)
    x1 = step.apply(x0, step.transform(g0, state, info), state, info)
    assert torch.allclose(x1, torch.tensor([[0.6, 0.4, 0.6, 0.4]]))   # eta = 2 eps, clipped
    info = _info([0], t=1, steps=100, score=torch.tensor([1.0]), project=project)
    x2 = step.apply(x1, step.transform(g1, state, info), state, info)
    # z = P(x1 + 0.2 g1) = [.6, .6, .4, .4]; x1 + .75 (z - x1) + .25 (x1 - x0) =
    # [.625, .525, .475, .375], projected to the ball [.4, .6]
    assert torch.allclose(x2, torch.tensor([[0.6, 0.525, 0.475, 0.4]]))


def _drive(step, x0, scores, grads, project, t_end, state=None, z=None, t_start=0, index=None):
    """Run the step rule from t_start to t_end - 1 on scripted scores[t] and grads[t]."""
    index = torch.arange(x0.shape[0]) if index is None else index
    z = x0.clone() if z is None else z
    trail = []
    for t in range(t_start, t_end):
        info = _info(index, t=t, steps=100, score=scores[t], project=project)
        if state is None:
            state = step.init(z, info)
        z = step.apply(z, step.transform(grads[t], state, info), state, info)
        trail.append(z)
    return z, state, trail


def test_apgd_halves_eta_and_restarts_from_the_best_point():
    eps, n = 0.1, 2
    x0 = torch.full((n, 6), 0.5)
    project = _linf_projector(x0, eps, torch.arange(n))
    gen = torch.Generator().manual_seed(3)
    grads = [torch.randn(n, 6, generator=gen) for _ in range(100)]
    # sample 0 only falls (condition 1 at w_1 = 22), sample 1 rises at every step
    scores = [torch.tensor([-float(t), float(t)]) for t in range(100)]
    step = S.APGDStep("linf", eps, steps=100)
    z, state, trail = _drive(step, x0, scores, grads, project, t_end=22)
    assert torch.allclose(state["eta"], torch.full((n,), 2 * eps))
    info = _info(torch.arange(n), t=22, steps=100, score=scores[22], project=project)
    before = state["prev"].clone()
    out = step.apply(z, step.transform(grads[22], state, info), state, info)
    assert torch.allclose(state["eta"], torch.tensor([eps, 2 * eps]))
    # sample 0 restarts from its best point x_0 with the direction stored there and half the step
    best, d0 = x0[0], grads[0][0].sign()
    inner = project(torch.stack([best + eps * d0, x0[1]]))[0]
    expected = best + 0.75 * (inner - best) + 0.25 * (best - before[0])
    assert torch.allclose(out[0], project(torch.stack([expected, x0[1]]))[0])
    # sample 1 carries on from z_22 with eta = 2 eps
    inner = project(z + 2 * eps * grads[22].sign())[1]
    expected = z[1] + 0.75 * (inner - z[1]) + 0.25 * (z[1] - before[1])
    assert torch.allclose(out[1], project(torch.stack([x0[0], expected]))[1])


def test_apgd_condition_two_halves_eta_when_the_best_stalls():
    eps, n = 0.1, 2
    x0 = torch.full((n, 3), 0.5)
    project = _linf_projector(x0, eps, torch.arange(n))
    grads = [torch.ones(n, 3)] * 100
    # both rise every step to w_1 = 22 (no halving there), then drop and rise again: 18 rises of
    # 19 steps up to w_2 = 41 (condition 1 fails), below the old best for sample 0 only
    scores = [torch.tensor([float(t), float(t)]) for t in range(23)]
    scores += [torch.tensor([-100.0 + t, -100.0 + t]) for t in range(23, 41)]
    scores += [torch.tensor([-100.0 + 41, 50.0])]
    step = S.APGDStep("linf", eps, steps=100)
    _, state, _ = _drive(step, x0, scores, grads, project, t_end=42)
    assert torch.allclose(state["eta"], torch.tensor([eps, 2 * eps]))
    assert state["reduced"].tolist() == [True, False]


@pytest.mark.parametrize("make", [
    lambda: S.Sign(torch.linspace(0.01, 0.05, 5)),
    lambda: S.Normalized(0.3, p=2),
    lambda: S.Normalized(0.3, p=1, q=0.8),
    lambda: S.Adam(torch.linspace(0.01, 0.05, 5)),
    lambda: S.Momentum(0.02, decay=0.9),
    lambda: S.APGDStep("linf", torch.linspace(0.02, 0.1, 5), steps=30),
    lambda: S.APGDStep("l2", None, steps=30),
], ids=["sign", "l2", "l1", "adam", "momentum", "apgd-linf", "apgd-l2"])
def test_compacting_the_state_equals_running_the_kept_rows_alone(make):
    n, steps, cut = 5, 30, 11
    eps = torch.linspace(0.02, 0.1, n)
    gen = torch.Generator().manual_seed(4)
    x0 = torch.rand(n, 2, 3, 3, generator=gen)
    grads = [torch.randn(n, 2, 3, 3, generator=gen) for _ in range(steps)]
    scores = [torch.randn(n, generator=gen) for _ in range(steps)]
    threat = T.L2(eps)

    def run(rows: torch.Tensor, drop_at: int | None) -> tuple[torch.Tensor, dict]:
        step, index, z, state = make(), rows.clone(), x0[rows].clone(), None
        for t in range(steps):
            if drop_at is not None and t == drop_at:
                keep = torch.tensor([0, 2, 4])
                index, z = index[keep], z[keep]
                state = {k: v[keep] for k, v in state.items()}
            start = x0[index]
            info = StepInfo(t=t, steps=steps, index=index, score=scores[t][index],
                            project=lambda v, s=start, i=index: s + threat.project(v - s, s, i),
                            eps=threat.eps_for(index, z))
            if state is None:
                state = step.init(z, info)
            z = info.project(step.apply(z, step.transform(grads[t][index], state, info), state,
                                        info))
        return z, state

    compacted, state_c = run(torch.arange(n), drop_at=cut)
    alone, state_a = run(torch.tensor([0, 2, 4]), drop_at=None)
    assert torch.allclose(compacted, alone, atol=1e-6)
    assert state_c.keys() == state_a.keys()
    for key in state_c:
        assert torch.allclose(state_c[key].double(), state_a[key].double(), atol=1e-6), key
    assert not torch.allclose(compacted, x0[[0, 2, 4]])


@pytest.mark.parametrize("make, error, match", [
    (lambda: S.Sign(-0.1), ValueError, "alpha"),
    (lambda: S.Sign(float("nan")), ValueError, "alpha"),
    (lambda: S.Sign(torch.ones(2, 2)), ValueError, r"\(N,\)"),
    (lambda: S.Sign("0.1"), TypeError, "alpha"),
    (lambda: S.Normalized(0.1, p=3), ValueError, "p must"),
    (lambda: S.Normalized(0.1, p=1, q=1.0), ValueError, "q must"),
    (lambda: S.Adam(0.0), ValueError, "lr"),
    (lambda: S.Adam(0.1, betas=(1.0, 0.9)), ValueError, "betas"),
    (lambda: S.Momentum(0.1, decay=-1.0), ValueError, "decay"),
    (lambda: S.Momentum(0.1, p=1), ValueError, "p must"),
    (lambda: S.APGDStep("l1", 0.1), ValueError, "linf' or 'l2"),
    (lambda: S.APGDStep("linf", -0.1), ValueError, "eps"),
    (lambda: S.APGDStep("linf", 0.1, rho=0.0), ValueError, "rho"),
    (lambda: S.APGDStep("linf", 0.1, steps=0), ValueError, "steps"),
])
def test_bad_settings_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_apgd_without_any_eps_says_so():
    step = S.APGDStep("linf")
    with pytest.raises(ValueError, match="needs eps"):
        step.init(torch.zeros(1, 3), _info([0]))
    state = step.init(torch.zeros(2, 3), _info([0, 1], eps=torch.tensor([0.1, 0.2])))
    assert torch.allclose(state["eta"], torch.tensor([0.2, 0.4]))
