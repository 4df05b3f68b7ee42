"""Issue 13, item 14: every user error of every subcommand is one line on stderr and exit status 2.

Bugs keep their traceback; Ctrl-C is one line and status 130. Models are a tiny timm network saved
as an advcat checkpoint, so no test loads the embedded model.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import advcat
from advcat.cli.main import main
from advcat.models import ModelInfo, PixelModel, replace_head, save_checkpoint


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny 3-class checkpoint, an image, a data file, and garbage where JSON is read."""
    root = tmp_path_factory.mktemp("cli")
    base = advcat.load_model("timm:test_resnet", weights=None)
    replace_head(base.net, 3)
    info = ModelInfo.from_dict({**base.info.to_dict(), "classes": ["cat", "dog", "bird"],
                                "input_size": 32, "resize": 32})
    model = save_checkpoint(PixelModel(base.net, info), root / "tiny")
    image = advcat.save_image(torch.rand(3, 32, 32), root / "photo.png")
    (root / "garbage.json").write_text("{not json")
    (root / "garbage.safetensors").write_bytes(b"\x00garbage")
    (root / "a_file").write_text("not a folder")
    (root / "images" / "cat").mkdir(parents=True)
    return {"model": str(model), "image": str(image), "garbage": str(root / "garbage.json"),
            "file": str(root / "a_file"), "folder": str(root / "images"), "root": str(root)}


def _one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line; assert exit 2 with one error line and no traceback; return the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("advcat") and ": error: " in err, err
    assert "Traceback" not in err
    return err


def _cases(files: dict[str, str], command: str) -> list[tuple[list[str], str]]:
    m, img = files["model"], files["image"]
    ev = ["evaluate", "--model", m, "--data", "imagenet_samples"]
    return {
        "predict": [
            (["predict", "no_such.png", "--model", m], "no_such.png"),
            (["predict", img, "--model", "resnet5"], "unknown model 'resnet5'"),
            (["predict", img, "--model", files["garbage"]], "garbage.json"),
            (["predict", img, "--topk", "0"], "--topk"),
        ],
        "attack": [
            (["attack", img, "--model", m, "--eps", "1e400"], "--eps"),
            (["attack", img, "--model", m, "--eps", "nan"], "--eps"),
            (["attack", img, "--model", m, "--eps", "inf"], "--eps"),
            (["attack", img, "--model", m, "--eps", "-1/255"], "--eps"),
            (["attack", img, "--model", m, "--method", "bogus"], "unknown attack method 'bogus'"),
            (["attack", img, "--model", m, "--option", "bogus=1"], "bogus"),
            (["attack", img, "--model", m, "--steps", "0"], "--steps"),
            (["attack", "missing.jpg", "--model", m], "missing.jpg"),
            (["attack", img, "--model", "nope:net"], "unknown model"),
            (["attack", img, "--model", m, "--out", files["file"]], "--out"),
        ],
        "attribute": [
            (["attribute", img, "--model", m, "--method", "bogus"], "unknown attribution method"),
            (["attribute", img, "--model", m, "--baseline", "nan"], "--baseline"),
            (["attribute", img, "--model", m, "--batch-size", "0"], "--batch-size"),
            (["attribute", "missing.jpg", "--model", m], "missing.jpg"),
        ],
        "synthesize": [
            (["synthesize", "--out", "x", "--model", m, "--target", "cat", "--lr", "inf"], "--lr"),
            (["synthesize", "--out", "x", "--model", m, "--target", "cat", "--tv", "nan"], "--tv"),
            (["synthesize", "--out", "x", "--model", m, "--target", "cat", "--steps", "0"], "--steps"),
            (["synthesize", "--out", "x", "--model", m], "--target"),
            (["synthesize", "--out", "x", "--model", m, "--channel", "layer"], "--channel"),
        ],
        "evaluate": [
            ([*ev, "--eps", "1e400"], "--eps"),
            ([*ev, "--eps", "nan"], "--eps"),
            ([*ev, "--eps", "1/255,,2/255"], "--eps"),
            ([*ev, "--eps", "1/255", "--device", "gpu7"], "--device"),
            ([*ev, "--eps", "1/255", "--points", "0"], "--points"),
            ([*ev, "--eps", "1/255", "--batch-size", "-1"], "--batch-size"),
            ([*ev, "--eps", "1/255", "--out", files["file"]], "--out"),
            (["evaluate", "--model", "resnet5", "--data", "imagenet_samples", "--eps", "1/255"],
             "unknown model"),
        ],
        "finetune": [
            (["finetune", "--data", "no_such_dir", "--out", "x"], "no_such_dir"),
            (["finetune", "--data", files["folder"], "--out", "x", "--lr", "inf"], "--lr"),
            (["finetune", "--data", files["folder"], "--out", "x", "--lr", "nan"], "--lr"),
            (["finetune", "--data", files["folder"], "--out", "x", "--epochs", "0"], "--epochs"),
            (["finetune", "--data", files["folder"], "--out", "x", "--val-fraction", "2"],
             "--val-fraction"),
        ],
        "gallery": [
            (["gallery", files["garbage"], "--out", "g"], "garbage.json"),
            (["gallery", "no_such_result.json", "--out", "g"], "no_such_result"),
            (["gallery", files["image"], "--out", files["file"]], "--out"),
        ],
        "demo": [
            (["demo", "--out", files["file"]], "--out"),
        ],
        "usage": [
            ([], "COMMAND"),
            (["bogus"], "bogus"),
            (["predict"], "IMAGE"),
            (["predict", img, "--topk", "two"], "--topk"),
        ],
    }[command]


