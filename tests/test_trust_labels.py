"""Labels outside the model's classes, or not integers, are refused before any work, naming `y`."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

import advcat
from advcat.evaluation.data import resolve_data
from advcat.validate import check_labels


class _Pairs(Dataset):
    """(image, label) items with the given labels."""

    def __init__(self, labels: list[object]) -> None:
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, object]:
        return torch.full((3, 16, 16), 0.5), self.labels[i]


def _x(n: int) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("bad", [12, -1])
def test_evaluate_refuses_tensor_labels_outside_the_classes(tiny_cnn: advcat.PixelModel, bad: int) -> None:
    y = torch.tensor([0, 1, bad])
    with pytest.raises(ValueError, match=r"\by\b.*outside \[0, 9\]"):
        advcat.evaluate(tiny_cnn, (_x(3), y), attacks="fast", eps=[1 / 255], sanity=False, progress=False)


def test_labels_checked_against_a_plain_module_by_a_forward_pass() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    with pytest.raises(ValueError, match=r"\by\b.*outside \[0, 9\]"):
        resolve_data((_x(2), torch.tensor([0, 10])), net)


def test_float_tensor_labels_are_a_type_error(tiny_cnn: advcat.PixelModel) -> None:
    with pytest.raises(TypeError, match=r"\by\b"):
        resolve_data((_x(2), torch.tensor([0.0, 1.5])), tiny_cnn)


def test_dataset_label_outside_the_classes_names_the_item(tiny_cnn: advcat.PixelModel) -> None:
    points = resolve_data(_Pairs([0, 1, 12]), tiny_cnn)
    with pytest.raises(ValueError, match=r"item 2.*12"):
        points.fetch(torch.arange(3))


def test_dataset_float_label_is_a_type_error_not_truncated(tiny_cnn: advcat.PixelModel) -> None:
    points = resolve_data(_Pairs([0, 1.7]), tiny_cnn)
    with pytest.raises(TypeError, match=r"item 1"):
        points.fetch(torch.arange(2))


def test_dataset_good_labels_pass(tiny_cnn: advcat.PixelModel) -> None:
    points = resolve_data(_Pairs([0, torch.tensor(9)]), tiny_cnn)
    _, y = points.fetch(torch.arange(2))
    assert y is not None and y.tolist() == [0, 9]


def test_float_labels_are_refused_by_tensor_images_and_dataset_targets() -> None:
    from advcat.data.split import dataset_targets
    from advcat.data.tensors import TensorImages

    with pytest.raises(TypeError, match="integer"):
        TensorImages(torch.zeros(2, 3, 4, 4), torch.tensor([0.0, 1.5]))
    with pytest.raises(TypeError):
        dataset_targets(_Pairs([0, 1.5]))
    assert dataset_targets(_Pairs([0, torch.tensor(3)])) == [0, 3]


def test_check_labels_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^targets holds class indices outside \[0, 9\]"):
        check_labels(torch.tensor([3, 10]), 2, name="targets", num_classes=10)


def test_attack_with_a_negative_label_names_y(tiny_cnn: advcat.PixelModel) -> None:
    with pytest.raises(ValueError, match=r"\by\b"):
        advcat.attack(tiny_cnn, _x(3), torch.tensor([0, 0, -1]))
