"""AttackResult: adversarial images with everything needed to report and re-check them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from advcat.io_paths import CorruptFileError, read_json_object, read_tensors, saved_pair
from advcat.threats import make_threat

_RESAVE = "save the result again, or delete its .json and .safetensors files"


@dataclass
class AttackResult:
    """The outcome of an attack on a batch, per sample.

    `adv` in [0, 1] is the adversarial image of the clean image `x0`; `delta` (= adv - x0) and
    `norms` (each perturbation's size in the threat's norm, never above `eps`) are derived from
    them, never stored apart. `success[i]` says whether the model's prediction on `adv[i]` (from
    `logits`) meets the goal: differs from `labels[i]`, or equals `target[i]` when targeted. `eps` is None
    for a minimum-norm attack (cw, fmn) run unbounded: `norms` then says how far each sample had to
    move, and `success` whether any perturbation was found.
    """

    adv: Tensor
    x0: Tensor
    success: Tensor
    logits: Tensor
    labels: Tensor
    target: Tensor | None
    steps_taken: Tensor
    queries: Tensor
    method: str
    norm: str
    eps: float | list[float] | None
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    #: True when Ctrl-C cut the attack short: the best iterates so far, not the attack's answer
    interrupted: bool = False

    @property
    def delta(self) -> Tensor:
        """The perturbation adv - x0."""
        return self.adv - self.x0

    @property
    def norms(self) -> Tensor:
        """Each perturbation's size in the attack's norm, shape (N,)."""
        return make_threat(self.norm, 1.0).norm(self.delta)

    @property
    def predictions(self) -> Tensor:
        return self.logits.argmax(1)

    @property
    def success_rate(self) -> float:
        return float(self.success.float().mean()) if self.success.numel() else 0.0

    def summary(self) -> str:
        """One line: method, budget, success rate and perturbation sizes."""
        if self.eps is None:
            eps: float | str = "none"
        elif isinstance(self.eps, float):
            eps = self.eps
        else:
            eps = f"per-sample (max {max(self.eps):.4g})"
        goal = "targeted" if self.target is not None else "untargeted"
        eps_text = f"{eps:.4g}" if isinstance(eps, float) else eps
        cut = "INTERRUPTED (partial result): " if self.interrupted else ""
        return (
            f"{cut}{self.method} {self.norm} eps={eps_text} ({goal}): success {int(self.success.sum())}"
            f"/{self.success.numel()} ({100 * self.success_rate:.1f}%), "
            f"mean {self.norm} norm {float(self.norms.mean()):.4g}, max {float(self.norms.max()):.4g}, "
            f"mean queries {float(self.queries.float().mean()):.1f}"
        )

    def __repr__(self) -> str:
        return f"AttackResult({self.summary()})"

    def save(self, path: str | Path) -> Path:
        """Write PATH.safetensors (tensors) and PATH.json (the rest); returns the JSON path."""
        from safetensors.torch import save_file

        tensors_path, meta_path = saved_pair(path)
        tensors_path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {
            name: getattr(self, name).detach().cpu().contiguous()
            for name in _TENSORS
            if getattr(self, name) is not None
        }
        save_file(tensors, str(tensors_path))
        meta = {
            "kind": "AttackResult",
            "method": self.method,
            "norm": self.norm,
            "eps": self.eps,
            "seed": self.seed,
            "config": self.config,
            "interrupted": self.interrupted,
        }
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
        return meta_path

    @classmethod
    def load(cls, path: str | Path) -> AttackResult:
        """Read a result written by `save` (PATH, PATH.json or PATH.safetensors)."""
        tensors_path, meta_path = saved_pair(path)
        meta = read_json_object(meta_path, _RESAVE)
        if meta.get("kind") != "AttackResult":
            raise CorruptFileError(meta_path, "not a saved AttackResult", _RESAVE)
        tensors = read_tensors(tensors_path, _RESAVE)
        if "x0" not in tensors and "adv" in tensors and "delta" in tensors:  # written before x0 was kept
            tensors["x0"] = tensors["adv"] - tensors["delta"]
        fields: dict[str, Any] = {name: tensors.get(name) for name in _TENSORS}
        return cls(
            **fields,
            method=meta["method"],
            norm=meta["norm"],
            eps=meta["eps"],
            seed=meta["seed"],
            config=meta.get("config", {}),
            interrupted=bool(meta.get("interrupted", False)),
        )


_TENSORS = ("adv", "x0", "success", "logits", "labels", "target", "steps_taken", "queries")
