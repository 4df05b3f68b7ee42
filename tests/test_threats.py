"""Threat models: exact projections onto ball and box, per-sample eps, seeded random starts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from advcat import threats as T

BOUNDED = [T.Linf, T.L2, T.L1]


def _reference(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, eps: float, p: int) -> np.ndarray:
    """Projection onto {||d||_p <= eps, lo <= d <= hi} by a general solver (SLSQP), for tiny d."""
    def distance(d: np.ndarray) -> float:
        return float(((d - v) ** 2).sum())

    if p == 2:
        ball = {"type": "ineq", "fun": lambda d: eps**2 - d @ d, "jac": lambda d: -2 * d}
        res = minimize(distance, np.zeros_like(v), jac=lambda d: 2 * (d - v), method="SLSQP",
                       bounds=list(zip(lo, hi)), constraints=[ball],
                       options={"ftol": 1e-15, "maxiter": 1000})
        return res.x
    # L1: d = a - b with a, b >= 0 makes the ball a linear constraint sum(a + b) <= eps
    n = v.size

    def split(ab: np.ndarray) -> float:
        return distance(ab[:n] - ab[n:])

    def split_jac(ab: np.ndarray) -> np.ndarray:
        g = 2 * (ab[:n] - ab[n:] - v)
        return np.concatenate([g, -g])

    ball = {"type": "ineq", "fun": lambda ab: eps - ab.sum(), "jac": lambda ab: -np.ones(2 * n)}
    bounds = [(0.0, h) for h in hi] + [(0.0, -low) for low in lo]
    res = minimize(split, np.zeros(2 * n), jac=split_jac, method="SLSQP", bounds=bounds,
                   constraints=[ball], options={"ftol": 1e-15, "maxiter": 1000})
    return res.x[:n] - res.x[n:]


def _cases(n: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random centres (some pixels exactly 0 or 1), candidate deltas of several sizes, radii in
    [0.05, 0.95] (an L-inf radius above 1 is refused; L2 and L1 radii this size still bind)."""
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, dim, generator=gen, dtype=torch.float64)
    edge = torch.rand(n, dim, generator=gen) < 0.2
    x0[edge] = torch.randint(0, 2, (int(edge.sum()),), generator=gen).double()
    scale = torch.tensor([0.05, 0.3, 1.0, 3.0], dtype=torch.float64)[torch.arange(n) % 4]
    v = torch.randn(n, dim, generator=gen, dtype=torch.float64) * scale[:, None]
    eps = 0.05 + 0.9 * torch.rand(n, generator=gen, dtype=torch.float64)
    return x0, v, eps


@pytest.mark.parametrize("threat_cls, p", [(T.L2, 2), (T.L1, 1)])
def test_projection_matches_a_general_solver(threat_cls, p):
    x0, v, eps = _cases(40, 5, seed=1)
    index = torch.arange(40)
    ours = threat_cls(eps).project(v, x0, index)
    for i in range(40):
        lo, hi = (-x0[i]).numpy(), (1 - x0[i]).numpy()
        ref = _reference(v[i].numpy(), lo, hi, float(eps[i]), p)
        d = ours[i]
        assert float(d.norm(p=p)) <= float(eps[i]) + 1e-9
        assert bool((x0[i] + d >= -1e-12).all()) and bool((x0[i] + d <= 1 + 1e-12).all())
        ours_dist = float((d - v[i]).norm())
        assert ours_dist <= float(np.linalg.norm(ref - v[i].numpy())) + 1e-7
        np.testing.assert_allclose(d.numpy(), ref, atol=1e-4)


@pytest.mark.parametrize("threat_cls", BOUNDED)
def test_projection_is_optimal_against_random_feasible_points(threat_cls):
    # the projection P of v onto a convex set C satisfies <v - P, y - P> <= 0 for every y in C
    x0, v, eps = _cases(8, 48, seed=2)
    index = torch.arange(8)
    threat = threat_cls(eps)
    proj = threat.project(v, x0, index)
    gen = torch.Generator().manual_seed(3)
    for _ in range(20):
        guess = torch.randn(8, 48, generator=gen, dtype=torch.float64)
        y = threat.project(guess * torch.rand(8, 1, generator=gen, dtype=torch.float64), x0, index)
        assert bool(((v - proj) * (y - proj)).sum(1).le(1e-9).all())


