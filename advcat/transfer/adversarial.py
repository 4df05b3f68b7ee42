"""Adversarial training (Madry et al. 2018): every training batch is replaced by its PGD examples.

`adversarial=` takes an advcat attack object (e.g. `advcat.attacks.PGD(eps=2/255, steps=5)`) or a
dict of `advcat.attacks.make_attack` options ({"method": "pgd", "eps": ..., ...}). The attack runs
on the model as it is at that step (in eval mode, per advcat's borrow guard).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from advcat.core.rng import derive_seed

ATTACK_STREAM = 11


def as_attack(adversarial: object) -> Any:
    """An attack object from an attack or a config dict; None stays None."""
    if adversarial is None:
        return None
    from advcat.attacks import Attack, make_attack

    if isinstance(adversarial, Attack):
        return adversarial
    if isinstance(adversarial, dict):
        options = dict(adversarial)
        method = options.pop("method", "pgd")
        return make_attack(method, **options)
    raise TypeError(
        "adversarial= takes an advcat attack (e.g. advcat.attacks.PGD(eps=2/255, steps=5)) or a "
        f"dict of its options with 'method'; got {type(adversarial).__name__}"
    )


def describe(attack: Any) -> dict[str, Any] | None:
    """The attack's settings for the training record."""
    if attack is None:
        return None
    return {"method": attack.name, **attack.config()}


def adversarial_batch(attack: Any, model: nn.Module, images: Tensor, labels: Tensor,
                      *, seed: int, epoch: int, batch: int) -> Tensor:
    """The attack's examples for one batch, seeded by (seed, epoch, batch)."""
    result = attack(model, images, labels, seed=derive_seed(seed, ATTACK_STREAM, epoch, batch))
    adv: Tensor = result.adv
    return adv.detach()
