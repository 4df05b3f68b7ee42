"""Issue 13, item 12: damaged resume state is refused with a ValueError naming the file and the fix.

evaluate's out= folder (config.json, batches/NNNNNN.json), fine-tuning's OUT/last.* state and
checkpoints are each damaged the ways a crash, a full disk or a hand edit damages them: truncated,
emptied, overwritten with garbage, renamed, or left without the config that says whose they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import advcat
from advcat.data import TensorImages
from advcat.evaluation.records import VERSION
from advcat.models import load_checkpoint
from advcat.transfer import finetune

EVALUATE = dict(eps=[0.05], attacks=["fgsm"], n=12, batch_size=4, sanity=False, progress=False)
GARBAGE = bytes(range(256)) * 4


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(GARBAGE)


DAMAGE = {"truncated": _truncate, "empty": _empty, "garbage": _garbage}


@pytest.fixture(scope="module")
def model() -> advcat.PixelModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, 3))
    return advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=8).eval()


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(12, 3, 8, 8, generator=g), torch.randint(0, 3, (12,), generator=g)


@pytest.fixture(scope="module")
def finished(model, data, tmp_path_factory) -> tuple[Path, advcat.evaluation.Report]:  # noqa: ANN001
    """A completed evaluate run folder (3 batches) and its report, copied by each test."""
    out = tmp_path_factory.mktemp("finished") / "run"
    return out, advcat.evaluate(model, data, out=out, **EVALUATE)


def _copy(finished, tmp_path: Path) -> Path:  # noqa: ANN001
    out = tmp_path / "run"
    shutil.copytree(finished[0], out)
    return out


def _refused(model, data, out: Path, file: Path, **options) -> str:  # noqa: ANN001, ANN003
    with pytest.raises(ValueError) as caught:
        advcat.evaluate(model, data, out=out, **{**EVALUATE, **options})
    message = str(caught.value)
    assert str(file) in message
    return message


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_batch_file_is_refused_naming_it(model, data, finished, tmp_path, damage) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000001.json"
    DAMAGE[damage](batch)
    message = _refused(model, data, out, batch)
    assert "delete" in message and "out=" in message


def test_deleting_the_refused_batch_recomputes_it_and_gives_the_same_report(model, data, finished, tmp_path) -> None:  # noqa: ANN001, E501
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000001.json"
    _garbage(batch)
    _refused(model, data, out, batch)
    batch.unlink()
    again = advcat.evaluate(model, data, out=out, **EVALUATE)
    assert again.robust_accuracy == finished[1].robust_accuracy
    assert json.loads(batch.read_text())["index"] == [4, 5, 6, 7]


def test_a_batch_file_holding_another_batchs_record_is_refused(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batches = out / "batches"
    (batches / "000000.json").unlink()
    (batches / "000002.json").rename(batches / "000000.json")
    message = _refused(model, data, out, batches / "000000.json")
    assert "another batch" in message


def test_a_batch_number_beyond_the_run_or_a_foreign_name_is_refused(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batches = out / "batches"
    shutil.copy(batches / "000002.json", batches / "000007.json")
    _refused(model, data, out, batches / "000007.json")
    (batches / "000007.json").rename(batches / "2 (copy).json")
    _refused(model, data, out, batches / "2 (copy).json")


def test_a_record_of_other_settings_in_a_batch_file_is_refused(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000001.json"
    record = json.loads(batch.read_text())
    record["eps"] = record["eps"] * 2
    batch.write_text(json.dumps(record))
    _refused(model, data, out, batch)
    stages = ("stage_standing", "stage_broken", "stage_seconds")
    record["eps"] = [{**row, **{key: row[key] * 2 for key in stages}} for row in record["eps"][:1]]
    batch.write_text(json.dumps(record))
    assert "attacks" in _refused(model, data, out, batch)
    batch.write_text(json.dumps([1, 2, 3]))
    _refused(model, data, out, batch)


def test_a_batch_file_of_an_older_advcat_is_refused_and_resume_false_recomputes_it(model, data, finished, tmp_path) -> None:  # noqa: ANN001, E501
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000002.json"
    record = json.loads(batch.read_text())
    del record["version"]  # batch records before issue 15 had none
    batch.write_text(json.dumps(record))
    message = _refused(model, data, out, batch)
    assert "older advcat" in message and "resume=False" in message and "new out=" in message
    fresh = advcat.evaluate(model, data, out=out, resume=False, **EVALUATE)
    assert fresh.to_dict(times=False) == finished[1].to_dict(times=False)
    assert json.loads(batch.read_text())["version"] == VERSION


@pytest.mark.parametrize("field", ["stage_broken", "broken_by"])
def test_a_batch_file_missing_a_field_is_refused_naming_it(model, data, finished, tmp_path, field) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000000.json"
    record = json.loads(batch.read_text())
    del record["eps"][0][field]
    batch.write_text(json.dumps(record))
    assert f"missing field(s) {field}" in _refused(model, data, out, batch)


def test_a_batch_file_with_a_mistyped_field_is_refused_naming_it(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    batch = out / "batches" / "000000.json"
    record = json.loads(batch.read_text())
    record["clean"] = [int(c) for c in record["clean"]]
    batch.write_text(json.dumps(record))
    assert "clean[0]" in _refused(model, data, out, batch)


def test_batch_files_without_a_config_are_not_reused(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    (out / "config.json").unlink()
    message = _refused(model, data, out, out / "config.json", eps=[0.1])
    assert "new out=" in message
    fresh = advcat.evaluate(model, data, out=out, resume=False, **{**EVALUATE, "eps": [0.1]})
    assert fresh.eps == [0.1]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_config_is_refused_naming_it(model, data, finished, tmp_path, damage) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    DAMAGE[damage](out / "config.json")
    _refused(model, data, out, out / "config.json")


def test_a_config_of_different_settings_is_refused_naming_it(model, data, finished, tmp_path) -> None:  # noqa: ANN001
    out = _copy(finished, tmp_path)
    message = _refused(model, data, out, out / "config.json", eps=[0.1])
    assert "eps" in message and "new out=" in message


# --- fine-tuning's resume state and checkpoints ------------------------------------------------------

FINETUNE = dict(strategy="linear", epochs=1, lr=1e-2, image_size=16, patience=None, progress=False,
                batch_size=8, augment=None, val_fraction=0.0)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> tuple[Path, advcat.PixelModel, TensorImages]:  # noqa: ANN001
    """A finished one-epoch fine-tuning run folder, its backbone and its training data."""
    torch.manual_seed(0)
    backbone = advcat.load_model("timm:test_efficientnet", weights=None)
    g = torch.Generator().manual_seed(2)
    train = TensorImages(torch.rand(12, 3, 16, 16, generator=g), torch.arange(12) % 3,
                         classes=("a", "b", "c"))
    out = tmp_path_factory.mktemp("tuned") / "run"
    finetune(backbone, train, out=out, **FINETUNE)
    return out, backbone, train


def _tuned_copy(tuned, tmp_path: Path) -> Path:  # noqa: ANN001
    out = tmp_path / "run"
    shutil.copytree(tuned[0], out)
    return out


@pytest.mark.parametrize("name", ["last.json", "last.safetensors", "last.optim.safetensors"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_fine_tuning_state_is_refused_naming_it(tuned, tmp_path, name, damage) -> None:  # noqa: ANN001
    out = _tuned_copy(tuned, tmp_path)
    DAMAGE[damage](out / name)
    with pytest.raises(ValueError) as caught:
        finetune(tuned[1], tuned[2], out=out, **FINETUNE)
    assert str(out / name) in str(caught.value)
    assert "resume=False" in str(caught.value) or "delete" in str(caught.value)


def test_a_fine_tuning_record_without_its_fields_is_refused(tuned, tmp_path) -> None:  # noqa: ANN001
    out = _tuned_copy(tuned, tmp_path)
    meta = out / "last.json"
    record = json.loads(meta.read_text())
    del record["extra"]["finetune"]["epoch"]
    meta.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="last.json"):
        finetune(tuned[1], tuned[2], out=out, **FINETUNE)


@pytest.mark.parametrize("name", ["model.json", "model.safetensors"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_checkpoint_is_refused_naming_the_file(tuned, tmp_path, name, damage) -> None:  # noqa: ANN001
    out = _tuned_copy(tuned, tmp_path)
    DAMAGE[damage](out / name)
    loaders: list[Callable[[Path], object]] = [load_checkpoint, advcat.load_model]
    for load in loaders:
        with pytest.raises(ValueError) as caught:
            load(out)
        assert str(out / name) in str(caught.value)


def test_a_checkpoint_whose_tensors_do_not_fit_its_network_is_refused(tuned, tmp_path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    out = _tuned_copy(tuned, tmp_path)
    save_file({"weight": torch.zeros(2)}, str(out / "model.safetensors"))
    with pytest.raises(ValueError, match="model.safetensors.*do not fit"):
        load_checkpoint(out)
