"""Every Triton kernel against its plain-torch twin, on the CPU under TRITON_INTERPRET=1.

Odd sizes (not multiples of the block), per-sample eps and step sizes, and outputs allocated
full of NaN so that an element the kernel forgets to write shows up.
"""

from __future__ import annotations

import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

import advcat  # noqa: E402
from advcat import kernels  # noqa: E402
from advcat.kernels import reference  # noqa: E402

pytest.importorskip("triton")
SHAPE = (3, 3, 19, 23)  # 1311 elements per sample: one full block of 1024 and a partial one


def _nan_alloc(like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.full(like.shape, float("nan"), dtype=dtype or like.dtype, device=like.device)


@pytest.fixture
def triton_backend(monkeypatch):
    from advcat.kernels import triton_steps, triton_tv

    monkeypatch.setattr(triton_steps, "_alloc", _nan_alloc)
    monkeypatch.setattr(triton_tv, "_alloc", _nan_alloc)
    advcat.set_kernels("triton")
    yield
    advcat.set_kernels("auto")


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(SHAPE, generator=g)
    x = (x0 + 0.05 * torch.randn(SHAPE, generator=g)).clamp(0, 1)
    grad = torch.randn(SHAPE, generator=g)
    grad[0, 0, 0, :5] = 0.0  # sign(0) = 0 must match
    return x, grad, x0


def test_linf_step_matches_the_twin(triton_backend):
    x, grad, x0 = _inputs()
    alpha = torch.tensor([0.01, 0.03, 0.2])
    eps = torch.tensor([0.02, 0.05, 0.0])
    out = kernels.linf_step(x, grad, x0, alpha, eps)
    expected = reference.linf_step(x, grad, x0, alpha, eps)
    assert not bool(out.isnan().any())
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(out[2], x0[2])  # eps 0 keeps the clean image


def test_linf_step_upcasts_bfloat16(triton_backend):
    x, grad, x0 = (t.to(torch.bfloat16) for t in _inputs(1))
    alpha, eps = torch.full((3,), 0.01), torch.full((3,), 0.03)
    out = kernels.linf_step(x, grad, x0, alpha, eps)
    assert out.dtype == torch.bfloat16
    expected = reference.linf_step(x, grad, x0, alpha, eps)
    assert torch.allclose(out.float(), expected.float(), atol=1e-2)


def test_l2_step_matches_the_twin(triton_backend):
    x, grad, x0 = _inputs(2)
    alpha = torch.tensor([0.1, 0.5, 1.0])
    delta, norms = kernels.l2_step_clipped(x, grad, x0, alpha)
    expected_delta, expected_norms = reference.l2_step_clipped(x, grad, x0, alpha)
    assert not bool(delta.isnan().any())
    assert torch.allclose(delta, expected_delta, atol=1e-6)
    assert torch.allclose(norms, expected_norms, atol=1e-5)


def test_best_update_writes_only_better_rows(triton_backend):
    best = torch.zeros(5, *SHAPE[1:])
    x = torch.rand(3, *SHAPE[1:])
    index = torch.tensor([4, 0, 2])
    better = torch.tensor([True, False, True])
    expected = best.clone()
    reference.best_update(expected, x, index, better)
    kernels.best_update(best, x, index, better)
    assert torch.equal(best, expected)
    assert torch.equal(best[4], x[0]) and bool((best[0] == 0).all())


@pytest.mark.parametrize("p", [1, 2])
def test_total_variation_forward_and_backward_match_the_twin(triton_backend, p):
    x = torch.rand(SHAPE, generator=torch.Generator().manual_seed(3))
    weights = torch.tensor([1.0, -2.0, 0.5])
    xa = x.clone().requires_grad_(True)
    value = kernels.total_variation(xa, p)
    (value * weights).sum().backward()
    xb = x.clone().requires_grad_(True)
    expected = reference.total_variation(xb, p)
    (expected * weights).sum().backward()
    assert torch.allclose(value, expected, atol=1e-5)
    assert not bool(xa.grad.isnan().any())
    assert torch.allclose(xa.grad, xb.grad, atol=1e-6)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_engine_gives_the_same_attack_with_either_backend(norm):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 17 * 21, 5))
    model = advcat.wrap(net, input_size=19)
    x = torch.rand(SHAPE, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([0, 1, 2])
    eps = torch.tensor([0.02, 0.05, 0.1]) if norm == "linf" else torch.tensor([0.2, 0.5, 1.0])
    plain = advcat.attack(model, x, y, method="pgd", norm=norm, eps=eps, steps=3)
    advcat.set_kernels("triton")
    try:
        fused = advcat.attack(model, x, y, method="pgd", norm=norm, eps=eps, steps=3)
    finally:
        advcat.set_kernels("auto")
    assert torch.allclose(plain.adv, fused.adv, atol=1e-5)
    assert torch.equal(plain.success, fused.success)


def test_unknown_backend_and_cpu_without_interpreter_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="unknown kernel backend"):
        advcat.set_kernels("cuda")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    advcat.set_kernels("triton")
    try:
        with pytest.raises(RuntimeError, match="CUDA tensors"):
            kernels.linf_step(*_inputs(), torch.ones(3), torch.ones(3))
    finally:
        advcat.set_kernels("auto")
