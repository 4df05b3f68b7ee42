"""How big the demo runs: the full settings of the README's first command, and tiny ones for tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSettings:
    """Steps and sizes of every part of the demo."""

    synth_steps: int = 256
    synth_size: int | None = None
    attack_eps: float = 2 / 255
    attack_steps: int = 40
    transfer_eps: float = 8 / 255
    transfer_steps: int = 40
    ig_steps: int = 32
    robust_eps: tuple[float, ...] = (0.25 / 255, 0.5 / 255, 1 / 255, 2 / 255)
    robust_n: int = 20
    robust_steps: int = 50


FULL = DemoSettings()
QUICK = DemoSettings(
    synth_steps=2,
    synth_size=64,
    attack_steps=2,
    transfer_steps=2,
    ig_steps=4,
    robust_eps=(1 / 255,),
    robust_n=3,
    robust_steps=2,
)
