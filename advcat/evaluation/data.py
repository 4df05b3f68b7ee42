"""What `evaluate` accepts as data, turned into one fixed, ordered set of points fetched by index.

Resumed and sharded runs need every process to see point i as the same image and label, so the
data is always indexable: (x, y) tensors, a map-style Dataset, a DataLoader that does not shuffle,
or a named set. Unlabelled images are scored against the model's clean predictions.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, SequentialSampler

from advcat.validate import check_images, check_labels, check_model_input, check_model_output

Fetch = Callable[[Tensor], tuple[Tensor, "Tensor | None"]]

NAMED = {
    "fashion_mnist": "Fashion-MNIST test split (fashion_mnist:train for the training split)",
    "imagenet_samples": "foolbox's 20 labelled ImageNet photos, preprocessed for the model",
    "cifar10_samples": "foolbox's 20 labelled CIFAR-10 images (32x32)",
    "fashion_mnist_samples": "foolbox's 20 labelled Fashion-MNIST images (28x28)",
    "photos": "the sample photos of scikit-image and matplotlib, unlabelled",
    "cifar10": "torchvision's CIFAR-10 test split from a local copy (cifar10:ROOT)",
    "FILE.safetensors": "images under x, labels under y (optional)",
}


@dataclass
class EvalData:
    """`size` points; `fetch(indices)` gives their images (B, C, H, W) and labels (B,) or None."""

    name: str
    size: int
    fetch: Fetch
    labelled: bool

    def fingerprint(self) -> str:
        """A short hash of the set's size, labels and first image, to tell data sets apart."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{self.name}:{self.size}".encode())
        x, y = self.fetch(torch.arange(min(self.size, 8)))
        digest.update(x.detach().cpu().float().contiguous().numpy().tobytes())
        if y is not None:
            digest.update(y.detach().cpu().long().contiguous().numpy().tobytes())
        return digest.hexdigest()


def resolve_data(data: object, model: nn.Module) -> EvalData:
    """An EvalData from tensors, a (x, y) pair, a Dataset, a DataLoader or a name in NAMED."""
    if isinstance(data, str):
        return _named(data, model)
    if isinstance(data, Path):
        return _folder(data, model)
    if isinstance(data, Tensor):
        return _tensors(data, None, "tensor")
    if isinstance(data, (tuple, list)):
        if len(data) != 2 or not isinstance(data[0], Tensor):
            raise TypeError("data as a pair must be (x, y): images (N, C, H, W) and labels (N,) or None")
        return _tensors(data[0], data[1], "tensors", model)
    if isinstance(data, DataLoader):
        return _loader(data, model)
    if isinstance(data, IterableDataset):
        raise TypeError("an IterableDataset has no fixed order to resume or shard; pass a map-style Dataset")
    if isinstance(data, Dataset):
        return _dataset(data, type(data).__name__, model)
    raise TypeError(
        "data must be (x, y) tensors, an image tensor, a torch Dataset, a DataLoader or a data set "
        f"name ({', '.join(NAMED)}); got {type(data).__name__}"
    )


def _num_classes(model: nn.Module | None, x: Tensor) -> int | None:
    """The model's number of classes: from its metadata, else from one no-grad forward on x[:1]."""
    if model is None:
        return None
    from advcat.models.pixel import model_info

    info = model_info(model)
    if info is not None and info.num_classes is not None:
        return info.num_classes
    param = next(iter(model.parameters()), None)
    check_model_input(model, x)
    with torch.no_grad():
        logits = check_model_output(model(x[:1].to(param.device if param is not None else x.device)))
    return int(logits.shape[1]) if logits.dim() == 2 else None


def _class_counter(model: nn.Module | None) -> Callable[[Tensor], int | None]:
    """`_num_classes` found once, on the first batch asked, so a data set costs one forward at most."""
    found: list[int | None] = []

    def count(x: Tensor) -> int | None:
        if not found:
            found.append(_num_classes(model, x))
        return found[0]

    return count


