"""Steepest-ascent directions of a gradient under the Linf, L2 and L1 norms, per sample."""

from __future__ import annotations

import math

from torch import Tensor


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    return values.view(-1, *([1] * (like.dim() - 1)))


def sign_direction(grad: Tensor) -> Tensor:
    """Linf steepest ascent: the sign of each coordinate (FGSM, PGD)."""
    return grad.sign()


def l2_direction(grad: Tensor) -> Tensor:
    """L2 steepest ascent: the gradient scaled to unit Euclidean length (zero stays zero)."""
    length = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    return grad / _per_sample(length, grad)


def l1_unit(grad: Tensor) -> Tensor:
    """The gradient scaled to unit L1 mass (MI-FGSM's normalization; zero stays zero)."""
    mass = grad.flatten(1).abs().sum(1).clamp_min(1e-12)
    return grad / _per_sample(mass, grad)


def l1_direction(grad: Tensor, q: float) -> Tensor:
    """Sparse L1 ascent (Tramer & Boneh, 2019): sign of the coordinates with |grad| at or above
    the q-quantile (the top 1 - q fraction, at least one), scaled to unit L1 mass."""
    flat = grad.flatten(1).abs()
    dim = flat.shape[1]
    keep = max(1, math.ceil((1.0 - q) * dim - 1e-9))
    threshold = flat.kthvalue(dim - keep + 1, dim=1, keepdim=True).values
    mask = (flat >= threshold) & (flat > 0)
    count = mask.sum(1, keepdim=True).clamp_min(1).to(grad.dtype)
    return (grad.flatten(1).sign() * mask / count).view_as(grad)
