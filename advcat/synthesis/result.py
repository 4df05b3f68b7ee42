"""SynthesisResult: synthesized images with what the model thinks of them and how they were made."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from advcat.io_paths import CorruptFileError, read_json_object, read_tensors, saved_pair

_TENSORS = ("images", "probs", "targets", "history")
_RESAVE = "save the result again, or delete its .json and .safetensors files"


@dataclass
class SynthesisResult:
    """Images (N, C, H, W) in [0, 1] with the model's probabilities on them (no transforms).

    `targets` (N,) is the class each image was made for (None for a pure layer objective) and
    `names` its readable name; `history` is the mean objective per step; `objective` the formula
    that was maximized; `config` the recipe (param, transforms, lr, steps, size, time taken).
    `advcat.viz.figure(result)` draws the gallery.
    """

    images: Tensor
    probs: Tensor
    targets: Tensor | None
    history: Tensor
    objective: str
    seed: int
    names: list[str] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def probability(self) -> Tensor | None:
        """The model's probability of each image's target class, (N,), or None without targets."""
        if self.targets is None:
            return None
        return self.probs.gather(1, self.targets.long().view(-1, 1).to(self.probs.device))[:, 0]

    @property
    def predictions(self) -> Tensor:
        """The model's top class for each image, (N,)."""
        return self.probs.argmax(1)

    def class_name(self, index: int) -> str:
        """A class's readable name: the one recorded for a target, ImageNet's when `probs` has
        1000 columns, else "class k" (the index is all that is known)."""
        if self.targets is not None and self.names:
            for target, name in zip(self.targets.tolist(), self.names):
                if int(target) == index:
                    return name
        if self.probs.shape[1] == 1000:
            from advcat.data.classes import imagenet_classes

            return imagenet_classes()[index]
        return f"class {index}"

    def summary(self) -> str:
        """One line per image: target and its probability, and the top class by name."""
        lines = [f"{self.objective}  ({self.config.get('steps', '?')} steps, seed {self.seed})"]
        probability = self.probability
        for i in range(self.images.shape[0]):
            top = int(self.predictions[i])
            text = f"top: {self.class_name(top)} (p={float(self.probs[i, top]):.3f})"
            if probability is not None and self.targets is not None:
                name = self.names[i] if self.names else self.class_name(int(self.targets[i]))
                text = f"{name}: p={float(probability[i]):.3f}, " + text
            lines.append(f"  [{i}] {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        shape = tuple(self.images.shape)
        return f"SynthesisResult(images={shape}, objective={self.objective!r})"

    def save(self, path: str | Path) -> Path:
        """Write PATH.safetensors (tensors) and PATH.json (the rest); returns the JSON path."""
        from safetensors.torch import save_file

        tensors_path, meta_path = saved_pair(path)
        tensors_path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {name: getattr(self, name).detach().cpu().contiguous() for name in _TENSORS
                   if getattr(self, name) is not None}
        save_file(tensors, str(tensors_path))
        meta = {"kind": "SynthesisResult", "objective": self.objective, "seed": self.seed,
                "names": self.names, "config": self.config}
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
        return meta_path

    @classmethod
    def load(cls, path: str | Path) -> SynthesisResult:
        """Read a result written by `save` (PATH, PATH.json or PATH.safetensors)."""
        tensors_path, meta_path = saved_pair(path)
        if not meta_path.exists():
            raise FileNotFoundError(f"no saved synthesis result at {meta_path}")
        meta = read_json_object(meta_path, _RESAVE)
        if meta.get("kind") != "SynthesisResult":
            raise CorruptFileError(meta_path, "not a saved SynthesisResult", _RESAVE)
        tensors = read_tensors(tensors_path, _RESAVE)
        if not {"images", "probs", "history"} <= set(tensors):
            raise CorruptFileError(tensors_path, "it lacks the images, probs or history tensor", _RESAVE)
        return cls(images=tensors["images"], probs=tensors["probs"], targets=tensors.get("targets"),
                   history=tensors["history"], objective=meta["objective"], seed=meta["seed"],
                   names=meta.get("names"), config=meta.get("config", {}))