def _label(value: object, item: int) -> int:
    """One data set item's label as an int; a float or non-scalar label is refused, never truncated."""
    if isinstance(value, Tensor):
        if value.numel() != 1 or value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"data set item {item} has label {value!r}; expected an integer class index")
        return int(value.item())
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"data set item {item} has label {value!r}; expected an integer class index")
    return operator.index(value)


def _check_items(y: Tensor, index: Tensor, num_classes: int | None) -> Tensor:
    """Labels (B,) of the items `index`, refused (naming the first bad item) if outside the classes."""
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"data set labels must be integer class indices, got dtype {y.dtype}")
    y = y.long()
    if num_classes is not None:
        bad = ((y < 0) | (y >= num_classes)).nonzero()
        if bad.numel():
            j = int(bad[0])
            raise ValueError(
                f"data set item {int(index[j])} has label {int(y[j])}, outside the model's "
                f"classes [0, {num_classes - 1}]"
            )
    return y


def _tensors(x: Tensor, y: object, name: str, model: nn.Module | None = None) -> EvalData:
    check_images(x)
    labels = None if y is None else check_labels(y, x.shape[0], num_classes=_num_classes(model, x)).long()

    def fetch(index: Tensor) -> tuple[Tensor, Tensor | None]:
        rows = index.to(x.device)
        return x[rows], None if labels is None else labels[index.to(labels.device)]

    return EvalData(name=name, size=x.shape[0], fetch=fetch, labelled=labels is not None)


def _dataset(dataset: Dataset[Any], name: str, model: nn.Module | None = None) -> EvalData:
    size = len(dataset)  # type: ignore[arg-type]
    if size == 0:
        raise ValueError(f"the data set {name} is empty")
    num_classes = _class_counter(model)
    if hasattr(dataset, "batch"):
        batch = dataset.batch

        def fetch_batch(index: Tensor) -> tuple[Tensor, Tensor | None]:
            x, y = batch(index)
            return x, _check_items(torch.as_tensor(y), index, num_classes(x))

        return EvalData(name=name, size=size, fetch=fetch_batch, labelled=True)
    first = dataset[0]
    labelled = isinstance(first, (tuple, list)) and len(first) >= 2

    def fetch(index: Tensor) -> tuple[Tensor, Tensor | None]:
        items = [dataset[int(i)] for i in index]
        if not labelled:
            return torch.stack([_image(item) for item in items]), None
        images = torch.stack([_image(item[0]) for item in items])
        labels = torch.tensor([_label(item[1], int(i)) for item, i in zip(items, index)], dtype=torch.long)
        return images, _check_items(labels, index, num_classes(images))

    return EvalData(name=name, size=size, fetch=fetch, labelled=labelled)


def _image(item: Any) -> Tensor:
    if not isinstance(item, Tensor) or item.dim() != 3:
        raise TypeError(
            "data set items must be images (C, H, W) as tensors in [0, 1], or (image, label) pairs; "
            f"got {type(item).__name__}{tuple(item.shape) if isinstance(item, Tensor) else ''}"
        )
    return item.float()


def _loader(loader: DataLoader[Any], model: nn.Module | None = None) -> EvalData:
    if not isinstance(loader.sampler, SequentialSampler):
        raise ValueError(
            "the DataLoader shuffles or samples, so point i is not the same image in every run; "
            "resumed and sharded evaluation need a fixed order: pass shuffle=False or the Dataset"
        )
    return _dataset(loader.dataset, type(loader.dataset).__name__, model)


