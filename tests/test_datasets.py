"""Data set loaders on small trees the tests write: ImageFolder, PetImages (with broken files),
Oxford-IIIT Pet, Fashion-MNIST IDX files, and the stratified split."""

from __future__ import annotations

import gzip
import logging
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from advcat.data import (
    TensorImages,
    cats_vs_dogs,
    fashion_mnist,
    image_folder,
    oxford_pets,
    stratified_split,
)

COLOURS = {"ant": (220, 30, 30), "bee": (30, 220, 30), "cow": (30, 30, 220)}


def _photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, colour in COLOURS.items():
        for i in range(3):
            _photo(tmp_path / name / f"{i}.png", colour)
        _photo(tmp_path / name / "nested" / "deep.jpg", colour)
    (tmp_path / "ant" / ".DS_Store").write_bytes(b"\x00\x01hidden")
    return tmp_path


def test_image_folder_classes_labels_and_pixels(folder: Path) -> None:
    data = image_folder(folder, size=16)
    assert data.classes == ("ant", "bee", "cow")
    assert len(data) == 12 and data.skipped == []
    assert sorted(data.targets) == [0] * 4 + [1] * 4 + [2] * 4
    for i in range(len(data)):
        image, label = data[i]
        assert image.shape == (3, 16, 16) and image.dtype == torch.float32
        expected = torch.tensor(COLOURS[data.classes[label]], dtype=torch.float32) / 255
        assert torch.allclose(image.mean((1, 2)), expected, atol=0.03)


