"""Typed records of an evaluation: what one batch found (`BatchRecord`, with one `EpsOutcome` per
eps) and the sums over all batches that the sanity checks read (`Totals`).

Batch records are what a resumable run commits to disk, so each record has `to_json` and a strict
`from_json`: a record of another version, or with a field missing, unexpected or of the wrong type,
is refused with a CorruptFileError naming its file, never read into a wrong report.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

from advcat.io_paths import CorruptFileError

VERSION = 2
REDO = "rerun the evaluation with resume=False, or with a new out= folder"
_EXPECTED = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}

R = TypeVar("R", bound="Record")


class _Unfit(Exception):
    """A decoded value that does not fit the record's types; the message says which field and how."""


class _OtherVersion(_Unfit):
    """A record (or a record inside it) of a version this advcat does not read."""


class Record:
    """The versioned JSON round trip the record types share: plain dicts and lists out, checked types in."""

    KIND: ClassVar[str] = "record"

    def to_json(self) -> dict[str, Any]:
        """The record as JSON types (dicts, lists, numbers, strings, null), its `version` first."""
        plain = _plain(self)
        assert isinstance(plain, dict)
        return plain

    @classmethod
    def from_json(cls: type[R], data: object, source: Path, advice: str = REDO) -> R:
        """The record `data` (decoded JSON from the file `source`) holds; one of another version, or
        with a field missing, unexpected or mistyped, raises CorruptFileError naming `source`."""
        try:
            record = _decode(cls, data, "")
        except _OtherVersion as other:
            raise CorruptFileError(source, str(other), advice) from None
        except _Unfit as unfit:
            raise CorruptFileError(source, f"not a whole {cls.KIND}: {unfit}", advice) from None
        assert isinstance(record, cls)
        return record

    def inconsistency(self) -> str | None:
        """What contradicts itself among the record's fields (lengths that must agree), or None."""
        return None


@dataclass(frozen=True)
class DoubledCounts:
    """The doubled-steps check on the subset: its points, those the first stage broke (`single`) and
    those it broke with twice the steps (`doubled`)."""

    points: int
    single: int
    doubled: int


@dataclass(frozen=True)
class MarginCounts:
    """The margin-loss check on the subset: its points, the margin attack's breaks, the first stage's
    (None if gradient-free), every other attack's, and the margin attack's breaks they all missed."""

    points: int
    broken: int
    first: int | None
    broken_other: int
    missed: int


@dataclass(frozen=True)
class ProbeCounts:
    """The gradient probe on a batch's clean-correct points: all-zero and NaN/inf gradients, and
    whether a second forward pass gave different logits."""

    points: int
    zero: int
    nan: int
    randomized: bool


@dataclass(frozen=True)
class LargeCounts:
    """The unbounded attack on the subset: its points and those left robust."""

    points: int
    robust: int


@dataclass(frozen=True)
class EpsOutcome(Record):
    """One batch at one eps: the code of what broke each point (-2 misclassified clean, -1 robust,
    else a stage or a sanity attack), each stage's points standing, broken and seconds, and the
    sanity attacks' counts (None where they did not run)."""

    KIND: ClassVar[str] = "evaluation per-eps outcome"

    version: int = field(default=VERSION, kw_only=True)
    broken_by: tuple[int, ...]
    stage_standing: tuple[int, ...]
    stage_broken: tuple[int, ...]
    stage_seconds: tuple[float, ...]
    fgsm_broken: int | None
    fgsm_only: int | None
    doubled: DoubledCounts | None
    margin: MarginCounts | None
    seconds_sanity: float

    def inconsistency(self) -> str | None:
        """Different stage counts in stage_standing, stage_broken and stage_seconds."""
        if not len(self.stage_standing) == len(self.stage_broken) == len(self.stage_seconds):
            return "stage_standing, stage_broken and stage_seconds do not hold one value per stage each"
        return None


@dataclass(frozen=True)
class BatchRecord(Record):
    """One batch: its points' data-set indices, labels and clean correctness, an `EpsOutcome` per eps,
    the probes (None with the sanity checks off) and the seconds each part took."""

    KIND: ClassVar[str] = "evaluation batch record"

    version: int = field(default=VERSION, kw_only=True)
    index: tuple[int, ...]
    label: tuple[int, ...]
    clean: tuple[bool, ...]
    eps: tuple[EpsOutcome, ...]
    probe: ProbeCounts | None
    large: LargeCounts | None
    seconds_clean: float
    seconds_probes: float
    seconds: float

    def inconsistency(self) -> str | None:
        """Per-point lists of other lengths than `index`, or outcomes of different stage counts."""
        points = len(self.index)
        for name, values in (("label", self.label), ("clean", self.clean)):
            if len(values) != points:
                return f"{name} does not hold one value per point"
        if any(len(outcome.broken_by) != points for outcome in self.eps):
            return "an eps entry does not hold one broken_by value per point"
        if len({len(outcome.stage_standing) for outcome in self.eps}) > 1:
            return "the eps entries count different numbers of stages"
        return None


