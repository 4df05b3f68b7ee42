"""NaN is never learned silently (issue 13, item 6): non-finite data and settings are refused up
front, and a run whose loss turns non-finite stops, naming the epoch and batch, with its last good
checkpoint kept on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import advcat
from advcat.transfer import finetune

BACKBONE = "timm:test_efficientnet"


def _data(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    return images, torch.arange(n) % 3


def _tune(tiny_cnn: advcat.PixelModel, train: Any, **options: Any) -> Any:
    settings: dict[str, Any] = {"strategy": "full", "epochs": 1, "batch_size": 6, "augment": None,
                                "cache_features": False, "progress": False, "image_size": 16}
    settings.update(options)
    return finetune(tiny_cnn, train, _data(6), **settings)


def test_a_nan_pixel_in_the_training_images_is_refused(tiny_cnn) -> None:  # noqa: ANN001
    images, labels = _data()
    images[3, 1, 4, 5] = float("nan")
    with pytest.raises(ValueError, match="train"):
        _tune(tiny_cnn, (images, labels))


@pytest.mark.parametrize("name", ["lr", "backbone_lr", "weight_decay", "clip_grad", "warmup",
                                  "label_smoothing", "val_fraction"])
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_setting_is_refused_naming_it(tiny_cnn, name: str, value: float) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=name):
        _tune(tiny_cnn, _data(), **{name: value})


class _Poison:
    """A forward hook that, once armed, turns the network's output into NaN (the flag is on the
    class, so the copy finetune makes of the backbone, hook included, shares it)."""

    armed = False

    def __call__(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor | None:
        return output * float("nan") if self.armed else None


def test_a_loss_turning_non_finite_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    backbone = advcat.load_model(BACKBONE, weights=None)
    poison = _Poison()
    backbone.net.register_forward_hook(poison)

    def arm(record: dict[str, Any]) -> None:
        _Poison.armed = True

    with pytest.raises(ValueError, match=r"epoch 2, batch 0"):
        finetune(backbone, _data(), _data(6), strategy="full", epochs=3, batch_size=6, augment=None,
                 cache_features=False, progress=False, image_size=16, out=tmp_path, patience=None,
                 on_epoch=arm)
    _Poison.armed = False
    kept = advcat.load_model(tmp_path)
    assert all(bool(torch.isfinite(p).all()) for p in kept.parameters())
