"""Issue 14, the CLI: what a user meets in the first hour.

`advcat --version`; `--weights FILE` beside `--model`; a .pth given as --model; unknown attack
options listing the valid ones; evaluate's header and resume count; gallery checking every input
before it writes; timm weights offline failing at once. Models are tiny timm networks; no network.
"""

from __future__ import annotations

import socket
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import advcat
from advcat.cli.main import main
from advcat.models import ModelInfo, PixelModel, replace_head, save_checkpoint

ARCH = "timm:test_resnet"
FAVOURITE = 7  # the class the weights file below makes the network pick, whatever the image


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny 3-class checkpoint, state dicts of ARCH (.pth and .safetensors) that always answer
    FAVOURITE, an image, and a small labelled data file."""
    root = tmp_path_factory.mktemp("first_hour")
    base = advcat.load_model(ARCH, weights=None)
    state = {key: torch.zeros_like(value) for key, value in base.net.state_dict().items()}
    state["fc.bias"][FAVOURITE] = 20.0
    torch.save(state, root / "r18.pth")
    save_file(state, str(root / "r18.safetensors"))
    small = advcat.load_model(ARCH, weights=None)
    replace_head(small.net, 3)
    info = ModelInfo.from_dict({**small.info.to_dict(), "classes": ["cat", "dog", "bird"],
                                "input_size": 32, "resize": 32})
    model = save_checkpoint(PixelModel(small.net, info), root / "tiny")
    image = advcat.save_image(torch.rand(3, 32, 32), root / "photo.png")
    torch.manual_seed(0)
    data = {"x": torch.rand(6, 3, 32, 32), "y": torch.tensor([0, 1, 2, 0, 1, 2])}
    save_file(data, str(root / "data.safetensors"))
    return {"pth": str(root / "r18.pth"), "safetensors": str(root / "r18.safetensors"), "model": str(model),
            "image": str(image), "data": str(root / "data.safetensors"), "root": str(root)}


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line; assert exit 2 with one error line and no traceback; return the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: " in err and "Traceback" not in err, err
    return err


def test_version_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"advcat {version('advcat')}"


class _Loaded(Exception):
    """Raised by the stand-in load_model once it has recorded what it was asked for."""


@pytest.mark.parametrize("command", ["predict", "attack", "attribute", "evaluate", "synthesize"])
def test_every_command_with_model_takes_weights(command, files, monkeypatch, tmp_path):
    asked = []

    def record(name, weights="DEFAULT", device=None):
        asked.append((name, weights))
        raise _Loaded

    monkeypatch.setattr(advcat, "load_model", record)
    argv = {
        "predict": ["predict", files["image"]],
        "attack": ["attack", files["image"], "--out", str(tmp_path / "a")],
        "attribute": ["attribute", files["image"], "--out", str(tmp_path / "b")],
        "evaluate": ["evaluate", "--data", files["data"], "--eps", "1/255"],
        "synthesize": ["synthesize", "--target", "1", "--out", str(tmp_path / "c")],
    }[command]
    with pytest.raises(_Loaded):
        main([*argv, "--model", ARCH, "--weights", files["pth"]])
    assert asked == [(ARCH, files["pth"])]


@pytest.mark.parametrize("suffix", ["pth", "safetensors"])
def test_predict_loads_a_state_dict_into_the_architecture(suffix, files, capsys):
    assert main(["predict", files["image"], "--model", ARCH, "--weights", files[suffix], "--topk", "1"]) == 0
    top = capsys.readouterr().out.splitlines()[1]
    assert top.endswith(f"({FAVOURITE})") and "100.0%" in top, top


def test_a_pth_given_as_the_model_names_it_and_suggests_weights(files, capsys):
    err = _error(["predict", files["image"], "--model", files["pth"]], capsys)
    assert files["pth"] in err and "--weights" in err and "r18.safetensors" not in err, err
    err = _error(["predict", files["image"], "--model", "missing.pt"], capsys)
    assert "missing.pt" in err and "--weights" in err and "missing.safetensors" not in err, err


def test_weights_that_do_not_fit_are_refused_naming_the_file(files, capsys):
    err = _error(["predict", files["image"], "--model", "timm:test_vit", "--weights", files["pth"]], capsys)
    assert files["pth"] in err and "does not fit timm:test_vit" in err and "missing" in err, err


def test_weights_are_refused_with_a_checkpoint_or_when_missing(files, capsys):
    err = _error(["predict", files["image"], "--model", files["model"], "--weights", files["pth"]], capsys)
    assert "checkpoint" in err and "own weights" in err, err
    err = _error(["predict", files["image"], "--model", ARCH, "--weights", "nowhere.pth"], capsys)
    assert "--weights" in err and "nowhere.pth" in err, err
    err = _error(["predict", files["image"], "--model", ARCH, "--weights", files["data"][:-12] + ".json"],
                 capsys)
    assert "--weights" in err and ".safetensors, .pt or .pth" in err, err


def test_a_pickled_module_as_weights_is_refused_not_unpickled(files, tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(ValueError, match="whole.pth.*weights_only=True"):
        advcat.load_model(ARCH, weights=path)


def test_an_unknown_attack_option_lists_the_valid_ones(files, capsys):
    err = _error(["attack", files["image"], "--model", files["model"], "--option", "foo=1"], capsys)
    assert "foo" in err
    for option in ("steps", "step_size", "restarts", "random_start", "loss", "eot"):
        assert option in err, err
    err = _error(["attack", files["image"], "--model", files["model"], "--method", "cw",
                  "--option", "kapa=1"], capsys)
    assert "kapa" in err and "kappa" in err and "search_steps" in err, err


def test_evaluate_prints_a_header_and_how_much_it_resumed(files, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", files["model"], "--data", files["data"], "--eps", "1/255",
            "--attacks", "fgsm", "--batch-size", "2", "--no-sanity", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    row = next(i for i, line in enumerate(printed) if "| advcat custom |" in line)
    assert printed[row - 2].startswith("| model | clean accuracy (%) | robust accuracy (%) | threat | eps |")
    assert printed[row - 2].count("|") == printed[row].count("|")
    assert set(printed[row - 1]) == {"|", "-"}
    assert not any("resumed" in line for line in printed)
    (out / "batches" / "000001.json").unlink()
    assert main(argv) == 0
    assert f"resumed 2 of 3 batches from {out}" in capsys.readouterr().out
    assert main([*argv, "--no-resume"]) == 0
    assert "resumed" not in capsys.readouterr().out


def test_gallery_checks_every_input_before_writing(files, tmp_path, capsys):
    model = advcat.load_model(files["model"])
    x = advcat.load_image(files["image"], model)
    saved = [advcat.attack(model, x, method="fgsm", eps=2 / 255).save(tmp_path / f"r{i}") for i in range(2)]
    (tmp_path / "not_a_report").mkdir()
    out = tmp_path / "gallery"
    err = _error(["gallery", *map(str, saved), str(tmp_path / "not_a_report"), "--out", str(out)], capsys)
    assert "not_a_report" in err
    assert not out.exists() or not any(out.iterdir())
    (tmp_path / "other.json").write_text("{}")
    err = _error(["gallery", str(saved[0]), str(tmp_path / "other.json"), "--out", str(out)], capsys)
    assert "other.json" in err and "not a saved advcat result" in err
    assert not out.exists() or not any(out.iterdir())
    saved[1].with_suffix(".safetensors").unlink()
    err = _error(["gallery", str(saved[0]), str(saved[1]), "--out", str(out)], capsys)
    assert "r1.safetensors" in err and "missing" in err
    assert not out.exists() or not any(out.iterdir())


def _refuse(*args, **kwargs):
    raise ConnectionRefusedError("no network in tests")


def _cache_weights(cache: Path) -> dict[str, torch.Tensor]:
    """ARCH's weights where the Hugging Face cache keeps timm's download of them; returns them."""
    state = advcat.load_model(ARCH, weights=None).net.state_dict()
    repo = cache / "models--timm--test_resnet.r160_in1k"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / "model.safetensors"))
    return state


@pytest.mark.parametrize("offline", [False, True])
def test_timm_weights_offline_fail_at_once(offline, files, tmp_path, monkeypatch, capsys):
    import huggingface_hub
    import timm.models._hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    downloads = []
    cache = tmp_path / "cache"

    def download(*args, filename, **kwargs):
        downloads.append(filename)
        cached = cache / "models--timm--test_resnet.r160_in1k" / "snapshots" / ("0" * 40) / filename
        if cached.is_file():
            return str(cached)
        raise LocalEntryNotFoundError("not in the cache and no connection")

    for name in ("getaddrinfo", "create_connection"):
        monkeypatch.setattr(socket, name, _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(timm.models._hub, "hf_hub_download", download)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    err = _error(["predict", files["image"], "--model", ARCH], capsys)
    assert len(downloads) <= 1, downloads
    assert f"'{ARCH}'" in err and "needs internet" in err, err
    assert "weights=None" in err and "--weights" in err, err
    assert ("HF_HUB_OFFLINE" in err) == offline
    # weights already in the cache load offline as before
    state = _cache_weights(cache)
    model = advcat.load_model(ARCH)
    assert model.info.weights == "timm pretrained"
    assert torch.equal(model.net.state_dict()["fc.weight"], state["fc.weight"])
