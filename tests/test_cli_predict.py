"""`advcat predict`: top classes for files and sample photos; user errors as one line, exit 2."""

from __future__ import annotations

import runpy
import sys

import pytest
import torch

import advcat
from advcat.cli.main import COMMANDS, main
from advcat.models import ModelInfo, PixelModel, replace_head, save_checkpoint


@pytest.fixture
def reuse_default(monkeypatch, default_model):
    """Serve the session's default model instead of loading it again for every command."""
    real = advcat.load_model

    def load(name="efficientnet_lite0", **kwargs):
        return default_model if name == "efficientnet_lite0" else real(name, **kwargs)

    monkeypatch.setattr(advcat, "load_model", load)


def _ranked(out: str) -> list[tuple[str, int]]:
    """(class name, index) of every ranked line of the output."""
    rows = []
    for line in out.splitlines():
        if line.startswith("  ") and line.strip()[0].isdigit():
            name, _, index = line.split("%", 1)[1].strip().rpartition(" (")
            rows.append((name, int(index.rstrip(")"))))
    return rows


def test_python_dash_m_predicts_a_cat(reuse_default, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["advcat", "predict", "chelsea", "--topk", "2"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("advcat", run_name="__main__")
    assert done.value.code == 0
    out = capsys.readouterr().out
    rows = _ranked(out)
    assert len(rows) == 2 and 281 <= rows[0][1] <= 285
    assert out.startswith("chelsea  (efficientnet_lite0)")


def test_predict_several_images(reuse_default, capsys):
    assert main(["predict", "coffee", "grace_hopper", "--topk", "5"]) == 0
    rows = _ranked(capsys.readouterr().out)
    assert len(rows) == 10
    assert rows[0] == ("espresso", 967)
    assert ("military uniform", 652) in rows[5:]


def test_predict_a_file_with_a_checkpoint_model(tmp_path, capsys):
    base = advcat.load_model("timm:resnet10t", weights=None)
    replace_head(base.net, 3)
    info = ModelInfo.from_dict({**base.info.to_dict(), "classes": ["cat", "dog", "bird"],
                                "input_size": 32, "resize": 36})
    path = save_checkpoint(PixelModel(base.net, info), tmp_path / "pets")
    image = advcat.save_image(torch.rand(3, 40, 50), tmp_path / "photo.png")
    assert main(["predict", str(image), "--model", str(path), "--topk", "9"]) == 0
    rows = _ranked(capsys.readouterr().out)
    assert sorted(rows) == [("bird", 2), ("cat", 0), ("dog", 1)]


@pytest.mark.parametrize("argv, message", [
    (["predict", "no_such_photo"], "no image file 'no_such_photo'"),
    (["predict", "chelsea", "--topk", "0"], "argument --topk: expected an integer >= 1"),
    (["predict", "chelsea", "--model", "resnet5"], "unknown model 'resnet5'"),
])
def test_user_errors_are_one_line_with_exit_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_non_image_file_is_a_user_error(tmp_path, reuse_default, capsys):
    path = tmp_path / "letter.png"
    path.write_text("Dear reader")
    assert main(["predict", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an image file" in err


@pytest.mark.parametrize("argv", [[], ["predict"], ["bogus"], ["predict", "x", "--topk", "two"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: " in err and "--help')" in err


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
