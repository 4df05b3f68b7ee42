"""Resumable runs: the config and every finished batch are files under `out`, each written atomically.

A batch is committed by writing a temporary file, flushing it to disk and renaming it into place,
so a run killed at any moment leaves only whole batch files. Started again with the same config,
the run reads them and computes the rest; with a different config it refuses rather than mix them,
and a batch file that is not a whole `BatchRecord` of this run (damaged, of another batch, or written
by another version of advcat) is refused naming it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from advcat.evaluation.records import REDO, AdaptiveRecord, BatchRecord
from advcat.io_paths import CorruptFileError, read_json_object

CONFIG = "config.json"
BATCHES = "batches"
RESTART = "pass a new out= folder, or resume=False to start this folder afresh (it deletes the batches)"
#: the folder, inside a run's, of the adaptive stage's config and batch records
ADAPTIVE = "adaptive"
K = TypeVar("K", BatchRecord, AdaptiveRecord)


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunDir(Generic[K]):
    """The folder of one evaluation run: `config.json` and `batches/NNNNNN.json`, records of type
    `kind` (the naive cascade's `BatchRecord`s, or in `out`/adaptive/ the `AdaptiveRecord`s)."""

    def __init__(
        self, out: str | Path, config: dict[str, Any], *, resume: bool, writer: bool, kind: type[K]
    ) -> None:
        self.root = Path(out)
        self.kind: type[K] = kind
        self.batches = self.root / BATCHES
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"out={self.root} is a file; expected a folder for the run's results")
        canonical = json.loads(json.dumps(config, sort_keys=True))
        self.config = canonical
        path = self.root / CONFIG
        if resume:
            self._check_config(path, canonical)
        if writer:
            self.batches.mkdir(parents=True, exist_ok=True)
            for stale in self.batches.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            if not resume:
                for old in self.batches.glob("*.json"):
                    old.unlink()
            if not path.is_file() or not resume:
                atomic_write(path, json.dumps(canonical, indent=2, sort_keys=True))

    def _check_config(self, path: Path, canonical: dict[str, Any]) -> None:
        """Refuse to resume from a folder whose config.json is damaged, differs, or is missing
        while batch files of some unknown run are there."""
        if path.is_file():
            saved = read_json_object(path, RESTART)
            if saved != canonical:
                raise ValueError(
                    f"{path} records a run with a different config ({_differences(saved, canonical)}); "
                    f"results would mix: {RESTART}"
                )
        elif any(self.batches.glob("*.json")):
            raise CorruptFileError(
                path, f"missing, but {self.batches} holds batch files: nothing says which run they "
                "belong to, so they cannot be reused", RESTART)

    def done(self) -> dict[int, K]:
        """The committed batches, by batch number, each checked against this run's config."""
        found = {}
        for path in sorted(self.batches.glob("*.json")):
            number = self._number(path)
            found[number] = self._record(path, number)
        return found

    def _number(self, path: Path) -> int:
        """The batch number a file's name gives, refused unless advcat could have written it."""
        advice = f"remove it from {self.batches}, or pass a new out= folder"
        if not re.fullmatch(r"\d{6}", path.stem):
            raise CorruptFileError(path, "not a batch file name advcat writes (NNNNNN.json)", advice)
        number = int(path.stem)
        if self._indices(number) == []:
            raise CorruptFileError(path, f"batch {number} is beyond this run's "
                                   f"{self.config['n']} points", advice)
        return number

    def _record(self, path: Path, number: int) -> K:
        """One batch file's record; a damaged one, or one of another batch, run or version, is refused."""
        advice = f"delete {path.name} to compute that batch again, or {REDO}"
        record = self.kind.from_json(read_json_object(path, advice), path, advice)
        expected = self._indices(number)
        if expected is not None and list(record.index) != expected:
            raise CorruptFileError(
                path, f"it holds the record of points {_span(record.index)}, but batch {number} is points "
                f"{_span(expected)}: a file of another batch, copied or renamed", advice)
        problem = self._mismatch(record)
        if problem:
            raise CorruptFileError(path, f"not a whole batch record of this run ({problem})", advice)
        return record

    def _mismatch(self, record: K) -> str | None:
        """How a well-formed record disagrees with this run's budgets or stages, or None."""
        budgets, stages = self.config.get("eps", []), self.config.get("attacks", [])
        if len(record.eps) != len(budgets):
            return f"{len(record.eps)} eps entries, not one for each of the run's {len(budgets)} budgets"
        if any(len(outcome.stage_standing) != len(stages) for outcome in record.eps):
            return f"an eps entry does not count the run's {len(stages)} attacks"
        return None

    def _indices(self, number: int) -> list[int] | None:
        """The data-set indices batch `number` of this run covers (None if the config lacks them)."""
        n, size = self.config.get("n"), self.config.get("batch_size")
        if not (isinstance(n, int) and isinstance(size, int)):
            return None
        return list(range(number * size, min((number + 1) * size, n)))

    def commit(self, number: int, record: K) -> None:
        """Write one finished batch atomically."""
        self.batches.mkdir(parents=True, exist_ok=True)
        atomic_write(self.batches / f"{number:06d}.json", json.dumps(record.to_json()))


def _span(index: Sequence[int]) -> str:
    return f"{index[0]}..{index[-1]}" if index else "none"


def _differences(saved: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(saved) | set(new) if saved.get(k) != new.get(k))
    return "; ".join(f"{k}: {_short(saved.get(k))} then, {_short(new.get(k))} now" for k in keys)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