def _image_cases(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-sized centres with many saturated pixels; dense, sparse and huge steps from starts
    that are exactly zero on the saturated pixels (as after a first projection)."""
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.rand(8, 3, 32, 32, generator=gen, dtype=torch.float64)
    x0[torch.rand(8, 3, 32, 32, generator=gen) < 0.3] = 1.0
    x0[torch.rand(8, 3, 32, 32, generator=gen) < 0.1] = 0.0
    start = 0.01 * torch.randn(8, 3, 32, 32, generator=gen, dtype=torch.float64)
    start[(x0 == 0) | (x0 == 1)] = 0.0
    step = torch.randn(8, 3, 32, 32, generator=gen, dtype=torch.float64)
    sparse = step * (step.abs() > 2.5)
    v = start + torch.cat([0.05 * step[:2], 3.0 * sparse[2:6], 40.0 * step[6:]])
    return x0, v


def test_l2_projection_satisfies_kkt_on_image_sized_inputs():
    # the answer must be clip(s * v) with one s in (0, 1] and length exactly eps
    x0, v = _image_cases(7)
    eps = 0.5
    d = T.L2(eps).project(v, x0, torch.arange(8))
    lo, hi = -x0, 1 - x0
    for i in range(8):
        inside = (d[i] > lo[i] + 1e-9) & (d[i] < hi[i] - 1e-9) & (v[i].abs() > 1e-9)
        scale = d[i][inside] / v[i][inside]
        s = float(scale.median())
        assert 0 < s <= 1 and torch.allclose(scale, torch.full_like(scale, s), atol=1e-9)
        assert torch.allclose(d[i], torch.maximum(torch.minimum(s * v[i], hi[i]), lo[i]),
                              atol=1e-9)
        assert abs(float(d[i].norm()) - eps) < 1e-9


def test_l1_projection_satisfies_kkt_on_image_sized_inputs():
    # the answer must be sign(v) * clip(|v| - lambda, 0, room) with mass exactly eps
    x0, v = _image_cases(8)
    eps = 5.0
    d = T.L1(eps).project(v, x0, torch.arange(8))
    room = torch.where(v > 0, 1 - x0, x0)
    for i in range(8):
        size, part, cap = v[i].abs(), d[i].abs(), room[i]
        assert bool((d[i] * v[i] >= 0).all())
        free = (part > 1e-9) & (part < cap - 1e-9)
        lam = float((size - part)[free].median())
        assert lam > 0 and torch.allclose((size - part)[free], torch.full((int(free.sum()),), lam,
                                          dtype=torch.float64), atol=1e-9)
        assert torch.allclose(part, torch.minimum((size - lam).clamp_min(0), cap), atol=1e-9)
        assert abs(float(part.sum()) - eps) < 1e-9


def test_l2_projection_beats_clipping_after_scaling():
    # x0 at the top of the box in the first pixel: scaling then clipping wastes the budget there
    x0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    v = torch.tensor([[3.0, 1.0]], dtype=torch.float64)
    eps = 0.5
    ours = T.L2(eps).project(v, x0, torch.arange(1))
    scaled = v * eps / v.norm()
    naive = torch.maximum(torch.minimum(scaled, 1 - x0), -x0)
    assert torch.allclose(ours, torch.tensor([[0.0, 0.5]], dtype=torch.float64))
    assert float((ours - v).norm()) < float((naive - v).norm()) - 0.05


def test_linf_projection_is_the_coordinate_clamp():
    x0 = torch.tensor([[0.0, 0.5, 0.98, 1.0]])
    v = torch.tensor([[-0.3, 0.02, 0.3, -0.5]])
    out = T.Linf(0.1).project(v, x0, torch.arange(1))
    assert torch.allclose(out, torch.tensor([[0.0, 0.02, 0.02, -0.1]]))


@pytest.mark.parametrize("threat_cls", BOUNDED)
def test_projection_feasible_and_idempotent_in_float32(threat_cls):
    gen = torch.Generator().manual_seed(4)
    x0 = torch.rand(6, 3, 8, 8, generator=gen)
    x0[:, 0, :2] = 1.0
    x0[:, 1, :2] = 0.0
    eps = {T.Linf: 8 / 255, T.L2: 0.5, T.L1: 12.0}[threat_cls]
    threat = threat_cls(eps)
    index = torch.arange(6)
    for scale in (0.01, 0.3, 5.0):
        v = torch.randn(6, 3, 8, 8, generator=gen) * scale
        d = threat.project(v, x0, index)
        assert d.dtype == torch.float32 and d.shape == v.shape
        assert bool((threat.norm(d) <= eps + 1e-6).all())
        assert float((x0 + d).min()) >= 0.0 and float((x0 + d).max()) <= 1.0
        assert torch.allclose(threat.project(d, x0, index), d, atol=1e-6)


@pytest.mark.parametrize("threat_cls", BOUNDED)
def test_per_sample_eps_follows_the_index(threat_cls):
    eps = torch.tensor([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    index = torch.tensor([5, 0, 3])
    gen = torch.Generator().manual_seed(5)
    x0 = torch.rand(3, 2, 4, 4, generator=gen)
    v = torch.randn(3, 2, 4, 4, generator=gen) * 3
    d = threat_cls(eps).project(v, x0, index)
    for row, i in enumerate(index.tolist()):
        alone = threat_cls(float(eps[i])).project(v[row:row + 1], x0[row:row + 1], torch.arange(1))
        assert torch.allclose(d[row:row + 1], alone, atol=1e-6)
        assert float(threat_cls(eps).norm(d[row:row + 1])) <= float(eps[i]) + 1e-6
        assert float(threat_cls(eps).norm(d[row:row + 1])) >= float(eps[i]) - 1e-4


@pytest.mark.parametrize("threat_cls", [*BOUNDED, T.Unbounded])
def test_random_start_feasible_reproducible_and_batch_independent(threat_cls):
    threat = threat_cls() if threat_cls is T.Unbounded else threat_cls(
        torch.tensor([0.03, 0.5, 1.0, 0.1, 0.2, 0.3, 0.4]))
    gen = torch.Generator().manual_seed(6)
    x0 = torch.rand(7, 3, 5, 5, generator=gen)
    x0[:, :, 0] = 1.0
    index = torch.arange(7)
    start = threat.random_start(x0, index, seed=3, restart=0)
    assert torch.equal(start, threat.random_start(x0, index, seed=3, restart=0))
    assert float((x0 + start).min()) >= 0.0 and float((x0 + start).max()) <= 1.0
    if threat.eps is not None:
        assert bool((threat.norm(start) <= threat.eps_for(index, start) + 1e-6).all())
    alone = threat.random_start(x0[4:5], torch.tensor([4]), seed=3, restart=0)
    assert torch.allclose(alone, start[4:5])
    perm = torch.tensor([6, 2, 4, 0, 1, 5, 3])
    assert torch.allclose(threat.random_start(x0[perm], perm, seed=3, restart=0), start[perm])
    assert not torch.allclose(threat.random_start(x0, index, seed=3, restart=1), start)
    assert not torch.allclose(threat.random_start(x0, index, seed=4, restart=0), start)


@pytest.mark.parametrize("threat_cls", BOUNDED)
def test_random_start_is_uniform_in_the_ball(threat_cls):
    # in 2-D the ball shrunk by 1/sqrt(2) holds half the area of every Lp ball
    n, eps = 400, 0.2
    x0 = torch.full((n, 2), 0.5)
    start = threat_cls(eps).random_start(x0, torch.arange(n), seed=0)
    size = threat_cls(eps).norm(start)
    assert bool((size <= eps + 1e-6).all())
    inner = float((size < eps / math.sqrt(2)).double().mean())
    assert 0.4 < inner < 0.6


def test_unbounded_clips_to_the_box_and_reports_l2():
    threat = T.Unbounded()
    assert threat.eps is None and threat.name == "unbounded"
    x0 = torch.tensor([[0.2, 0.9, 0.5]])
    v = torch.tensor([[-0.5, 0.5, 0.3]])
    d = threat.project(v, x0, torch.arange(1))
    assert torch.allclose(d, torch.tensor([[-0.2, 0.1, 0.3]]))
    assert torch.allclose(threat.norm(d), d.norm(dim=1))
    assert torch.isinf(threat.eps_for(torch.arange(2), d)).all()
    assert repr(threat) == "Unbounded()"


@pytest.mark.parametrize("name, cls", [
    ("linf", T.Linf), ("inf", T.Linf), ("Linf", T.Linf), ("LINF", T.Linf), ("l2", T.L2),
    ("L2", T.L2), ("l1", T.L1), ("none", T.Unbounded), ("unbounded", T.Unbounded),
])
def test_make_threat_names(name, cls):
    eps = None if cls is T.Unbounded else 0.25
    threat = T.make_threat(name, eps)
    assert type(threat) is cls and threat.eps == eps


def test_make_threat_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match="linf.*l2.*l1.*none"):
        T.make_threat("l3", 0.1)
    with pytest.raises(ValueError, match="needs a radius"):
        T.make_threat("l2")
    with pytest.raises(ValueError, match="no radius"):
        T.make_threat("none", 0.1)
    with pytest.raises(TypeError, match="string"):
        T.make_threat(2, 0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("eps, error", [
    (-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    (torch.tensor([0.1, -0.2]), ValueError), (torch.tensor([0.1, float("nan")]), ValueError),
    (torch.ones(2, 2), ValueError), ("0.1", TypeError), (True, TypeError),
])
def test_bad_eps_is_refused(eps, error):
    for cls in BOUNDED:
        with pytest.raises(error, match="eps"):
            cls(eps)


def test_per_sample_eps_must_match_the_batch():
    with pytest.raises(ValueError, match="3 values but the batch has 4"):
        T.L2(torch.tensor([0.1, 0.2, 0.3])).check_batch(4)
    T.L2(torch.tensor([0.1, 0.2, 0.3])).check_batch(3)


@pytest.mark.gpu
@pytest.mark.parametrize("threat_cls", [*BOUNDED, T.Unbounded])
def test_cuda_gives_the_cpu_answer(threat_cls):
    x0, v = _image_cases(9)
    top = 1.0 if threat_cls is T.Linf else 4.0
    threat = threat_cls() if threat_cls is T.Unbounded else threat_cls(
        torch.linspace(0.05, top, 8, dtype=torch.float64))
    index = torch.arange(8)
    on_cpu = threat.project(v, x0, index)
    on_gpu = threat.project(v.cuda(), x0.cuda(), index.cuda())
    assert on_gpu.device.type == "cuda" and torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-9)
    start = threat.random_start(x0.cuda(), index.cuda(), seed=1)
    assert torch.allclose(start.cpu(), threat.random_start(x0, index, seed=1), atol=1e-9)
