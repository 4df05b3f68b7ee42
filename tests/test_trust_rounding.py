"""Saved L2 and L1 images stay within their budget after 8-bit rounding (issue 13, item 19)."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model

import advcat
from advcat.attacks import attack_rounded, make_attack, rounded
from advcat.attacks.result import AttackResult


def _size(norm: str, delta: torch.Tensor) -> torch.Tensor:
    flat = delta.double().flatten(1)
    return flat.norm(dim=1) if norm == "l2" else flat.abs().sum(1)


def _on_lattice(adv: torch.Tensor) -> bool:
    scaled = adv.double() * 255
    return bool(((scaled - scaled.round()).abs() < 1e-4).all())


def _verdict(model: torch.nn.Module, result: AttackResult) -> torch.Tensor:
    with torch.no_grad():
        return model(result.adv).argmax(1) != result.labels


class _Constant(torch.nn.Module):
    """Three classes, class 2 always first."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([0.0, 0.0, 1.0]).expand(x.shape[0], 3) + 0 * x.flatten(1)[:, :1]


# budgets at the 8x8 digits' scale where many samples break and nearest rounding puts about half
# of the images over eps (L1 PGD breaks about 29 of 64 whatever eps; at eps 8 its images sit on
# the box, which is on the grid, so eps 2 is the one that tests the repair)
@pytest.mark.parametrize(("norm", "eps", "broken"), [("l2", 1.0, 48), ("l1", 2.0, 16)])
def test_attack_rounded_keeps_l2_and_l1_images_within_eps_on_the_8_bit_grid(norm, eps, broken):
    model = trained_digits_model()
    _, _, x, y = digits()  # multiples of 1/16: mostly off the 8-bit grid
    x, y = x[:64], y[:64]
    attacker = make_attack("pgd", norm=norm, eps=eps, steps=20)
    first, final, _ = attack_rounded(attacker, model, x, y)
    assert int(first.success.sum()) >= broken
    assert _on_lattice(final.adv)
    sizes = _size(norm, final.adv - x)
    assert bool((sizes <= eps + 1e-9).all()), f"{int((sizes > eps + 1e-9).sum())} over eps"
    assert bool((final.norms <= eps + 1e-5).all())
    assert torch.equal(final.success, _verdict(model, final))
    assert int(final.success.sum()) >= int(first.success.sum()) - 2


@pytest.mark.parametrize(("norm", "eps"), [("l2", 1.0), ("l1", 2.0)])
def test_rounded_repairs_outward_rounding_into_the_ball(norm, eps):
    # rounding every change away from the clean image pushes nearly all samples over eps
    model = trained_digits_model()
    _, _, x, y = digits()
    x, y = x[:32], y[:32]
    res = advcat.attack(model, x, y, method="pgd", norm=norm, eps=eps, steps=10)
    for out in (rounded(model, res, clean=x), rounded(model, res, outward=True, clean=x)):
        assert _on_lattice(out.adv)
        assert bool((_size(norm, out.adv - x) <= eps + 1e-9).all())
        assert torch.equal(out.success, _verdict(model, out))


def test_a_budget_no_8_bit_image_meets_is_never_a_success():
    # a 1x1 image at 0.3/255: its nearest level (0) is 0.3/255 away, every other one farther; the
    # model calls every image class 2, so only the budget can make the saved image unsuccessful
    model = advcat.wrap(_Constant(), mean=[0.0], std=[1.0], input_size=1)
    x = torch.full((1, 1, 1, 1), 0.3 / 255)
    eps = 0.1 / 255
    adv = x + eps
    with torch.no_grad():
        logits = model(adv)
    one = torch.ones(1, dtype=torch.long)
    res = AttackResult(adv=adv, x0=x, success=torch.tensor([True]), logits=logits, labels=one,
                       target=None, steps_taken=one, queries=one, method="pgd",
                       norm="l2", eps=eps, seed=0)
    with pytest.warns(UserWarning, match="no 8-bit image lies within eps"):
        out = rounded(model, res, clean=x)
    assert not bool(out.success[0])
    assert float(out.adv[0, 0, 0, 0]) == 0.0  # the closest 8-bit image there is
