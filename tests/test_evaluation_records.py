"""Issue 15, item 1: evaluation's records are typed, versioned and strict.

A batch record, its per-eps outcomes and the totals survive a JSON round trip unchanged; a record
of another version, or with a field missing, unexpected or of the wrong type, is refused with a
CorruptFileError naming the file and saying how to start afresh.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from advcat.evaluation.records import (
    VERSION,
    BatchRecord,
    DoubledCounts,
    EpsOutcome,
    LargeCounts,
    MarginCounts,
    ProbeCounts,
    Totals,
)
from advcat.io_paths import CorruptFileError

SOURCE = Path("run") / "batches" / "000003.json"


def _outcome(broken_by: tuple[int, ...] = (-2, 0, -1, 2)) -> EpsOutcome:
    return EpsOutcome(
        broken_by=broken_by,
        stage_standing=(3, 2),
        stage_broken=(1, 0),
        stage_seconds=(0.25, 1.5),
        fgsm_broken=1,
        fgsm_only=0,
        doubled=DoubledCounts(points=2, single=1, doubled=1),
        margin=MarginCounts(points=2, broken=1, first=None, broken_other=1, missed=0),
        seconds_sanity=0.125,
    )


def _record() -> BatchRecord:
    return BatchRecord(
        index=(12, 13, 14, 15),
        label=(3, 1, 4, 1),
        clean=(False, True, True, True),
        eps=(_outcome(), _outcome((-2, -1, -1, 0))),
        probe=ProbeCounts(points=3, zero=0, nan=1, randomized=False),
        large=LargeCounts(points=2, robust=0),
        seconds_clean=0.5,
        seconds_probes=2.0,
        seconds=7.75,
    )


def _totals() -> Totals:
    return Totals(
        n=40, eps=(0.05, 0.1), robust=(62.5, 12.5), first_stage="apgd_ce",
        gf_standing=(None, None), gf_broken=(None, None), fgsm_broken=(3, None), fgsm_only=(0, 1),
        gradient_broken=(10, 30), doubled=(DoubledCounts(8, 3, 4), None),
        margin=(None, MarginCounts(8, 6, 5, 6, 0)), large_points=8, large_robust=0, large_eps=1.0,
        probe_points=36, zero_gradients=0, nan_gradients=0, randomized=True,
    )


def _through_a_file(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))


WITHOUT_SANITY = dataclasses.replace(_record(), probe=None, large=None, seconds_probes=0.0)


@pytest.mark.parametrize("record", [_record(), WITHOUT_SANITY, _outcome(), _totals()],
                         ids=["batch", "batch without sanity", "eps", "totals"])
def test_records_round_trip_through_json(record: BatchRecord | EpsOutcome | Totals) -> None:
    data = _through_a_file(record.to_json())
    assert data["version"] == VERSION
    assert type(record).from_json(data, SOURCE) == record


def test_a_batch_records_json_is_plain_and_keeps_every_value() -> None:
    data = _record().to_json()
    assert data["index"] == [12, 13, 14, 15] and data["clean"] == [False, True, True, True]
    assert data["large"] == {"points": 2, "robust": 0}
    assert data["probe"] == {"points": 3, "zero": 0, "nan": 1, "randomized": False}
    assert data["eps"][1]["broken_by"] == [-2, -1, -1, 0]
    assert data["eps"][0]["margin"]["first"] is None and data["eps"][0]["stage_seconds"] == [0.25, 1.5]


def _refused(cls: type[BatchRecord] | type[Totals], data: object) -> str:
    with pytest.raises(CorruptFileError) as caught:
        cls.from_json(data, SOURCE)
    assert caught.value.path == SOURCE
    message = str(caught.value)
    assert message.startswith(str(SOURCE))
    assert "resume=False" in message and "out=" in message
    return message


def test_a_record_of_another_version_is_refused_naming_the_file() -> None:
    data = _through_a_file(_record().to_json())
    data["version"] = VERSION + 1
    message = _refused(BatchRecord, data)
    assert f"version {VERSION + 1}" in message and "another advcat" in message


def test_a_record_without_a_version_is_refused_as_an_older_advcats() -> None:
    data = _through_a_file(_record().to_json())
    del data["version"]
    assert "older advcat" in _refused(BatchRecord, data)


def test_an_outcome_of_another_version_inside_a_record_is_refused() -> None:
    data = _through_a_file(_record().to_json())
    data["eps"][1]["version"] = VERSION + 1
    assert f"eps[1] of version {VERSION + 1}" in _refused(BatchRecord, data)


@pytest.mark.parametrize(
    ("path", "field"),
    [((), "seconds"), ((), "eps"), (("eps", 0), "stage_seconds"), (("eps", 1, "margin"), "first"),
     (("probe",), "randomized")],
)
def test_a_missing_field_is_refused_naming_it(path: tuple[str | int, ...], field: str) -> None:
    data = _through_a_file(_record().to_json())
    part = data
    for key in path:
        part = part[key]
    del part[field]
    message = _refused(BatchRecord, data)
    assert f"missing field(s) {field}" in message


def _set(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        part = data
        for key in path[:-1]:
            part = part[key]
        part[path[-1]] = value

    return change


MISTYPED = {
    "index of floats": (_set(("index",), [12.0, 13.0, 14.0, 15.0]), "index[0]"),
    "clean as integers": (_set(("clean",), [0, 1, 1, 1]), "clean[0]"),
    "a label that is true": (_set(("label", 2), True), "label[2]"),
    "eps an object": (_set(("eps",), {"0": {}}), "eps is dict"),
    "first a string": (_set(("eps", 0, "margin", "first"), "7"), "eps[0].margin.first"),
    "probe a list": (_set(("probe",), [3, 0, 1, False]), "probe is list"),
    "seconds null": (_set(("seconds",), None), "seconds is null"),
    "an unexpected field": (_set(("eps", 0, "note"), "hand edit"), "unexpected field(s) note"),
    "labels short of the points": (_set(("label",), [3, 1]), "label does not hold one value per point"),
    "broken_by short of the points": (_set(("eps", 1, "broken_by"), [0]), "broken_by"),
    "stage lists of other lengths": (_set(("eps", 0, "stage_seconds"), [0.25]), "one value per stage"),
}


@pytest.mark.parametrize("case", MISTYPED)
def test_a_mistyped_or_inconsistent_field_is_refused_naming_it(case: str) -> None:
    change, named = MISTYPED[case]
    data = _through_a_file(_record().to_json())
    change(data)
    assert named in _refused(BatchRecord, data)


@pytest.mark.parametrize("value", [[1, 2], "record", None])
def test_a_record_that_is_not_an_object_is_refused(value: object) -> None:
    assert "expected an object" in _refused(BatchRecord, value)


def test_floats_accept_json_integers_but_integers_refuse_floats() -> None:
    data = _through_a_file(_record().to_json())
    data["seconds"] = 8
    assert BatchRecord.from_json(data, SOURCE).seconds == 8.0
    data["eps"][0]["fgsm_broken"] = 1.0
    assert "eps[0].fgsm_broken" in _refused(BatchRecord, data)


def test_totals_with_a_per_eps_tuple_of_another_length_are_refused() -> None:
    data = _through_a_file(_totals().to_json())
    data["margin"] = data["margin"][:1]
    assert "margin does not hold one value per eps" in _refused(Totals, data)


def test_records_are_frozen() -> None:
    record = _record()
    with pytest.raises(AttributeError):
        record.seconds = 0.0  # type: ignore[misc]
    assert record.seconds == 7.75
