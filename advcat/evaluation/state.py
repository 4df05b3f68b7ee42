"""Resumable runs: the config and every finished batch are files under `out`, each written atomically.

A batch is committed by writing a temporary file, flushing it to disk and renaming it into place,
so a run killed at any moment leaves only whole batch files. Started again with the same config,
the run reads them and computes the rest; with a different config it refuses rather than mix them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG = "config.json"
BATCHES = "batches"


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunDir:
    """The folder of one evaluation run: `config.json` and `batches/NNNNNN.json`."""

    def __init__(self, out: str | Path, config: dict[str, Any], *, resume: bool, writer: bool) -> None:
        self.root = Path(out)
        self.batches = self.root / BATCHES
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"out={self.root} is a file; expected a folder for the run's results")
        canonical = json.loads(json.dumps(config, sort_keys=True))
        path = self.root / CONFIG
        if path.is_file() and resume:
            saved = json.loads(path.read_text())
            if saved != canonical:
                raise ValueError(
                    f"{self.root} holds a run with a different config ({_differences(saved, canonical)}); "
                    "results would mix: pass another out=, or resume=False to start this folder afresh"
                )
        if writer:
            self.batches.mkdir(parents=True, exist_ok=True)
            for stale in self.batches.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            if not resume:
                for old in self.batches.glob("*.json"):
                    old.unlink()
            if not path.is_file() or not resume:
                atomic_write(path, json.dumps(canonical, indent=2, sort_keys=True))

    def done(self) -> dict[int, dict[str, Any]]:
        """The committed batches, by batch number."""
        found = {}
        for path in sorted(self.batches.glob("[0-9]*.json")):
            found[int(path.stem)] = json.loads(path.read_text())
        return found

    def commit(self, number: int, record: dict[str, Any]) -> None:
        """Write one finished batch atomically."""
        self.batches.mkdir(parents=True, exist_ok=True)
        atomic_write(self.batches / f"{number:06d}.json", json.dumps(record))


def _differences(saved: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(saved) | set(new) if saved.get(k) != new.get(k))
    return "; ".join(f"{k}: {_short(saved.get(k))} then, {_short(new.get(k))} now" for k in keys)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
