"""advcat checkpoints: network weights as safetensors plus a JSON of metadata beside them.

Loading never unpickles: tensors come from safetensors, everything else from JSON, and the network
is rebuilt from the architecture name the metadata records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from advcat.io_paths import CorruptFileError, read_json_object, read_tensors, saved_pair, temporary
from advcat.models.architectures import build_arch
from advcat.models.heads import replace_head
from advcat.models.pixel import ModelInfo, PixelModel

FORMAT = "advcat-checkpoint/1"
REWRITE = "save the checkpoint again, or delete its .safetensors and .json files"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """The (weights, metadata) pair for a checkpoint named by either file or their common stem.

    A directory stands for the `model.*` pair inside it (what `advcat.finetune(out=DIR)` writes);
    a dotted name such as `eps_0.5` is kept whole (see `advcat.io_paths.saved_pair`).
    """
    path = Path(path)
    return saved_pair(path / "model" if path.is_dir() else path)


def save_checkpoint(model: PixelModel, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` as PATH.safetensors + PATH.json (atomically); returns the weights path."""
    from safetensors.torch import save_file

    if not isinstance(model, PixelModel):
        raise TypeError("save_checkpoint expects an advcat PixelModel (see advcat.wrap)")
    if model.info.arch is None:
        raise ValueError("the model's metadata names no architecture (info.arch); cannot rebuild it")
    weights, meta = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    tmp = temporary(weights)
    save_file(state, str(tmp))
    os.replace(tmp, weights)
    record = {"format": FORMAT, "info": model.info.to_dict(), "extra": extra or {}}
    tmp_meta = temporary(meta)
    tmp_meta.write_text(json.dumps(record, indent=2))
    os.replace(tmp_meta, meta)
    return weights


def load_checkpoint(path: str | Path) -> PixelModel:
    """Rebuild a model saved by `save_checkpoint` (or by `advcat.finetune`).

    A damaged or foreign file raises CorruptFileError (a ValueError) naming it.
    """
    weights, meta = checkpoint_paths(path)
    for file in (weights, meta):
        if not file.is_file():
            raise FileNotFoundError(f"checkpoint file not found: {file}")
    info = _read_info(meta)
    state = read_tensors(weights, REWRITE)
    net = build_arch(str(info.arch))
    if info.num_classes is not None and info.num_classes != 1000:
        replace_head(net, info.num_classes)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CorruptFileError(weights, f"its tensors do not fit the {info.arch} network {meta.name} "
                               f"names ({str(error).splitlines()[0]})", REWRITE) from error
    return PixelModel(net.eval(), info)


def _read_info(meta: Path) -> ModelInfo:
    """The model metadata of a checkpoint's JSON file, refused unless advcat wrote it."""
    record = read_json_object(meta, REWRITE)
    if record.get("format") != FORMAT:
        raise CorruptFileError(meta, f"not an advcat checkpoint (format {record.get('format')!r})",
                               REWRITE)
    if not isinstance(record.get("info"), dict):
        raise CorruptFileError(meta, "it records no model info", REWRITE)
    try:
        info = ModelInfo.from_dict(record["info"])
    except (TypeError, ValueError) as error:
        raise CorruptFileError(meta, f"its model info is malformed ({error})", REWRITE) from error
    if not isinstance(info.arch, str):
        raise CorruptFileError(meta, "it records no architecture", REWRITE)
    return info
