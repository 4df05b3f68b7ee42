"""Stratified, seeded train/validation splits that keep each class's share in both parts.

A held-out validation set drawn this way never shares an image with the training part (the
lesson's validation loader read the training set by mistake).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import torch
from torch import Tensor
from torch.utils.data import Dataset

from advcat.core.rng import derive_seed

Item = TypeVar("Item")


def dataset_targets(dataset: Dataset[Any]) -> list[int]:
    """Every label of a labelled image set: its `.targets` if it has them, else read item by item.

    Labels must be integers (operator.index): a float label is a TypeError, never truncated.
    """
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return [operator.index(t) for t in targets]
    return [operator.index(dataset[i][1]) for i in range(len(dataset))]  # type: ignore[arg-type]


class Subset(Dataset[Item]):
    """Part of a labelled image set, keeping its class names, labels and fast batching."""

    def __init__(self, dataset: Dataset[Item], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.classes = getattr(dataset, "classes", None)
        base = dataset_targets(dataset)
        self.targets = [base[i] for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Item:
        """Item `index` of the subset: whatever the base set holds at its index."""
        return self.dataset[self.indices[index]]

    def batch(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Images and labels of the subset's `rows`, gathered by the base set when it can."""
        index = torch.tensor(self.indices, dtype=torch.long)[rows]
        gather = getattr(self.dataset, "batch", None)
        if callable(gather):
            gathered: tuple[Tensor, Tensor] = gather(index)
            return gathered
        items = cast("list[tuple[Tensor, int]]", [self.dataset[i] for i in index.tolist()])
        return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


def stratified_split(dataset: Dataset[Item], val: float = 0.2, *,
                     seed: int = 0) -> tuple[Subset[Item], Subset[Item]]:
    """(train, val) parts of `dataset`: a `val` share of every class held out, chosen by `seed`.

    Each class with at least two examples gives at least one to each part.
    """
    if not 0.0 < float(val) < 1.0:
        raise ValueError(f"val must be a fraction strictly between 0 and 1, got {val!r}")
    targets = torch.tensor(dataset_targets(dataset), dtype=torch.long)
    if targets.numel() < 2:
        raise ValueError(f"cannot split a set of {targets.numel()} example(s)")
    train_parts: list[Tensor] = []
    val_parts: list[Tensor] = []
    for label in torch.unique(targets).tolist():
        members = torch.nonzero(targets == label).flatten()
        order = torch.randperm(len(members), generator=torch.Generator().manual_seed(
            derive_seed(seed, label)))
        members = members[order]
        count = round(float(val) * len(members))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        val_parts.append(members[:count])
        train_parts.append(members[count:])
    train_index = torch.sort(torch.cat(train_parts)).values
    val_index = torch.sort(torch.cat(val_parts)).values
    return Subset(dataset, train_index.tolist()), Subset(dataset, val_index.tolist())
