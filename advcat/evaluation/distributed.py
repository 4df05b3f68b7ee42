"""Sharding an evaluation over processes with torch.distributed (gloo on CPU, NCCL on GPUs).

Batch b goes to process b mod K; each batch's result depends only on its points (randomness is
keyed on their data-set indices), so the gathered report equals the single-process one. Records
(BatchRecord, advcat.evaluation.records) are gathered as pickled Python objects over a gloo group,
which works beside an NCCL default group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass
class World:
    """This process's rank among `size`; `owned` when evaluate started the process group itself."""

    rank: int = 0
    size: int = 1
    owned: bool = False
    group: Any = None

    def mine(self, batches: int) -> list[int]:
        """The batch numbers this process computes."""
        return list(range(self.rank, batches, self.size))

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier(group=self.group)

    def gather(self, records: dict[int, T]) -> dict[int, T]:
        """Every process's records, merged, on every process."""
        if self.size == 1:
            return dict(records)
        parts: list[Any] = [None] * self.size
        dist.all_gather_object(parts, records, group=self.group)
        merged: dict[int, T] = {}
        for part in parts:
            merged.update(part)
        return merged

    def close(self) -> None:
        """Tear down the process group if evaluate started it."""
        if self.owned and dist.is_initialized():
            dist.destroy_process_group()


def join(device: torch.device) -> World:
    """The current world: an initialized process group, one torchrun set up in the environment
    (WORLD_SIZE > 1; started here with gloo on CPU or NCCL on CUDA), or a single process."""
    if not dist.is_available():
        return World()
    owned = False
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return World()
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owned = True
    size = dist.get_world_size()
    if size == 1:
        return World(owned=owned)
    group = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
    return World(rank=dist.get_rank(), size=size, owned=owned, group=group)
