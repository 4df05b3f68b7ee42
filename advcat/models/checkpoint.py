"""advcat checkpoints: network weights as safetensors plus a JSON of metadata beside them.

Loading never unpickles: tensors come from safetensors, everything else from JSON, and the network
is rebuilt from the architecture name the metadata records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from advcat.models.pixel import ModelInfo, PixelModel

FORMAT = "advcat-checkpoint/1"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """The (weights, metadata) pair for a checkpoint named by either file or their common stem.

    A directory stands for the `model.*` pair inside it (what `advcat.finetune(out=DIR)` writes).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model"
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


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
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file(state, str(tmp))
    os.replace(tmp, weights)
    record = {"format": FORMAT, "info": model.info.to_dict(), "extra": extra or {}}
    tmp_meta = meta.with_suffix(".json.tmp")
    tmp_meta.write_text(json.dumps(record, indent=2))
    os.replace(tmp_meta, meta)
    return weights


def load_checkpoint(path: str | Path) -> PixelModel:
    """Rebuild a model saved by `save_checkpoint` (or by `advcat.finetune`)."""
    from safetensors.torch import load_file

    from advcat.models.heads import replace_head
    from advcat.models.zoo import build_arch

    weights, meta = checkpoint_paths(path)
    for file in (weights, meta):
        if not file.is_file():
            raise FileNotFoundError(f"checkpoint file not found: {file}")
    record = json.loads(meta.read_text())
    if record.get("format") != FORMAT:
        raise ValueError(f"{meta} is not an advcat checkpoint (format {record.get('format')!r})")
    info = ModelInfo.from_dict(record["info"])
    if info.arch is None:
        raise ValueError(f"{meta} records no architecture")
    net = build_arch(info.arch)
    if info.num_classes is not None and info.num_classes != 1000:
        replace_head(net, info.num_classes)
    net.load_state_dict(load_file(str(weights)), strict=True)
    return PixelModel(net.eval(), info)
