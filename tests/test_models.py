"""The model layer: the embedded default loads strictly and offline and predicts what it should;
the zoo, wrapper, guard, taps and checkpoints keep their promises."""

from __future__ import annotations

import hashlib
import shutil
import socket

import pytest
import torch
from torch import nn

import advcat
from advcat.models import (
    ModelInfo,
    PixelModel,
    borrowed,
    layer_names,
    replace_head,
    resolve_layer,
    save_checkpoint,
    tap,
)
from advcat.models.embedded import build_embedded, map_keys, verify_sha256, weights_file


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails."""

    def refuse(*args, **kwargs):
        raise OSError("network access is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- the embedded default -------------------------------------------------------------------------


def test_default_model_metadata(default_model):
    info = default_model.info
    assert isinstance(default_model, PixelModel)
    assert info.name == "efficientnet_lite0"
    assert (info.input_size, info.resize, info.interpolation) == (224, 256, "bicubic")
    assert info.mean == (0.5, 0.5, 0.5) and info.std == (0.5, 0.5, 0.5)
    assert info.num_classes == 1000 and info.classes[281] == "tabby"
    assert not default_model.training


def test_weights_file_matches_its_sha256_prefix():
    path = weights_file("efficientnet_lite0")
    prefix = path.name.rsplit("-", 1)[1].removesuffix(".pth")
    assert len(prefix) >= 8
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(prefix)
    verify_sha256(path)


def test_tampered_weights_file_is_refused(tmp_path):
    path = weights_file("efficientnet_lite0")
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    with copy.open("r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="corrupt"):
        verify_sha256(copy)


def test_default_model_builds_offline(no_network, default_model):
    net = build_embedded("efficientnet_lite0")
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = default_model(x)
        rebuilt = PixelModel(net.eval(), default_model.info)(x)
    assert torch.equal(reference, rebuilt)


@pytest.fixture(scope="module")
def lukemelas_state():
    return torch.load(weights_file("efficientnet_lite0"), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def bare_lite0():
    import timm

    return timm.create_model("tf_efficientnet_lite0", pretrained=False)


def test_key_map_matches_every_key_and_shape(lukemelas_state, bare_lite0):
    mapped = map_keys(lukemelas_state, bare_lite0)
    target = bare_lite0.state_dict()
    assert set(mapped) == set(target)
    assert len(mapped) == len(lukemelas_state)
    assert all(mapped[k].shape == target[k].shape for k in target)


def test_key_map_refuses_an_unknown_key(lukemelas_state, bare_lite0):
    state = dict(lukemelas_state)
    state["_conv_stem.bogus"] = state.pop("_conv_stem.weight")
    with pytest.raises(KeyError, match="bogus"):
        map_keys(state, bare_lite0)


def test_key_map_refuses_a_missing_key(lukemelas_state, bare_lite0):
    state = dict(lukemelas_state)
    del state["_fc.bias"]
    with pytest.raises(KeyError, match="lacks 1 keys"):
        map_keys(state, bare_lite0)


def test_key_map_refuses_a_wrong_shape(lukemelas_state, bare_lite0):
    state = dict(lukemelas_state)
    state["_fc.bias"] = torch.zeros(999)
    with pytest.raises(ValueError, match="shape mismatch"):
        map_keys(state, bare_lite0)


def _top(model: nn.Module, name: str, k: int) -> list[int]:
    x = advcat.load_image(name, model)
    with torch.no_grad():
        return model(x).topk(k, dim=1).indices[0].tolist()


@pytest.mark.slow
def test_chelsea_is_a_cat(default_model):
    assert 281 <= _top(default_model, "chelsea", 1)[0] <= 285


@pytest.mark.slow
def test_coffee_is_espresso(default_model):
    assert _top(default_model, "coffee", 1) == [967]


@pytest.mark.slow
def test_grace_hopper_top5_holds_military_uniform(default_model):
    assert 652 in _top(default_model, "grace_hopper", 5)


# --- the zoo --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, match", [
    ("resnet50", "unknown model"),
    ("pytorch:resnet50", "unknown model"),
    ("torchvision:resnet1800", "close matches"),
    ("timm:not_a_model_at_all", "timm has no model"),
])
def test_unknown_model_names_are_refused(name, match):
    with pytest.raises(ValueError, match=match):
        advcat.load_model(name)


def test_model_name_of_wrong_type_is_refused():
    with pytest.raises(TypeError, match="string or a path"):
        advcat.load_model(50)  # type: ignore[arg-type]


def test_torchvision_random_weights_are_stated():
    model = advcat.load_model("torchvision:resnet18", weights=None)
    assert model.info.weights == "random"
    assert model.info.num_classes == 1000
    assert model.info.mean == (0.485, 0.456, 0.406)
    with torch.no_grad():
        assert model(torch.rand(2, 3, 64, 64)).shape == (2, 1000)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_torchvision_local_weights_file(tmp_path, suffix):
    import torchvision

    torch.manual_seed(1)
    source = torchvision.models.mobilenet_v3_small(weights=None)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        torch.save(source.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(source.state_dict(), str(path))
    model = advcat.load_model("torchvision:mobilenet_v3_small", weights=path)
    assert model.info.weights == str(path)
    for key, value in source.state_dict().items():
        assert torch.equal(model.net.state_dict()[key], value), key


def test_missing_local_weights_file():
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        advcat.load_model("torchvision:mobilenet_v3_small", weights="/nonexistent/w.pth")


def test_pretrained_download_failure_says_how_to_pass_a_file(monkeypatch):
    from torchvision.models import _api

    def fail(*args, **kwargs):
        raise OSError("no route to host")

    monkeypatch.setattr(_api.WeightsEnum, "get_state_dict", fail)
    with pytest.raises(ConnectionError, match="weights='path/to/file.pth'"):
        advcat.load_model("torchvision:mobilenet_v3_small", weights="DEFAULT")


@pytest.mark.parametrize("name", ["IMAGENET1K_V1", "MobileNet_V3_Small_Weights.IMAGENET1K_V1"])
def test_torchvision_weights_by_name_ask_torchvision_for_that_set(monkeypatch, name):
    import torchvision

    asked = []

    def record(arch, weights=None):
        asked.append(weights)
        raise OSError("offline")

    monkeypatch.setattr(torchvision.models, "get_model", record)
    with pytest.raises(ConnectionError):
        advcat.load_model("torchvision:mobilenet_v3_small", weights=name)
    assert asked == [torchvision.models.MobileNet_V3_Small_Weights.IMAGENET1K_V1]


def test_unknown_torchvision_weights_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"no weights named 'IMAGENET1K_V9'.*'IMAGENET1K_V1'"):
        advcat.load_model("torchvision:mobilenet_v3_small", weights="IMAGENET1K_V9")


def test_checkpoint_round_trip_gives_identical_logits(tmp_path):
    base = advcat.load_model("timm:resnet10t", weights=None)
    replace_head(base.net, 3)
    info = ModelInfo.from_dict({**base.info.to_dict(), "classes": ["cat", "dog", "bird"],
                                "weights": "fine-tuned"})
    model = PixelModel(base.net, info).eval()
    path = save_checkpoint(model, tmp_path / "pets")
    loaded = advcat.load_model(path)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded.info == info


def test_checkpoint_with_missing_metadata_is_refused(tmp_path):
    (tmp_path / "lonely.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="lonely.json"):
        advcat.load_model(tmp_path / "lonely.safetensors")


# --- the wrapper ----------------------------------------------------------------------------------


def test_wrap_normalizes_inside(tiny_cnn):
    net = tiny_cnn.net.eval()
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
    std = torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(tiny_cnn.eval()(x), net((x - mean) / std))
    assert tiny_cnn.net is net and tiny_cnn.info.num_classes == 10


def test_wrap_refuses_bad_arguments(tiny_cnn):
    with pytest.raises(ValueError, match="already in pixel space"):
        advcat.wrap(tiny_cnn)
    with pytest.raises(TypeError, match="nn.Module"):
        advcat.wrap(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="std must be positive"):
        advcat.wrap(nn.Identity(), mean=(0.5,), std=(0.0,))
    with pytest.raises(ValueError, match="differ in length"):
        advcat.wrap(nn.Identity(), mean=(0.5, 0.5), std=(0.5,))


# --- the guard ------------------------------------------------------------------------------------


def test_guard_freezes_then_restores_after_an_exception(tiny_cnn):
    tiny_cnn.train()
    tiny_cnn.net[0].eval()
    tiny_cnn.net[4].weight.requires_grad_(False)
    modes = [m.training for m in tiny_cnn.modules()]
    flags = [p.requires_grad for p in tiny_cnn.parameters()]
    with pytest.raises(RuntimeError, match="boom"), borrowed(tiny_cnn):
        assert not any(m.training for m in tiny_cnn.modules())
        assert not any(p.requires_grad for p in tiny_cnn.parameters())
        raise RuntimeError("boom")
    assert [m.training for m in tiny_cnn.modules()] == modes
    assert [p.requires_grad for p in tiny_cnn.parameters()] == flags


def test_guard_leaves_batchnorm_statistics_unchanged(tiny_cnn):
    tiny_cnn.train()
    before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
    with borrowed(tiny_cnn), torch.no_grad():
        tiny_cnn(torch.rand(8, 3, 16, 16))
    after = tiny_cnn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert tiny_cnn.training


def test_guard_refuses_a_non_module():
    with pytest.raises(TypeError, match="nn.Module"), borrowed("model"):  # type: ignore[arg-type]
        pass


# --- taps and layer names -------------------------------------------------------------------------


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_tap_records_the_named_layers(tiny_cnn):
    with tap(tiny_cnn, ["0", "net.4"]) as acts, torch.no_grad():
        tiny_cnn.eval()(torch.rand(2, 3, 16, 16))
    assert acts["0"].shape == (2, 8, 16, 16)
    assert acts["net.4"].shape == (2, 16, 8, 8)
    assert _hook_count(tiny_cnn) == 0


def test_tap_hooks_are_removed_after_an_exception(tiny_cnn):
    with pytest.raises(RuntimeError, match="inside"), tap(tiny_cnn, ["1", "5"]):
        assert _hook_count(tiny_cnn) == 2
        raise RuntimeError("inside")
    assert _hook_count(tiny_cnn) == 0


def test_layer_names_resolve_with_and_without_wrapper(default_model):
    inner = default_model.net
    block = inner.get_submodule("blocks.5")
    assert resolve_layer(default_model, "blocks.5") is block
    assert resolve_layer(inner, "blocks.5") is block
    assert resolve_layer(default_model, "net.blocks.5") is block
    names = layer_names(default_model)
    assert names == layer_names(inner)
    assert "blocks.5" in names and "conv_head" in names


def test_wrong_layer_name_lists_close_matches(default_model):
    with pytest.raises(ValueError, match=r"Close matches: .*blocks\.5\.0") as info:
        resolve_layer(default_model, "blocks.5.O")
    assert "layer_names" in str(info.value)
    with pytest.raises(TypeError, match="non-empty string"):
        resolve_layer(default_model, "")
