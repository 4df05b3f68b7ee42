"""Every public entry point works inside torch.no_grad() and torch.inference_mode(), giving the
same result as outside (issue 13, item 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T
from advcat.transfer import finetune

MODES: dict[str, Callable[[], Any]] = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


def _images(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _calls(model: advcat.PixelModel) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """One call per entry point, each reduced to a tensor to compare."""
    y = torch.tensor([0, 1, 2, 3])
    return {
        "attack_pgd": lambda x: advcat.attack(model, x, y, method="pgd", eps=4 / 255, steps=3).adv,
        "attack_apgd_t": lambda x: advcat.attack(model, x, y, method="apgd_t", eps=4 / 255, steps=3,
                                                 n_target_classes=2).adv,
        "attack_cw": lambda x: advcat.attack(model, x, y, method="cw", norm="l2", eps=0.5, steps=3,
                                             search_steps=1).adv,
        "optimize": lambda x: advcat.optimize(model, x, O.CrossEntropy(y), threat=T.Linf(4 / 255),
                                              step=S.Sign(1 / 255), steps=3).x,
        "synthesize": lambda x: advcat.synthesize(model, target=[1, 2], steps=3, size=16,
                                                  transforms=None).images,
        "evaluate": lambda x: torch.tensor(advcat.evaluate(
            model, (x, y), eps=4 / 255, attacks=[("pgd", {"steps": 3})], progress=False,
            sanity=False).robust_accuracy),
        "attribute": lambda x: advcat.attribute(model, x, target=y, method="saliency").map,
    }


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("entry", ["attack_pgd", "attack_apgd_t", "attack_cw", "optimize", "synthesize",
                                   "evaluate", "attribute"])
def test_entry_point_gives_the_same_result_inside_a_grad_mode(tiny_cnn, entry: str, mode: str) -> None:  # noqa: ANN001
    call = _calls(tiny_cnn)[entry]
    outside = call(_images())
    with MODES[mode]():
        inside = call(_images())
    assert torch.equal(inside.clone(), outside)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_finetune_gives_the_same_model_inside_a_grad_mode(tiny_cnn, mode: str) -> None:  # noqa: ANN001
    def run() -> torch.Tensor:
        images = torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(2))
        labels = torch.arange(12) % 3
        tuned = finetune(tiny_cnn, (images, labels), (images[:6], labels[:6]), strategy="full", epochs=1,
                         batch_size=6, augment=None, cache_features=False, progress=False, image_size=16,
                         adversarial={"method": "pgd", "eps": 2 / 255, "steps": 2})
        return torch.cat([p.detach().flatten() for p in tuned.model.parameters()])

    outside = run()
    with MODES[mode]():
        inside = run()
    assert torch.equal(inside.clone(), outside)
