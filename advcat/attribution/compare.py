"""Clean vs adversarial explanations: how far an attack moved the map, one number per sample.

`compare_attributions` explains both inputs for the same class (by default the model's prediction
on the clean input) and reports Spearman rank correlation, top-k overlap and SSIM of the maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from advcat.attribution.api import attribute
from advcat.attribution.result import Attribution
from advcat.attribution.similarity import spearman, ssim, top_k_count, top_k_overlap
from advcat.attribution.targets import TargetLike
from advcat.validate import check_images


@dataclass
class Comparison:
    """Per-sample similarity of two sets of maps, each (N,); `k` is the top-k size in pixels."""

    spearman: Tensor
    top_k: Tensor
    ssim: Tensor
    k: int
    clean: Attribution | None = None
    adv: Attribution | None = None

    def summary(self) -> dict[str, float]:
        """Means over the batch, for reports."""
        return {"spearman": float(self.spearman.mean()), "top_k": float(self.top_k.mean()),
                "ssim": float(self.ssim.mean()), "k": float(self.k)}


def _maps(value: Attribution | Tensor, absolute: bool) -> Tensor:
    if isinstance(value, Attribution):
        return value.heat(absolute)
    if isinstance(value, Tensor) and value.dim() == 4:
        return value.abs().sum(1, keepdim=True) if absolute else value.sum(1, keepdim=True)
    raise TypeError("expected an Attribution or a (N, C, H, W) map tensor")


def compare_maps(
    a: Attribution | Tensor, b: Attribution | Tensor, *, k: int | float = 0.05,
    absolute: bool = True,
) -> Comparison:
    """Similarity of two attributions (or raw (N, C, H, W) maps) of the same images' shapes.

    `absolute` compares magnitudes (sum of |attribution| over channels), as Ghorbani et al. 2019
    do; otherwise the signed per-pixel maps. `k`: pixels (int) or a fraction of the map (float).
    """
    ma, mb = _maps(a, absolute), _maps(b, absolute)
    if ma.shape != mb.shape:
        raise ValueError(f"maps differ in shape: {tuple(ma.shape)} vs {tuple(mb.shape)}")
    count = top_k_count(k, ma[0].numel())
    return Comparison(spearman(ma, mb), top_k_overlap(ma, mb, count), ssim(ma, mb), count,
                      a if isinstance(a, Attribution) else None,
                      b if isinstance(b, Attribution) else None)


def compare_attributions(
    model: nn.Module,
    x: Tensor,
    adv: Tensor,
    target: TargetLike = None,
    *,
    method: str = "integrated_gradients",
    k: int | float = 0.05,
    absolute: bool = True,
    **kwargs: Any,
) -> Comparison:
    """Explain `x` and `adv` for the same target and compare the maps per sample.

    `target` defaults to the model's prediction on the clean `x`, used for both inputs, so the
    numbers say how the explanation of that class moved. Other keywords go to `attribute`.
    """
    check_images(x)
    check_images(adv, name="adv")
    if adv.shape != x.shape:
        raise ValueError(f"adv must have the shape of x {tuple(x.shape)}, got {tuple(adv.shape)}")
    top_k_count(k, x.shape[-2] * x.shape[-1])
    clean = attribute(model, x, target, method=method, **kwargs)
    moved = attribute(model, adv, clean.target, method=method, **kwargs)
    return compare_maps(clean, moved, k=k, absolute=absolute)
