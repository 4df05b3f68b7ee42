"""advcat.finetune on tiny data the tests make: strategies, freezing, checkpoints, resume, adaptation
of grayscale 28x28 images, held-out metrics, errors, the CLI, and attacks on the result."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import advcat
from advcat.data import TensorImages
from advcat.transfer import (
    backbone_blocks,
    confusion_matrix,
    finetune,
    per_class_accuracy,
    topk_accuracy,
)

BACKBONE = "timm:test_efficientnet"   # timm's 356k-parameter EfficientNet made for tests
CLASSES = ("red", "green", "blue")


def colours(n: int, seed: int, channels: int = 3, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy images whose class is the channel (or, in grayscale, the brightness) that is raised."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = torch.rand(n, channels, size, size, generator=g) * 0.4
    for c in range(3):
        if channels == 3:
            images[labels == c, c] += 0.55
        else:
            images[labels == c] += 0.27 * c
    return images.clamp(0, 1), labels


@pytest.fixture(scope="module")
def backbone() -> advcat.PixelModel:
    """The test network "pretrained" by a plain loop on other colour images (ImageNet's stand-in)."""
    torch.manual_seed(0)
    model = advcat.load_model(BACKBONE, weights=None)
    images, labels = colours(64, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(2):
        for i in range(0, 64, 16):
            loss = F.cross_entropy(model(images[i:i + 16])[:, :3], labels[i:i + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {"train": colours(60, 0), "val": colours(30, 1)}


def _train_set(data) -> TensorImages:  # noqa: ANN001
    return TensorImages(*data["train"], classes=CLASSES)


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


def _changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_linear_trains_only_the_new_head_and_leaves_the_callers_model(backbone, data) -> None:  # noqa: ANN001
    original = copy.deepcopy(backbone.state_dict())
    result = finetune(backbone, _train_set(data), data["val"], epochs=3, lr=2e-2, batch_size=12,
                      image_size=16, progress=False)
    assert _changed(original, backbone.state_dict()) == set()
    assert all(p.requires_grad for p in backbone.parameters()) and not backbone.training
    model = result.model
    assert model.info.classes == CLASSES and model.net.classifier.out_features == 3
    after = model.state_dict()
    shared = {k for k in original if not k.startswith("net.classifier.")}
    assert _changed({k: original[k] for k in shared}, after) == set()
    assert _accuracy(model, *data["val"]) >= 0.7           # chance is 1/3
    assert len(result.history) == result.metrics["epochs_run"]
    assert result.metrics["top1"] == pytest.approx(_accuracy(model, *data["val"]))


def test_partial_unfreezes_the_top_blocks_and_keeps_frozen_batchnorm(backbone, data) -> None:  # noqa: ANN001
    original = {k: v.clone() for k, v in backbone.net.state_dict().items()}
    blocks = backbone_blocks(backbone.net)
    result = finetune(backbone, _train_set(data), data["val"], strategy="partial", unfreeze=1,
                      epochs=2, lr=1e-2, backbone_lr=1e-2, image_size=16, augment="none",
                      batch_size=12, progress=False)
    top = tuple(name + "." for name in blocks[-1])
    changed = _changed(original, result.model.net.state_dict())
    trainable = {k for k in original if k.startswith(top) or k.startswith("classifier.")}
    assert changed and changed <= trainable
    assert any(k.startswith(top) and "running_mean" in k for k in changed)   # top BN trains
    assert any(k.startswith(top) for k in changed if "weight" in k)
    assert _accuracy(result.model, *data["val"]) >= 0.7


def test_full_strategy_trains_everything_and_beats_chance(backbone, data) -> None:  # noqa: ANN001
    original = {k: v.clone() for k, v in backbone.net.state_dict().items()}
    result = finetune(backbone, _train_set(data), data["val"], strategy="full", epochs=2,
                      lr=1e-2, backbone_lr=1e-2, image_size=16, batch_size=12, progress=False)
    changed = _changed(original, result.model.net.state_dict())
    assert "conv_stem.weight" in changed and "bn1.running_mean" in changed
    assert _accuracy(result.model, *data["val"]) >= 0.7


def test_checkpoint_round_trips_and_an_interrupted_run_resumes(backbone, data, tmp_path: Path) -> None:  # noqa: ANN001, E501
    options = dict(strategy="partial", epochs=3, lr=1e-2, image_size=16, patience=None,
                   progress=False, batch_size=20)
    whole = finetune(backbone, _train_set(data), data["val"], out=tmp_path / "whole", **options)
    images = data["val"][0][:6]
    loaded = advcat.load_model(tmp_path / "whole")
    assert isinstance(loaded, advcat.PixelModel) and loaded.info.classes == CLASSES
    assert loaded.info.extra["finetune"]["config"]["strategy"] == "partial"
    with torch.no_grad():
        assert torch.equal(loaded(images), whole.model(images))

    class Interrupted(Exception):
        pass

    def stop_after_two(row: dict) -> None:
        if row["epoch"] == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        finetune(backbone, _train_set(data), data["val"], out=tmp_path / "cut",
                 on_epoch=stop_after_two, **options)
    seen: list[int] = []
    resumed = finetune(backbone, _train_set(data), data["val"], out=tmp_path / "cut",
                       on_epoch=lambda row: seen.append(row["epoch"]), **options)
    assert seen == [3]
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]
    with torch.no_grad():
        assert torch.equal(resumed.model(images), whole.model(images))
    with pytest.raises(ValueError, match="different settings.*config"):
        finetune(backbone, _train_set(data), data["val"], out=tmp_path / "cut",
                 **{**options, "lr": 5e-3})


def test_grayscale_28px_data_is_adapted_inside_the_model(backbone, tmp_path: Path) -> None:  # noqa: ANN001
    train = colours(60, 2, channels=1, size=28)
    val = colours(30, 3, channels=1, size=28)
    result = finetune(backbone, train, val, epochs=10, lr=5e-2, image_size=24, batch_size=16,
                      progress=False, out=tmp_path / "gray")
    info = result.model.info
    assert (info.in_channels, info.input_size, info.adapt_size) == (1, 28, 24)
    assert info.classes == ("0", "1", "2")
    assert result.model(val[0][:4]).shape == (4, 3)
    assert _accuracy(result.model, *val) >= 0.6
    loaded = advcat.load_model(tmp_path / "gray" / "model.safetensors")
    with torch.no_grad():
        assert torch.equal(loaded(val[0][:4]), result.model(val[0][:4]))


def test_validation_loss_is_the_per_sample_mean_on_held_out_data(backbone, data) -> None:  # noqa: ANN001
    result = finetune(backbone, _train_set(data), data["val"], epochs=4, lr=1e-2,
                      label_smoothing=0.1, image_size=16, progress=False)
    images, labels = data["val"]
    with torch.no_grad():
        logits = result.model(images)
    expected = float(F.cross_entropy(logits, labels))
    assert result.metrics["loss"] == pytest.approx(expected, rel=1e-4)
    best = result.history[result.metrics["best_epoch"] - 1]
    assert best["val_loss"] == pytest.approx(expected, rel=1e-4)
    assert result.metrics["n_val"] == 30 and result.metrics["n_train"] == 60
    assert sum(map(sum, result.metrics["confusion"])) == 30
    split = finetune(backbone, _train_set(data), epochs=1, image_size=16, progress=False)
    assert (split.metrics["n_train"], split.metrics["n_val"]) == (54, 6)


def test_adversarial_training_trains_on_attack_examples(backbone, data) -> None:  # noqa: ANN001
    from advcat.attacks import PGD

    options = dict(strategy="linear", cache_features=False, epochs=1, lr=1e-2, image_size=16,
                   augment="none", progress=False)
    clean = finetune(backbone, _train_set(data), data["val"], **options)
    robust = finetune(backbone, _train_set(data), data["val"],
                      adversarial=PGD(norm="linf", eps=8 / 255, steps=3), **options)
    assert robust.config["adversarial"]["method"] == "pgd"
    assert robust.history[0]["train_loss"] > clean.history[0]["train_loss"]
    with pytest.raises(ValueError, match="cache_features=False"):
        finetune(backbone, _train_set(data), adversarial=PGD(eps=2 / 255), progress=False)


def test_errors_are_raised_before_any_work(backbone, data, tmp_path: Path) -> None:  # noqa: ANN001
    train = _train_set(data)
    with pytest.raises(ValueError, match="strategy"):
        finetune(backbone, train, strategy="top")
    with pytest.raises(ValueError, match="unfreeze"):
        finetune(backbone, train, unfreeze=2)
    with pytest.raises(ValueError, match="only .* blocks"):
        finetune(backbone, train, strategy="partial", unfreeze=99, progress=False)
    with pytest.raises(ValueError, match="cache_features=False"):
        finetune(backbone, train, augment=lambda x: x.flip(-1))
    with pytest.raises(ValueError, match="architecture"):
        finetune(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5)), train,
                 out=tmp_path)
    with pytest.raises(ValueError, match="4-channel"):
        finetune(backbone, (torch.rand(6, 4, 8, 8), torch.tensor([0, 1] * 3)))
    with pytest.raises(TypeError, match="Dataset"):
        finetune(backbone, 42)


def test_metrics_on_hand_computed_logits() -> None:
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [3.0, 1.0, 2.0], [1.0, 2.0, 3.0]])
    labels = torch.tensor([0, 2, 1, 2])
    assert topk_accuracy(logits, labels, (1, 2)) == {1: 0.5, 2: 0.75}
    assert confusion_matrix(logits, labels).tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]
    accuracy = per_class_accuracy(logits, labels)
    assert accuracy.tolist() == [1.0, 0.0, 0.5]


