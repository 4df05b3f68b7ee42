"""Attacks as presets over the engine, and the `advcat.attack` front door."""

from advcat.attacks.base import DEFAULT_EPS, Attack
from advcat.attacks.gradient import FGSM, MIFGSM, PGD
from advcat.attacks.registry import METHODS, attack, make_attack
from advcat.attacks.result import AttackResult
from advcat.attacks.transfer import transfer_rate

__all__ = [
    "DEFAULT_EPS",
    "FGSM",
    "METHODS",
    "MIFGSM",
    "PGD",
    "Attack",
    "AttackResult",
    "attack",
    "make_attack",
    "transfer_rate",
]
