"""Transfer: how many adversarial images made on one model also fool another."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from advcat.attacks.result import AttackResult
from advcat.core.criteria import goal_reached
from advcat.models.guard import borrowed
from advcat.models.pixel import model_info


def fit_to(model: nn.Module, x: Tensor) -> Tensor:
    """Resize pixel-space images bicubically to the model's own input size, if it records one."""
    info = model_info(model)
    if info is None or x.shape[-1] == info.input_size:
        return x
    size = (info.input_size, info.input_size)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def transfer_rate(result: AttackResult, other_model: nn.Module, *, successful_only: bool = True) -> float:
    """Share of the adversarial images that also fool `other_model`.

    Fooling means the same goal as the attack: a prediction different from the label, or equal to
    the target. By default only images that fooled the source model count (the usual definition).
    Images are resized to the other model's input size, so each model sees correct input.
    """
    with borrowed(other_model), torch.no_grad():
        predictions = other_model(fit_to(other_model, result.adv)).argmax(1)
    fooled = goal_reached(predictions, result.labels, result.target)
    pool = result.success.to(fooled.device) if successful_only else torch.ones_like(fooled)
    if int(pool.sum()) == 0:
        return 0.0
    return float(fooled[pool].float().mean())