def _named(name: str, model: nn.Module) -> EvalData:
    key, _, argument = name.partition(":")
    key = key.lower().replace("-", "_")
    if key == "fashion_mnist":
        from advcat.data import fashion_mnist

        split = argument or "test"
        return _renamed(_dataset(fashion_mnist(split=split), ""), f"fashion_mnist:{split}")
    if key == "imagenet_samples":
        from advcat.data import imagenet_samples

        x, y = imagenet_samples(model)
        return _tensors(x, y, key)
    if key in ("cifar10_samples", "fashion_mnist_samples"):
        return _foolbox_small(key)
    if key == "photos":
        return _photos(model)
    if key == "cifar10":
        return _cifar10(argument)
    if Path(name).is_dir():
        return _folder(Path(name), model)
    if name.endswith(".safetensors"):
        return _tensor_file(Path(name))
    raise ValueError(
        f"unknown data set {name!r}; expected a folder or one of: "
        + "; ".join(f"{k} ({v})" for k, v in NAMED.items())
    )


def _tensor_file(path: Path) -> EvalData:
    """Images under "x" (N, C, H, W) in [0, 1] and, if present, labels under "y", in a safetensors file."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    tensors = load_file(str(path))
    if "x" not in tensors:
        raise ValueError(f"{path} holds {sorted(tensors)}; expected images under 'x' (and labels under 'y')")
    return _renamed(_tensors(tensors["x"].float(), tensors.get("y"), ""), path.name)


def _renamed(data: EvalData, name: str) -> EvalData:
    data.name = name
    return data


def _folder(path: Path, model: nn.Module) -> EvalData:
    from advcat.data import image_folder
    from advcat.models.pixel import model_info

    info = model_info(model)
    size = info.input_size if info is not None else 224
    channels = info.in_channels if info is not None else 3
    folder = image_folder(
        path, size=size, resize=info.resize if info is not None else None, channels=channels
    )
    return _renamed(_dataset(folder, ""), str(path))


def _foolbox_small(key: str) -> EvalData:
    import importlib.util
    import re

    from advcat.data.images import read_image

    prefix, channels = {"cifar10_samples": ("cifar10", 3), "fashion_mnist_samples": ("fashionMNIST", 1)}[key]
    spec = importlib.util.find_spec("foolbox")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    data_dirs = [Path(folder) / "data" for folder in folders if (Path(folder) / "data").is_dir()]
    files = [path for folder in data_dirs for path in folder.iterdir()]
    pattern = re.compile(rf"{prefix}_(\d+)_(\d+)\.png")
    found = sorted(
        (int(m.group(1)), path, int(m.group(2))) for path in files if (m := pattern.fullmatch(path.name))
    )
    if not found:
        raise ImportError(f"{key} are foolbox's package data: pip install foolbox (advcat's bench extra)")
    x = torch.cat([read_image(path, channels=channels) for _, path, _ in found])
    y = torch.tensor([label for _, _, label in found], dtype=torch.long)
    return _tensors(x, y, key)


def _photos(model: nn.Module) -> EvalData:
    from advcat.data import load_image, samples

    photos = [s for s in samples().values() if s.source != "foolbox"]
    if not photos:
        raise ImportError("no sample photos found: scikit-image or matplotlib ships them")
    x = torch.cat([load_image(s.path, model) for s in sorted(photos, key=lambda s: s.name)])
    return _tensors(x, None, "photos")


def _cifar10(root: str) -> EvalData:
    from torchvision.datasets import CIFAR10

    from advcat.data.fashion import DEFAULT_ROOT
    from advcat.data.tensors import TensorImages

    base = Path(root) if root else DEFAULT_ROOT
    try:
        data = CIFAR10(str(base), train=False, download=False)
    except RuntimeError as error:
        raise FileNotFoundError(
            f"CIFAR-10 not found under {base} (cifar-10-batches-py); put a copy there, pass "
            "cifar10:ROOT, or download it with torchvision.datasets.CIFAR10(ROOT, download=True)"
        ) from error
    images = torch.as_tensor(data.data).permute(0, 3, 1, 2).contiguous()
    return _renamed(_dataset(TensorImages(images, data.targets, data.classes), ""), "cifar10:test")
