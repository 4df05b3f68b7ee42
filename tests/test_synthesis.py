"""advcat.synthesize and its presets: batched targets, seeding, the borrowed model, errors, I/O."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import advcat
from advcat import objectives as O
from advcat.cli.main import main
from advcat.params import Fourier
from advcat.synthesis import (
    SynthesisResult,
    deepdream,
    diverse,
    synthesize,
    visualize_channel,
    visualize_neuron,
)
from advcat.viz.gallery import gallery, synthesis_gallery
from advcat.viz.synthesis import compare_recipes

FAST = {"steps": 4, "progress": False}


@pytest.fixture
def named_cnn() -> advcat.PixelModel:
    """A tiny seeded CNN with named layers, 16 px input, 6 named classes."""
    torch.manual_seed(0)
    net = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 8, 3, padding=1), bn1=nn.BatchNorm2d(8), relu1=nn.ReLU(),
        conv2=nn.Conv2d(8, 8, 3, padding=1), relu2=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), drop=nn.Dropout(0.2), fc=nn.Linear(8, 6),
    ))
    return advcat.wrap(net, mean=(0.5,) * 3, std=(0.25,) * 3, input_size=16,
                       classes=["ant", "bee", "cat", "dog", "eel", "fox"])


def _target_probability(model, images, targets):
    with torch.no_grad():
        return model.eval()(images).softmax(1)[torch.arange(len(targets)), torch.tensor(targets)]


def test_one_image_per_target_in_one_batched_run(named_cnn):
    result = synthesize(named_cnn, ["cat", 4, "fox"], param="pixel", transforms=None, steps=25,
                        lr=0.05, progress=False)
    assert result.images.shape == (3, 3, 16, 16)
    assert float(result.images.min()) >= 0 and float(result.images.max()) <= 1
    assert result.targets.tolist() == [2, 4, 5]
    assert result.names == ["cat", "eel", "fox"]
    assert result.probs.shape == (3, 6)
    assert torch.allclose(result.probs.sum(1), torch.ones(3))
    assert result.history.shape == (26,)
    grey = torch.full((3, 3, 16, 16), 0.5)
    # each image raised its own class above where the grey start had it
    assert bool((result.probability > _target_probability(named_cnn, grey, [2, 4, 5])).all())
    assert torch.allclose(result.probability, _target_probability(named_cnn, result.images, [2, 4, 5]))


def test_n_images_per_target_each_with_its_own_start(named_cnn):
    result = synthesize(named_cnn, ["ant", "bee"], n=2, **FAST)
    assert result.targets.tolist() == [0, 0, 1, 1]
    assert not torch.allclose(result.images[0], result.images[1])


def test_seed_reproduces_and_another_seed_differs(named_cnn):
    first = synthesize(named_cnn, "dog", seed=5, **FAST)
    assert torch.equal(first.images, synthesize(named_cnn, "dog", seed=5, **FAST).images)
    assert not torch.allclose(first.images, synthesize(named_cnn, "dog", seed=6, **FAST).images)
    drawn = synthesize(named_cnn, "dog", seed=None, **FAST)
    assert torch.equal(drawn.images, synthesize(named_cnn, "dog", seed=drawn.seed, **FAST).images)


def test_the_model_is_left_exactly_as_it_was(named_cnn):
    named_cnn.train()
    named_cnn.net.fc.weight.requires_grad_(False)
    before = {k: v.clone() for k, v in named_cnn.state_dict().items()}
    modes = {name: m.training for name, m in named_cnn.named_modules()}
    flags = {name: p.requires_grad for name, p in named_cnn.named_parameters()}
    synthesize(named_cnn, "cat", objective=O.ClassLogit("cat") + O.Channel("conv2", 1), **FAST)
    after = named_cnn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert modes == {name: m.training for name, m in named_cnn.named_modules()}
    assert flags == {name: p.requires_grad for name, p in named_cnn.named_parameters()}
    assert not any(m._forward_hooks for m in named_cnn.modules())


def test_wrong_layer_name_lists_close_matches_before_any_work(named_cnn):
    calls = []
    named_cnn.register_forward_pre_hook(lambda *_: calls.append(1))
    with pytest.raises(ValueError, match="conv2"):
        synthesize(named_cnn, objective=O.Channel("conv_2", 0), **FAST)
    assert calls == []


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({}, ValueError, "target"),
    ({"target": "cat", "param": "wavelet"}, ValueError, "fourier"),
    ({"target": "cat", "transforms": "strong"}, ValueError, "default"),
    ({"target": "cat", "steps": 0}, ValueError, "steps"),
    ({"target": "cat", "n": 0}, ValueError, "n must"),
    ({"target": "cat", "lr": -1.0}, ValueError, "lr"),
    ({"target": "cat", "tv": -1.0}, ValueError, "tv"),
    ({"target": "zebra"}, ValueError, "zebra"),
    ({"target": "cat", "image": torch.full((1, 3, 16, 16), 2.0)}, ValueError, r"\[0, 1\]"),
    ({"target": "cat", "image": torch.rand(1, 3, 16, 16), "size": 20}, ValueError, "size"),
])
def test_bad_arguments_are_refused(named_cnn, kwargs, error, match):
    with pytest.raises(error, match=match):
        synthesize(named_cnn, **{**FAST, **kwargs})


def test_composed_objective_tv_and_plain_module(named_cnn):
    plain = named_cnn.net  # a plain module: no metadata, 224 px by default
    result = synthesize(plain, 3, objective=O.ClassLogit(3) - 0.1 * O.Blur(), tv=0.5,
                        param="pixel", transforms=None, steps=1, progress=False)
    assert result.images.shape == (1, 3, 224, 224)
    assert "Blur" in result.objective and "TotalVariation" in result.objective
    assert result.names == ["class 3"]


def test_channel_presets_give_each_image_its_own_unit(named_cnn):
    result = visualize_channel(named_cnn, "conv2", [1, 6], param="pixel", transforms=None,
                               steps=30, progress=False)
    assert result.images.shape[0] == 2 and result.targets is None
    with advcat.models.tap(named_cnn, ["conv2"]) as acts, torch.no_grad():
        named_cnn.eval()(result.images)
    means = acts["conv2"].mean(dim=(2, 3))
    assert float(means[0, 1]) > float(means[1, 1]) and float(means[1, 6]) > float(means[0, 6])
    neuron = visualize_neuron(named_cnn, "conv2", 3, position=(2, 2), n=2, **FAST)
    assert neuron.images.shape[0] == 2 and "Neuron" in neuron.objective


def test_diverse_batch_and_deepdream(named_cnn):
    batch = diverse(named_cnn, "bee", "conv2", n=3, **FAST)
    assert batch.images.shape[0] == 3 and "Diversity" in batch.objective
    assert batch.targets.tolist() == [1, 1, 1]
    photo = torch.rand(1, 3, 16, 16)
    dream = deepdream(named_cnn, photo, "conv1", steps=3, lr=0.01, transforms=None, progress=False)
    change = (dream.images - photo).abs()
    assert 0 < float(change.max()) <= 3 * 0.0101  # three Adam steps of about lr 0.01 from the photo


def test_default_recipe_uses_fourier_and_the_robustness_stack(named_cnn):
    result = synthesize(named_cnn, "eel", **FAST)
    assert result.config["param"].startswith("Fourier") and "Robustness" in result.config["transforms"]
    assert result.config["tv"] == 4.0 and "TotalVariation" in result.objective
    plain = synthesize(named_cnn, "eel", param="pixel", transforms=None, **FAST)
    assert plain.config["tv"] == 0.0 and plain.objective == "ClassLogit(eel)"
    seen = []

    def mirror(x):
        seen.append(x.shape)
        return x.flip(-1)

    custom = synthesize(named_cnn, "eel", param=Fourier(decorrelate=False), transforms=mirror, **FAST)
    assert "decorrelate=False" in custom.config["param"]
    assert len(seen) == FAST["steps"] + 1 and seen[0] == (1, 3, 16, 16)


def test_save_and_load_round_trip(named_cnn, tmp_path):
    result = synthesize(named_cnn, ["cat", "dog"], **FAST)
    path = result.save(tmp_path / "ideal")
    loaded = SynthesisResult.load(path)
    for name in ("images", "probs", "targets", "history"):
        assert torch.equal(getattr(loaded, name), getattr(result, name))
    assert (loaded.objective, loaded.seed, loaded.names) == (result.objective, result.seed, result.names)
    assert loaded.config == result.config
    with pytest.raises(FileNotFoundError):
        SynthesisResult.load(tmp_path / "missing")


def test_figures(named_cnn):
    result = synthesize(named_cnn, ["cat", "dog"], **FAST)
    figure = synthesis_gallery(result)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0].startswith("cat\np=") and titles[1].startswith("dog\np=")
    assert len(gallery(torch.rand(5, 3, 8, 8), ncols=2).axes) == 6
    comparison = compare_recipes(named_cnn, ["cat", "dog"], steps=2, progress=False)
    assert isinstance(comparison, Figure) and len(comparison.axes) == 3 * 2


def test_embedded_model_moves_towards_tabby(default_model):
    result = synthesize(default_model, "tabby cat", steps=4, size=96, transforms=None, progress=False)
    assert result.images.shape == (1, 3, 96, 96)
    assert result.targets.tolist() == [281] and result.names == ["tabby"]
    grey = torch.full((1, 3, 96, 96), 0.5)
    with torch.no_grad():
        logits = default_model(torch.cat([grey, result.images]))
    assert float(logits[1, 281]) > float(logits[0, 281]) + 1.0  # the objective: tabby's logit


def test_cli_writes_images_and_result(named_cnn, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(advcat, "load_model", lambda name="efficientnet_lite0", **_: named_cnn)
    code = main(["synthesize", "--target", "cat", "--target", "fox", "--steps", "3",
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "cat" in out and "fox" in out
    assert (tmp_path / "cat.png").exists() and (tmp_path / "fox.png").exists()
    assert (tmp_path / "synthesis.json").exists() and (tmp_path / "gallery.png").exists()
    assert main(["synthesize", "--out", str(tmp_path)]) == 2
