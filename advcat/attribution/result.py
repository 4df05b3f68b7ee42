"""The `Attribution` result: the raw map, a per-pixel map, and what produced them.

Saved as PATH.safetensors (tensors) + PATH.json (method, target names, baseline, options), so
loading never unpickles anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from advcat.io_paths import CorruptFileError, read_json_object, read_tensors, saved_pair, temporary

FORMAT = "advcat-attribution/1"
_RESAVE = "save the attribution again, or delete its .json and .safetensors files"


@dataclass
class Attribution:
    """Attribution maps for a batch of images.

    `raw` is the method's map at input resolution: (N, C, H, W), or (N, 1, H, W) for Grad-CAM.
    `map` is the per-pixel map (N, 1, H, W): the channel sum of `raw` (signed, so integrated
    gradients still sum to the logit gap). `delta` is Captum's convergence delta for integrated
    gradients (sum of attributions minus the logit gap, per sample), else None.
    """

    raw: Tensor
    map: Tensor
    method: str
    target: Tensor
    baseline: str
    delta: Tensor | None = None
    layer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = 0
    target_names: list[str] | None = None

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def summary(self) -> str:
        """One line: method, images, the classes attributed, baseline, and IG's convergence delta."""
        targets = sorted(set(self.target.tolist()))
        if self.target_names is not None:
            named = dict(zip(self.target.tolist(), self.target_names))
            targets = [named[t] for t in targets]
        shown = ", ".join(str(t) for t in targets[:5]) + (", ..." if len(targets) > 5 else "")
        layer = f" at {self.layer}" if self.layer else ""
        delta = "" if self.delta is None else f", max |delta| {float(self.delta.abs().max()):.3g}"
        return (f"{self.method}{layer} on {len(self)} images, class {shown}, baseline {self.baseline}, "
                f"map {tuple(self.map.shape[1:])}{delta}")

    def __repr__(self) -> str:
        return f"Attribution({self.summary()})"

    def heat(self, absolute: bool = True) -> Tensor:
        """(N, 1, H, W) map to show or compare: sum of |raw| over channels, or `map` if signed."""
        if not absolute:
            return self.map
        return self.raw.abs().sum(dim=1, keepdim=True)

    def save(self, path: str | Path) -> Path:
        """Write PATH.safetensors and PATH.json; returns the tensors' path."""
        from safetensors.torch import save_file

        tensors_path, meta_path = saved_pair(path)
        tensors_path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"raw": self.raw, "map": self.map, "target": self.target}
        if self.delta is not None:
            tensors["delta"] = self.delta
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        tmp = temporary(tensors_path)
        save_file(tensors, str(tmp))
        os.replace(tmp, tensors_path)
        record = {"format": FORMAT, "method": self.method, "baseline": self.baseline,
                  "layer": self.layer, "options": self.options, "seed": self.seed,
                  "target_names": self.target_names}
        tmp_meta = temporary(meta_path)
        tmp_meta.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp_meta, meta_path)
        return tensors_path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> Attribution:
        """Read an attribution written by `save` (either file name or their common stem)."""
        tensors_path, meta_path = saved_pair(path)
        for file in (tensors_path, meta_path):
            if not file.is_file():
                raise FileNotFoundError(f"attribution file not found: {file}")
        record = read_json_object(meta_path, _RESAVE)
        if record.get("format") != FORMAT:
            raise CorruptFileError(meta_path, f"not an advcat attribution (format "
                                   f"{record.get('format')!r})", _RESAVE)
        tensors = read_tensors(tensors_path, _RESAVE, device=str(device))
        if not {"raw", "map", "target"} <= set(tensors):
            raise CorruptFileError(tensors_path, "it lacks the raw, map or target tensor", _RESAVE)
        return cls(raw=tensors["raw"], map=tensors["map"], method=record["method"],
                   target=tensors["target"], baseline=record["baseline"],
                   delta=tensors.get("delta"), layer=record.get("layer"),
                   options=record.get("options", {}), seed=record.get("seed"),
                   target_names=_names(record.get("target_names"), len(tensors["target"]), meta_path))


def _names(value: object, count: int, path: Path) -> list[str] | None:
    """The saved class names of the maps: absent (files from before they were kept), or one string
    per map."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != count or not all(isinstance(v, str) for v in value):
        raise CorruptFileError(path, f"target_names must be {count} strings", _RESAVE)
    return value