COMMANDS = ["predict", "attack", "attribute", "synthesize", "evaluate", "finetune", "gallery",
            "demo", "usage"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_user_error_is_one_line_and_exit_status_2(command, files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for argv, message in _cases(files, command):
        err = _one_line(argv, capsys)
        assert message in err, (argv, err)
    assert not (tmp_path / "x").exists()


def test_a_garbage_checkpoint_names_the_file(files, tmp_path, capsys):
    weights = tmp_path / "bad.safetensors"
    weights.write_bytes(b"\x00garbage")
    (tmp_path / "bad.json").write_text('{"format": "advcat-checkpoint/1", "info": {"arch": "timm:x"}')
    err = _one_line(["predict", files["image"], "--model", str(weights)], capsys)
    assert "bad.json" in err and "not valid JSON" in err


def test_cuda_is_refused_where_the_machine_has_none(files, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0"):
        err = _one_line(["evaluate", "--model", files["model"], "--data", "imagenet_samples",
                         "--eps", "1/255", "--device", device], capsys)
        assert "no CUDA GPU" in err and "--device" in err


def test_a_bug_keeps_its_traceback(files, monkeypatch):
    import advcat.data

    # an operation failing inside advcat's code (not a `raise` with a message) is a bug
    monkeypatch.setattr(advcat.data, "image_path", None)
    with pytest.raises(TypeError, match="not callable"):
        main(["predict", files["image"], "--model", files["model"]])


def test_a_value_error_from_outside_advcat_is_a_bug(files, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("raised by some other library")

    monkeypatch.setattr(advcat, "load_model", broken)
    with pytest.raises(ValueError, match="some other library"):
        main(["predict", files["image"], "--model", files["model"]])


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("argv, resumes", [
    (["evaluate", "--data", "imagenet_samples", "--eps", "1/255", "--out", "run"], True),
    (["evaluate", "--data", "imagenet_samples", "--eps", "1/255"], False),
    (["finetune", "--data", "DATA", "--out", "run"], True),
    (["predict", "chelsea"], False),
])
def test_ctrl_c_is_one_line_and_exit_status_130(argv, resumes, files, monkeypatch, capsys):
    monkeypatch.setattr(advcat, "load_model", _interrupt)
    assert main([files["folder"] if a == "DATA" else a for a in argv]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"advcat {argv[0]}: interrupted")
    assert ("rerun the same command to resume" in err) == resumes


def test_the_installed_command_prints_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "advcat", "evaluate", "--data", "x", "--eps", "1e400"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--eps" in done.stderr and "Traceback" not in done.stderr
