"""Attacks as presets over the engine, and the `advcat.attack` front door."""

from advcat.attacks.apgd import APGD, APGDCE, APGDDLR, APGDT
from advcat.attacks.base import DEFAULT_EPS, Attack
from advcat.attacks.cw import CW, CWLoss
from advcat.attacks.ddn import DDN, DDNLoss
from advcat.attacks.fmn import FMN
from advcat.attacks.gradient import FGSM, MIFGSM, PGD
from advcat.attacks.registry import METHODS, attack, make_attack
from advcat.attacks.result import AttackResult
from advcat.attacks.rounding import attack_rounded, rounded
from advcat.attacks.square import Square
from advcat.attacks.transfer import transfer_rate

__all__ = [
    "APGD",
    "APGDCE",
    "APGDDLR",
    "APGDT",
    "CW",
    "DDN",
    "DEFAULT_EPS",
    "FGSM",
    "FMN",
    "METHODS",
    "MIFGSM",
    "PGD",
    "Attack",
    "AttackResult",
    "CWLoss",
    "DDNLoss",
    "Square",
    "attack",
    "attack_rounded",
    "make_attack",
    "rounded",
    "transfer_rate",
]
