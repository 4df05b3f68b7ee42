"""The compiled Triton kernels on a real GPU against their torch twins (run by benchmarks/gpu.py)."""

from __future__ import annotations

import pytest
import torch

import advcat
from advcat import kernels
from advcat.kernels import reference

pytestmark = pytest.mark.gpu


@pytest.fixture
def cuda():
    if not torch.cuda.is_available():
        pytest.fail("the gpu-marked tests need CUDA; deselect them with -m 'not gpu'")
    advcat.set_kernels("triton")
    yield torch.device("cuda")
    advcat.set_kernels("auto")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_linf_and_l2_steps_on_cuda(cuda, dtype):
    g = torch.Generator(device=cuda).manual_seed(0)
    shape = (7, 3, 37, 41)
    x0 = torch.rand(shape, generator=g, device=cuda)
    x = (x0 + 0.05 * torch.randn(shape, generator=g, device=cuda)).clamp(0, 1).to(dtype)
    grad = torch.randn(shape, generator=g, device=cuda).to(dtype)
    x0 = x0.to(dtype)
    alpha = torch.rand(7, device=cuda) * 0.05
    eps = torch.rand(7, device=cuda) * 0.1
    tol = 1e-6 if dtype == torch.float32 else 1e-2
    out = kernels.linf_step(x, grad, x0, alpha, eps)
    assert torch.allclose(out.float(), reference.linf_step(x, grad, x0, alpha, eps).float(), atol=tol)
    delta, norms = kernels.l2_step_clipped(x, grad, x0, alpha)
    ref_delta, ref_norms = reference.l2_step_clipped(x, grad, x0, alpha)
    assert torch.allclose(delta, ref_delta, atol=tol)
    assert torch.allclose(norms, ref_norms, rtol=1e-4, atol=tol)


def test_total_variation_and_best_update_on_cuda(cuda):
    x = torch.rand(5, 3, 33, 35, device=cuda, requires_grad=True)
    kernels.total_variation(x, 1).sum().backward()
    xr = x.detach().clone().requires_grad_(True)
    reference.total_variation(xr, 1).sum().backward()
    assert torch.allclose(x.grad, xr.grad, atol=1e-6)
    best = torch.zeros(9, 3, 33, 35, device=cuda)
    expected = best.clone()
    index = torch.tensor([8, 1, 3, 0, 5], device=cuda)
    better = torch.tensor([True, False, True, True, False], device=cuda)
    kernels.best_update(best, x.detach(), index, better)
    reference.best_update(expected, x.detach(), index, better)
    assert torch.equal(best, expected)


def test_attack_on_cuda_matches_the_torch_backend(cuda):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 30 * 30, 10)).to(cuda)
    model = advcat.wrap(net, input_size=32)
    x = torch.rand(16, 3, 32, 32, device=cuda)
    y = torch.randint(0, 10, (16,), device=cuda)
    fused = advcat.attack(model, x, y, method="pgd", eps=4 / 255, steps=5)
    advcat.set_kernels("torch")
    plain = advcat.attack(model, x, y, method="pgd", eps=4 / 255, steps=5)
    assert torch.allclose(fused.adv, plain.adv, atol=1e-5)
