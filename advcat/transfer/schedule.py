"""The learning-rate schedule: linear warm-up, then cosine decay to zero, as a function of the step.

A pure function of the global step, so a resumed run needs only the step count to continue the
schedule exactly.
"""

from __future__ import annotations

import math


def lr_scale(step: int, total: int, warmup: float) -> float:
    """The factor on each group's base learning rate at optimizer step `step` of `total`.

    The first `warmup` share of the steps ramps up linearly; the rest follows half a cosine.
    """
    if total < 1:
        raise ValueError(f"total steps must be positive, got {total}")
    ramp = int(round(warmup * total))
    if step < ramp:
        return (step + 1) / ramp
    progress = (step - ramp) / max(1, total - ramp)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
