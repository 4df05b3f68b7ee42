"""Issue 13, items 7 and 18 (EOT): random transforms are drawn per sample, so no result depends on
the batch; `eot=k` averages k forward passes per step wherever attacks run."""

from __future__ import annotations

import pytest
import torch
from digits import digits, trained_digits_model
from torch import Tensor, nn

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T


@pytest.fixture(scope="module")
def problem():  # noqa: ANN201
    model = trained_digits_model()
    _, _, x, y = digits()
    return model, x[:6], y[:6]


def _jitter(image: Tensor) -> Tensor:
    """A random transform: brightness noise of one random strength per call."""
    return (image + 0.05 * torch.rand(1) * torch.randn_like(image)).clamp(0, 1)


def test_input_diversity_gives_a_sample_the_same_attack_in_any_batch(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    whole = advcat.attack(model, x, y, method="mifgsm", eps=8 / 255, diversity=1.0, steps=5)
    alone = advcat.attack(model, x[3:4], y[3:4], method="mifgsm", eps=8 / 255, diversity=1.0, steps=5,
                          index=torch.tensor([3]))
    chunked = advcat.attack(model, x, y, method="mifgsm", eps=8 / 255, diversity=1.0, steps=5, batch_size=4)
    assert torch.equal(whole.adv[3:4], alone.adv)
    assert torch.equal(whole.adv, chunked.adv)


def test_optimize_transforms_do_not_depend_on_batch_size_or_order(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    run = dict(threat=T.Linf(8 / 255), step=S.Sign(2 / 255), steps=4, transforms=_jitter)
    whole = advcat.optimize(model, x, O.CrossEntropy(y), **run)  # type: ignore[arg-type]
    single = advcat.optimize(model, x, O.CrossEntropy(y), batch_size=1, **run)  # type: ignore[arg-type]
    order = torch.tensor([5, 4, 3, 2, 1, 0])
    reversed_ = advcat.optimize(model, x[order], O.CrossEntropy(y[order]), index=order, **run)  # type: ignore[arg-type]
    assert torch.equal(whole.x, single.x)
    assert torch.equal(whole.x[order], reversed_.x)


def test_synthesis_of_a_target_is_the_same_alone_and_in_a_batch(tiny_cnn) -> None:  # noqa: ANN001
    alone = advcat.synthesize(tiny_cnn, [3], steps=6, size=16, progress=False)
    batch = advcat.synthesize(tiny_cnn, [3, 5, 7], steps=6, size=16, progress=False)
    # the same transforms and start; what remains is float rounding of a batched forward pass
    # (a batch-wide draw differed by up to 0.48 per pixel here)
    assert float((alone.images[0] - batch.images[0]).abs().max()) < 1e-4
    middle = advcat.synthesize(tiny_cnn, 5, steps=6, size=16, progress=False)
    later = advcat.synthesize(tiny_cnn, [7, 9, 5], steps=6, size=16, progress=False)
    assert float((middle.images[0] - batch.images[1]).abs().max()) < 1e-4  # not its position
    assert float((later.images[2] - batch.images[1]).abs().max()) < 1e-4


def test_each_image_of_one_class_is_its_own_and_the_kth_is_the_same_however_asked(tiny_cnn) -> None:  # noqa: ANN001
    twice = advcat.synthesize(tiny_cnn, [3, 3], steps=4, size=16, progress=False)
    pair = advcat.synthesize(tiny_cnn, 3, n=2, steps=4, size=16, progress=False)
    assert float((twice.images[0] - twice.images[1]).abs().max()) > 1e-3
    assert float((twice.images - pair.images).abs().max()) < 1e-4


class _Noisy(nn.Module):
    """A randomized defense: Gaussian noise on the input of every forward pass."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x + 0.3 * torch.randn_like(x)).clamp(0, 1))


def test_eot_averages_k_passes_per_step_and_is_counted(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    noisy = _Noisy(model)
    one = advcat.attack(noisy, x, y, method="pgd", eps=8 / 255, steps=3)
    four = advcat.attack(noisy, x, y, method="pgd", eps=8 / 255, steps=3, eot=4)
    assert int(one.queries.max()) == 4 and int(four.queries.max()) == 16
    assert four.config.get("eot") == 4 and "eot" not in one.config
    assert float(four.norms.max()) <= 8 / 255 + 1e-6
    with pytest.raises(ValueError, match="eot"):
        advcat.attack(noisy, x, y, method="pgd", eot=0)


def test_evaluate_takes_eot_in_an_attacks_options(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    report = advcat.evaluate(_Noisy(model), (x, y), eps=[8 / 255], attacks=[("pgd", {"steps": 2, "eot": 3})],
                             progress=False, sanity=False)
    assert 0.0 <= report.robust_accuracy[0] <= 1.0


def test_the_randomness_warning_gives_advice_that_runs(problem) -> None:  # noqa: ANN001
    model, x, y = problem
    report = advcat.evaluate(_Noisy(model), (x, y), eps=[8 / 255], attacks="fast", progress=False)
    advice = next(c["message"] for c in report.checks if c["name"] == "deterministic")
    assert "eot" in advice
    followed = advcat.evaluate(_Noisy(model), (x, y), eps=[8 / 255], progress=False, sanity=False,
                               attacks=[("apgd_ce", {"eot": 2, "steps": 2}),
                                        ("apgd_t", {"eot": 2, "steps": 2})])
    assert followed.robust_accuracy[0] <= followed.clean_accuracy
