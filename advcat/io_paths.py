"""Where advcat's saved files go, and reading them back with errors that name the file.

A user's save path is a name, not a file: only a suffix advcat itself writes is stripped, anything
else (`eps_0.5`, `a.b.c`) is kept whole and the suffix appended, so two names never collide.
This module is the bottom layer: it imports nothing from advcat.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TENSORS, METADATA = ".safetensors", ".json"


class CorruptFileError(ValueError):
    """A file advcat wrote (or should have) cannot be read back; `path` is that file."""

    def __init__(self, path: Path, problem: str, advice: str) -> None:
        super().__init__(f"{path}: {problem}; {advice}")
        self.path = path


def stem_of(path: str | Path, suffixes: Sequence[str]) -> Path:
    """`path` without one of `suffixes` at its end (a name that is only a suffix is kept whole)."""
    path = Path(path)
    if not path.name:
        raise ValueError(f"a save path must name a file, got {str(path)!r}")
    for suffix in suffixes:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.with_name(path.name[: -len(suffix)])
    return path


def with_added_suffix(stem: Path, suffix: str) -> Path:
    """`stem` with `suffix` appended: unlike `Path.with_suffix`, `eps_0.5` stays `eps_0.5<suffix>`."""
    return stem.with_name(stem.name + suffix)


def saved_pair(path: str | Path) -> tuple[Path, Path]:
    """The (tensors, metadata) files of a result saved as `path`: its stem, or either file."""
    stem = stem_of(path, (TENSORS, METADATA))
    return with_added_suffix(stem, TENSORS), with_added_suffix(stem, METADATA)


def temporary(path: Path) -> Path:
    """A sibling name to write first and rename onto `path`, so readers never see half a file."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def read_json(path: Path, advice: str) -> Any:
    """The JSON value in `path`; an unreadable, empty or malformed file raises CorruptFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CorruptFileError(path, f"not text ({error.reason})", advice) from error
    if not text.strip():
        raise CorruptFileError(path, "the file is empty", advice)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptFileError(path, f"not valid JSON ({error.msg} at line {error.lineno}, "
                               f"column {error.colno}): truncated or overwritten", advice) from error


def read_json_object(path: Path, advice: str) -> dict[str, Any]:
    """Like `read_json`, for files that must hold one JSON object."""
    value = read_json(path, advice)
    if not isinstance(value, dict):
        raise CorruptFileError(path, f"expected a JSON object, found {type(value).__name__}", advice)
    return value


def read_tensors(path: Path, advice: str, device: str = "cpu") -> dict[str, Any]:
    """The tensors of a safetensors file; a damaged one raises CorruptFileError naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise CorruptFileError(path, f"not a readable safetensors file ({error})", advice) from error


def read_tensor_header(path: Path, advice: str) -> dict[str, str]:
    """The string metadata of a safetensors file's header (empty if it has none)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise CorruptFileError(path, f"not a readable safetensors file ({error})", advice) from error