@dataclass(frozen=True)
class AdaptiveOutcome(Record):
    """The adaptive stage on one batch at one eps: per point the adaptive stage that broke it (-1: none,
    or not attacked: broken or misclassified already), and each adaptive stage's points standing,
    broken and seconds."""

    KIND: ClassVar[str] = "adaptive per-eps outcome"

    version: int = field(default=VERSION, kw_only=True)
    broken_by: tuple[int, ...]
    stage_standing: tuple[int, ...]
    stage_broken: tuple[int, ...]
    stage_seconds: tuple[float, ...]

    def inconsistency(self) -> str | None:
        """Different stage counts in stage_standing, stage_broken and stage_seconds."""
        if not len(self.stage_standing) == len(self.stage_broken) == len(self.stage_seconds):
            return "stage_standing, stage_broken and stage_seconds do not hold one value per stage each"
        return None


@dataclass(frozen=True)
class AdaptiveRecord(Record):
    """The adaptive stage on one batch: its points' data-set indices, an `AdaptiveOutcome` per eps,
    and its seconds (committed under `out`/adaptive/ beside the naive batch records)."""

    KIND: ClassVar[str] = "adaptive batch record"

    version: int = field(default=VERSION, kw_only=True)
    index: tuple[int, ...]
    eps: tuple[AdaptiveOutcome, ...]
    seconds: float

    def inconsistency(self) -> str | None:
        """An outcome without one value per point, or outcomes of different stage counts."""
        if any(len(outcome.broken_by) != len(self.index) for outcome in self.eps):
            return "an eps entry does not hold one broken_by value per point"
        if len({len(outcome.stage_standing) for outcome in self.eps}) > 1:
            return "the eps entries count different numbers of stages"
        return None


@dataclass(frozen=True)
class Totals(Record):
    """The sums over every batch that the sanity checks read, one value per eps where a tuple;
    `robust` is in percent and `first_stage` names the stage the doubled and margin checks compare."""

    KIND: ClassVar[str] = "evaluation totals"

    version: int = field(default=VERSION, kw_only=True)
    n: int
    eps: tuple[float, ...]
    robust: tuple[float, ...]
    first_stage: str
    gf_standing: tuple[int | None, ...]
    gf_broken: tuple[int | None, ...]
    fgsm_broken: tuple[int | None, ...]
    fgsm_only: tuple[int, ...]
    gradient_broken: tuple[int, ...]
    doubled: tuple[DoubledCounts | None, ...]
    margin: tuple[MarginCounts | None, ...]
    large_points: int
    large_robust: int
    large_eps: float
    probe_points: int
    zero_gradients: int
    nan_gradients: int
    randomized: bool

    def inconsistency(self) -> str | None:
        """A per-eps tuple that does not hold one value per eps."""
        per_eps = ("robust", "gf_standing", "gf_broken", "fgsm_broken", "fgsm_only", "gradient_broken",
                   "doubled", "margin")
        for name in per_eps:
            if len(getattr(self, name)) != len(self.eps):
                return f"{name} does not hold one value per eps"
        return None


def _plain(value: Any) -> Any:
    """`value` as JSON types: a dataclass as a dict of its fields, a tuple as a list."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _decode(kind: Any, value: object, where: str) -> Any:
    """`value` (decoded JSON at field `where`) as the type `kind`: a record or counts dataclass,
    a tuple of one type, an optional type, or int, float, bool or str (ints pass for floats)."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _decode_fields(kind, value, where)
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _decode(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise _Unfit(f"{where} is {_found(value)}, expected a list")
        return tuple(_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if type(value) is kind:
        return value
    raise _Unfit(f"{where} is {_found(value)}, expected {_EXPECTED[kind]}")


def _decode_fields(cls: type, value: object, where: str) -> Any:
    """The dataclass `cls` from a JSON object holding exactly its fields (and its version)."""
    if not isinstance(value, dict):
        raise _Unfit(f"{where or 'the record'} is {_found(value)}, expected an object")
    names = [f.name for f in dataclasses.fields(cls)]
    if "version" in names:
        _check_version(cls, value, where)
    missing = [name for name in names if name not in value]
    if missing:
        raise _Unfit(f"{_within(where)}missing field(s) {', '.join(missing)}")
    unexpected = sorted(str(key) for key in value if key not in names)
    if unexpected:
        raise _Unfit(f"{_within(where)}unexpected field(s) {', '.join(unexpected)}")
    hints = get_type_hints(cls)
    decoded = cls(**{name: _decode(hints[name], value[name], _join(where, name)) for name in names})
    problem = decoded.inconsistency() if isinstance(decoded, Record) else None
    if problem:
        raise _Unfit(f"{_within(where)}{problem}")
    return decoded


def _check_version(cls: type, value: dict[str, Any], where: str) -> None:
    """Refuse a record without `version`, or of a version other than this advcat's."""
    found = value.get("version")
    if type(found) is int and found == VERSION:
        return
    what = "an " + getattr(cls, "KIND", cls.__name__) + (f" at {where}" if where else "")
    reads = f"this one reads version {VERSION} only"
    if "version" not in value:
        raise _OtherVersion(f"{what} without a version, written by an older advcat ({reads})")
    raise _OtherVersion(f"{what} of version {found!r}, written by another advcat ({reads})")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _within(where: str) -> str:
    return f"{where}: " if where else ""


def _found(value: object) -> str:
    """A short description of a JSON value for an error message."""
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
