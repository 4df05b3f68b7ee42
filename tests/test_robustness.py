"""The kornia transformation-robustness stack: shapes, seeding, gradients, lazy kornia import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from advcat.transforms import Robustness


def _seeded(stack, x, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return stack(x)


@pytest.mark.parametrize("options", [{}, {"color": True, "blur": True}])
def test_output_keeps_the_shape_and_differs_per_draw(options):
    stack = Robustness(**options)
    x = torch.rand(3, 3, 20, 28)
    out = _seeded(stack, x)
    assert out.shape == x.shape
    assert torch.equal(out, _seeded(stack, x))
    assert not torch.allclose(out, _seeded(stack, x, seed=1))
    assert not torch.allclose(out, x)


def test_gradient_through_the_default_stack_is_exact():
    stack = Robustness(pad=0.3, jitter=0.15, scale=(0.9, 1.1), degrees=10.0)
    x = torch.rand(2, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: _seeded(stack, v), (x,), eps=1e-6, atol=1e-5,
                                    fast_mode=True)


def test_gradient_flows_through_colour_jitter_and_blur():
    stack = Robustness(color=True, blur=True)
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    _seeded(stack, x)[:, 1].sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())
    assert float(x.grad.abs().sum(dim=(1, 2, 3)).min()) > 0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="pad"):
        Robustness(pad=-0.1)
    with pytest.raises(ValueError, match="fraction"):
        Robustness(jitter=12)
    with pytest.raises(ValueError, match="scale"):
        Robustness(scale=(1.2, 0.9))
    with pytest.raises(ValueError, match="degrees"):
        Robustness(degrees=-3)


def test_importing_transforms_does_not_import_kornia():
    code = "import sys, advcat.transforms; assert 'kornia' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_fast_warp_equals_kornias_own_random_affine():
    stack = Robustness(pad=0.0, jitter=0.1, scale=(0.8, 1.2), degrees=15.0)
    x = torch.rand(3, 3, 30, 40)
    ours = _seeded(stack, x)
    kornia_affine = stack._affine(30, 40, round(0.1 * 40))
    assert torch.allclose(ours, _seeded(kornia_affine, x), atol=1e-4)