def test_figures_of_a_run(backbone, data) -> None:  # noqa: ANN001
    result = finetune(backbone, _train_set(data), data["val"], epochs=2, image_size=16,
                      progress=False)
    curves = advcat.viz.curves(result)
    assert len(curves.axes) == 2 and len(curves.axes[0].lines) == 2
    assert advcat.viz.figure(result).axes[0].get_title() == curves.axes[0].get_title()
    confusion = advcat.viz.confusion(result)
    assert [t.get_text() for t in confusion.axes[0].get_yticklabels()] == list(CLASSES)


def test_cli_finetunes_an_image_folder(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from PIL import Image

    from advcat.cli.main import main

    images, labels = colours(24, 4, size=20)
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = tmp_path / "data" / CLASSES[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        array = (image.permute(1, 2, 0) * 255).round().byte().numpy()
        Image.fromarray(array).save(folder / f"{i}.png")
    out = tmp_path / "run"
    status = main(["finetune", "--backbone", BACKBONE, "--weights", "none", "--data",
                   str(tmp_path / "data"), "--out", str(out), "--epochs", "2",
                   "--image-size", "16", "--no-progress"])
    assert status == 0
    assert (out / "curves.png").is_file() and (out / "confusion.png").is_file()
    model = advcat.load_model(out)
    assert model.info.classes == ("blue", "green", "red") and model.info.input_size == 16
    assert main(["finetune", "--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    rerun = ["finetune", "--backbone", BACKBONE, "--weights", "none", "--data", str(tmp_path / "data"),
             "--out", str(out), "--epochs", "2", "--image-size", "16", "--no-progress"]
    assert main([*rerun, "--lr", "0.01"]) == 2
    refused = capsys.readouterr().err
    assert "different settings (config.lr: 0.001 -> 0.01)" in refused and "--no-resume" in refused
    assert main([*rerun, "--lr", "0.01", "--no-resume"]) == 0
    assert "lr" not in capsys.readouterr().err


def test_cli_finetune_help_gives_every_flag_a_text_and_its_default(capsys) -> None:  # noqa: ANN001
    from advcat.cli.main import main

    assert main(["finetune", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [("--epochs", "10"), ("--lr", "0.001"), ("--batch-size", "64"),
                          ("--strategy", "linear"), ("--val-fraction", "0.1"), ("--seed", "0"),
                          ("--augment", "default"), ("--workers", "0"), ("--unfreeze", "2")]:
        assert re.search(re.escape(flag) + r"\b.*?\(default: " + re.escape(default) + r"\)", text), flag
    assert "--no-resume" in text


def test_the_fine_tuned_model_goes_into_attack_attribute_and_evaluate(backbone, data) -> None:  # noqa: ANN001, E501
    result = finetune(backbone, _train_set(data), data["val"], epochs=3, lr=2e-2, batch_size=12,
                      image_size=16, progress=False)
    images, labels = data["val"]
    attacked = advcat.attack(result.model, images, labels, method="pgd", norm="linf",
                             eps=4 / 255, steps=5)
    assert attacked.adv.shape == images.shape
    assert float((attacked.adv - images).abs().max()) <= 4 / 255 + 1e-6
    with torch.no_grad():
        adv_acc = _accuracy(result.model, attacked.adv, labels)
    assert adv_acc <= _accuracy(result.model, images, labels)
    maps = advcat.attribute(result.model, images[:2], target=labels[:2], method="saliency")
    assert maps.raw.shape == (2, 3, 16, 16) and bool(maps.raw.abs().sum() > 0)
    cam = advcat.attribute(result.model, images[:2], target=labels[:2], method="gradcam")
    assert cam.map.shape == (2, 1, 16, 16)
    report = advcat.evaluate(result.model, (images[:9], labels[:9]), eps=[4 / 255],
                             attacks=[("pgd", {"steps": 3})], progress=False, sanity=False)
    assert report.clean_accuracy == pytest.approx(_accuracy(result.model, images[:9], labels[:9]))
    assert report.robust_accuracy[0] <= report.clean_accuracy
