"""Fine-tuning checkpoints in OUT: the best model, and the last epoch's state to resume from.

OUT/model.{safetensors,json} is the best model so far (`advcat.load_model(OUT)` loads it);
OUT/last.{safetensors,json} plus OUT/last.optim.safetensors hold the last finished epoch: weights,
AdamW moments and the training record (config, history, early-stopping state). Nothing is pickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from advcat.models.checkpoint import checkpoint_paths, save_checkpoint
from advcat.models.pixel import PixelModel

BEST, LAST = "model", "last"


def save_best(out: Path, model: PixelModel, record: dict[str, Any]) -> Path:
    """Write the best model so far as OUT/model.*."""
    return save_checkpoint(model, out / BEST, extra={"finetune": record})


def save_last(out: Path, model: PixelModel, optimizer: torch.optim.Optimizer,
              record: dict[str, Any]) -> None:
    """Write the resumable state of the epoch just finished (optimizer first, record last)."""
    from safetensors.torch import save_file

    tensors, groups = _flatten(optimizer.state_dict())
    tmp = out / f"{LAST}.optim.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"epoch": str(record["epoch"]),
                                           "param_groups": json.dumps(groups)})
    os.replace(tmp, out / f"{LAST}.optim.safetensors")
    save_checkpoint(model, out / LAST, extra={"finetune": record})


def load_last(out: Path) -> tuple[dict[str, Tensor], dict[str, Any], dict[str, Any]] | None:
    """(network weights, optimizer state, record) of OUT's last epoch, or None if there is none."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    weights, meta = checkpoint_paths(out / LAST)
    optim = out / f"{LAST}.optim.safetensors"
    if not (weights.is_file() and meta.is_file() and optim.is_file()):
        return None
    record = json.loads(meta.read_text())["extra"]["finetune"]
    with safe_open(str(optim), framework="pt") as handle:
        header = handle.metadata()
    if header.get("epoch") != str(record["epoch"]):
        raise ValueError(f"{optim} belongs to epoch {header.get('epoch')}, but {meta} records "
                         f"epoch {record['epoch']}: the run was cut off while saving; delete "
                         f"{out / LAST}.* to restart from scratch")
    state = _unflatten(load_file(str(optim)), json.loads(header["param_groups"]))
    return load_file(str(weights)), state, record


def _flatten(state: dict[str, Any]) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
    tensors: dict[str, Tensor] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            value = value if isinstance(value, Tensor) else torch.tensor(value)
            tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _unflatten(tensors: dict[str, Tensor], groups: list[dict[str, Any]]) -> dict[str, Any]:
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups}
