"""Which classes a targeted-for-untargeted attack (APGD-T) tries, in which order.

"logits": the classes with the highest clean logits other than the label (AutoAttack's choice).
"malt": the classes whose decision boundary is nearest in the linear approximation, i.e. the
smallest (z_y - z_t) / ||grad_x (z_y - z_t)||_* with ||.||_* the threat's dual norm (L1 for
L-inf, L2 for L2); Melamed, Yehudai and Shamir (2024) report that this ranking lets far fewer
targeted runs break what AutoAttack's nine break. Only the top `candidates` classes by logit
are ranked, so a model with many classes costs `candidates` backward passes, not K.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ORDERS = ("logits", "malt")
_DUAL = {"linf": 1.0, "l2": 2.0}


def by_logits(clean: Tensor, labels: Tensor) -> Tensor:
    """(N, K-1) class indices, highest clean logit first, the label left out."""
    return clean.scatter(1, labels[:, None], float("-inf")).argsort(1, descending=True)[:, :-1]


def by_linear_distance(model: nn.Module, x: Tensor, labels: Tensor, clean: Tensor, norm: str,
                       candidates: int, batch_size: int | None) -> Tensor:
    """(N, M) class indices, nearest linearized boundary first, among the top M = min(candidates,
    K-1) classes by clean logit (MALT's ranking; a boundary the gradient says nothing about, a zero
    gradient, ranks last)."""
    top = by_logits(clean, labels)[:, :candidates]
    distance = torch.empty(top.shape, dtype=torch.float32, device=x.device)
    step = batch_size or x.shape[0]
    for first in range(0, x.shape[0], step):
        rows = slice(first, first + step)
        distance[rows] = _distances(model, x[rows], labels[rows], top[rows], _DUAL[norm])
    order = distance.argsort(dim=1, stable=True)
    return top.gather(1, order)


def _distances(model: nn.Module, x: Tensor, labels: Tensor, classes: Tensor, dual: float) -> Tensor:
    """The linearized distance to each of `classes`' boundaries for one chunk: one forward pass and
    one backward pass per candidate column."""
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(xg).float()
        own = logits.gather(1, labels[:, None])[:, 0]
        columns = []
        for c in range(classes.shape[1]):
            margin = own - logits.gather(1, classes[:, c : c + 1])[:, 0]
            grad = torch.autograd.grad(margin.sum(), xg, retain_graph=c + 1 < classes.shape[1])[0]
            size = grad.flatten(1).norm(p=dual, dim=1)
            columns.append(torch.where(size > 0, margin.detach() / size.clamp_min(1e-30),
                                       torch.full_like(size, float("inf"))))
    return torch.stack(columns, 1)