def test_image_folder_grayscale_and_errors(folder: Path, tmp_path: Path) -> None:
    assert image_folder(folder, size=8, channels=1)[0][0].shape == (1, 8, 8)
    with pytest.raises(FileNotFoundError, match="not found"):
        image_folder(tmp_path / "missing")
    lonely = tmp_path / "lonely"
    _photo(lonely / "only" / "a.png", (1, 2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        image_folder(lonely)
    with pytest.raises(ValueError, match="check"):
        image_folder(folder, check="maybe")


def _jpeg_bytes(colour: tuple[int, int, int], noise: bool = False) -> bytes:
    import io

    pixels = np.broadcast_to(np.array(colour, dtype=np.uint8), (48, 64, 3))
    if noise:
        pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def pet_images(tmp_path: Path) -> Path:
    """PetImages/Cat and /Dog with good JPEGs and the real set's kinds of broken files."""
    root = tmp_path / "kagglecatsanddogs" / "PetImages"
    for name, colour in (("Cat", (200, 120, 40)), ("Dog", (40, 90, 200))):
        for i in range(4):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{i}.jpg").write_bytes(_jpeg_bytes(colour))
    (root / "Cat" / "666.jpg").write_bytes(b"")                                  # zero-byte
    (root / "Cat" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 not an image")   # non-image
    (root / "Dog" / "11702.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(50))    # corrupt JPEG
    whole = _jpeg_bytes((0, 0, 0), noise=True)
    (root / "Dog" / "truncated.jpg").write_bytes(whole[:len(whole) // 2])      # cut-off scan
    return root


def test_cats_vs_dogs_skips_unreadable_files_with_a_logged_count(
        pet_images: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="advcat.data"):
        data = cats_vs_dogs(pet_images.parent, size=24, check="decode")
    assert data.classes == ("cat", "dog")
    assert len(data) == 8
    assert sorted(p.name for p, _ in data.skipped) == ["11702.jpg", "666.jpg", "Thumbs.db",
                                                       "truncated.jpg"]
    assert "skipped 4 unreadable files" in caplog.text
    assert "zero-byte: 1" in caplog.text
    labels = [label for _, label in (data[i] for i in range(len(data)))]
    assert labels.count(0) == 4 and labels.count(1) == 4


def test_cats_vs_dogs_header_check_names_a_truncated_file_instead_of_substituting(
        pet_images: Path) -> None:
    data = cats_vs_dogs(pet_images, size=24)
    assert len(data.skipped) == 3 and len(data) == 9
    with pytest.raises(ValueError, match="truncated.jpg"):
        next(iter(DataLoader(data, batch_size=len(data))))
    good = [i for i, (p, _) in enumerate(data.files) if p.name != "truncated.jpg"]
    images = torch.stack([data[i][0] for i in good])
    assert images.shape == (8, 3, 24, 24) and bool(torch.isfinite(images).all())
    assert len(data.skipped) == 3


def test_cats_vs_dogs_needs_both_folders(tmp_path: Path) -> None:
    (tmp_path / "Cat").mkdir()
    with pytest.raises(FileNotFoundError, match="Dog"):
        cats_vs_dogs(tmp_path)


BREEDS = (  # (file prefix, class id 1-based, species 1 cat / 2 dog), as in Oxford's split files
    ("Abyssinian", 1, 1), ("american_bulldog", 2, 2), ("Bengal", 6, 1),
)


@pytest.fixture
def pets_root(tmp_path: Path) -> Path:
    base = tmp_path / "oxford-iiit-pet"
    (base / "annotations").mkdir(parents=True)
    lines: dict[str, list[str]] = {"trainval": [], "test": []}
    for prefix, label, species in BREEDS:
        for i in range(1, 4):
            _photo(base / "images" / f"{prefix}_{i}.jpg", (label * 30, 100, species * 90))
            split = "test" if i == 3 else "trainval"
            lines[split].append(f"{prefix}_{i} {label} {species} {i}")
    for split, rows in lines.items():
        (base / "annotations" / f"{split}.txt").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_oxford_pets_breed_and_species_labels(pets_root: Path) -> None:
    breeds = oxford_pets(pets_root, size=16)
    assert len(breeds.classes) == 37
    assert breeds.classes[:2] == ("Abyssinian", "American Bulldog")
    assert breeds.classes[5] == "Bengal" and breeds.classes[2] == "breed 3"
    assert len(breeds) == 6
    assert sorted(breeds.targets) == [0, 0, 1, 1, 5, 5]
    names = {path.name: breeds.classes[label] for path, label in breeds.files}
    assert names["american_bulldog_2.jpg"] == "American Bulldog"
    species = oxford_pets(pets_root / "oxford-iiit-pet", labels="species", split="test", size=16)
    assert species.classes == ("cat", "dog")
    assert {p.name: species.classes[y] for p, y in species.files} == {
        "Abyssinian_3.jpg": "cat", "american_bulldog_3.jpg": "dog", "Bengal_3.jpg": "cat"}
    assert species[0][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="labels"):
        oxford_pets(pets_root, labels="colour")
    with pytest.raises(FileNotFoundError, match="oxford-iiit-pet"):
        oxford_pets(pets_root / "nowhere")


def _idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fashion_source(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    source = tmp_path / "debian"
    source.mkdir()
    arrays = {}
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _idx(source / f"{prefix}-images-idx3-ubyte.gz", images, 0x00000803)
        _idx(source / f"{prefix}-labels-idx1-ubyte.gz", labels, 0x00000801)
        arrays[prefix] = images
        arrays[prefix + "_labels"] = labels
    return source, arrays


def test_fashion_mnist_reads_idx_files(tmp_path: Path, fashion_source) -> None:  # noqa: ANN001
    source, arrays = fashion_source
    train = fashion_mnist(tmp_path / "root", source=source)
    assert (tmp_path / "root" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert len(train) == 12 and train.classes[0] == "T-shirt/top" and len(train.classes) == 10
    image, label = train[3]
    assert image.shape == (1, 28, 28)
    assert torch.equal(image, torch.from_numpy(arrays["train"][3]).float()[None] / 255)
    assert label == int(arrays["train_labels"][3])
    test = fashion_mnist(tmp_path / "root", split="test", source=tmp_path / "empty")
    assert len(test) == 5
    assert test.targets == arrays["t10k_labels"].tolist()


def test_fashion_mnist_missing_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist(tmp_path, source=tmp_path / "nothing")


def test_stratified_split_is_disjoint_stratified_and_seeded() -> None:
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    data = TensorImages(torch.zeros(100, 1, 2, 2), labels)
    train, val = stratified_split(data, 0.2, seed=3)
    assert sorted(train.indices + val.indices) == list(range(100))
    counts = torch.bincount(torch.tensor(val.targets), minlength=3).tolist()
    assert counts == [10, 6, 4]
    assert train.targets == labels[train.indices].tolist()
    again, _ = stratified_split(data, 0.2, seed=3)
    other, _ = stratified_split(data, 0.2, seed=4)
    assert again.indices == train.indices and other.indices != train.indices
    images, batch_labels = val.batch(torch.tensor([0, 1]))
    assert images.shape == (2, 1, 2, 2) and batch_labels.tolist() == val.targets[:2]
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(data, 1.5)


def test_tensor_images_checks_its_input() -> None:
    with pytest.raises(ValueError, match="one per image"):
        TensorImages(torch.zeros(3, 1, 2, 2), [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        TensorImages(torch.full((2, 1, 2, 2), 3.0), [0, 1])
    data = TensorImages(torch.full((2, 1, 2, 2), 255, dtype=torch.uint8), [0, 1], ["a", "b"])
    assert data[1][0].max().item() == 1.0 and data.classes == ("a", "b")
