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

from advcat.io_paths import CorruptFileError, read_json_object, read_tensor_header, read_tensors
from advcat.models.checkpoint import checkpoint_paths, save_checkpoint
from advcat.models.pixel import PixelModel

BEST, LAST = "model", "last"
#: the fields of the training record that resuming reads (api._Run._start writes them all)
RECORD_FIELDS = ("run", "epoch", "step", "history", "best_epoch", "best_loss", "bad_epochs",
                 "finished", "stopped_early")


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
    """(network weights, optimizer state, record) of OUT's last epoch, or None if there is none.

    A damaged file raises CorruptFileError (a ValueError) naming it and how to start over.
    """
    weights, meta = checkpoint_paths(out / LAST)
    optim = out / f"{LAST}.optim.safetensors"
    if not (weights.is_file() and meta.is_file() and optim.is_file()):
        return None
    advice = f"delete {out / LAST}.* to restart from scratch, pass a new out= folder, or resume=False"
    record = _record(meta, advice)
    header = read_tensor_header(optim, advice)
    if header.get("epoch") != str(record["epoch"]):
        raise ValueError(f"{optim} belongs to epoch {header.get('epoch')}, but {meta} records "
                         f"epoch {record['epoch']}: the run was cut off while saving; {advice}")
    try:
        groups = json.loads(header["param_groups"])
    except (KeyError, json.JSONDecodeError) as error:
        raise CorruptFileError(optim, "its header holds no optimizer parameter groups", advice) from error
    state = _unflatten(optim, read_tensors(optim, advice), groups, advice)
    return read_tensors(weights, advice), state, record


def _record(meta: Path, advice: str) -> dict[str, Any]:
    """The training record in OUT/last.json, refused if any field a resume reads is missing."""
    record = read_json_object(meta, advice).get("extra", {})
    record = record.get("finetune") if isinstance(record, dict) else None
    if not isinstance(record, dict):
        raise CorruptFileError(meta, "it holds no fine-tuning record (extra.finetune)", advice)
    missing = [key for key in RECORD_FIELDS if key not in record]
    if missing or not isinstance(record["epoch"], int) or not isinstance(record["history"], list):
        raise CorruptFileError(meta, f"its fine-tuning record is incomplete (missing or malformed: "
                               f"{', '.join(missing) or 'epoch or history'})", advice)
    return record


def _flatten(state: dict[str, Any]) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
    tensors: dict[str, Tensor] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            value = value if isinstance(value, Tensor) else torch.tensor(value)
            tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _unflatten(optim: Path, tensors: dict[str, Tensor], groups: Any, advice: str) -> dict[str, Any]:
    if not isinstance(groups, list) or not all(isinstance(group, dict) for group in groups):
        raise CorruptFileError(optim, "its optimizer parameter groups are malformed", advice)
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        if not index.isdigit() or not name:
            raise CorruptFileError(optim, f"tensor {key!r} is not an optimizer state entry", advice)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups}
