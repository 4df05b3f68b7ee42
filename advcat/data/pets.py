"""The Oxford-IIIT Pet set (37 breeds: 12 cats, 25 dogs) from a local copy, by breed or species.

torchvision's `OxfordIIITPet` reads the split files and class names (nothing is downloaded); the
images are then decoded by `ImageFiles`, so unreadable files are skipped and counted.
"""

from __future__ import annotations

from pathlib import Path

from advcat.data.files import ImageFiles

LABELS = ("breed", "species")
BREEDS = 37


def breed_names(annotations: Path) -> tuple[str, ...]:
    """The 37 breed names by class index, read from both split files (as torchvision spells them).

    A breed that no split file lists (a partial copy) is called "breed N", so class indices keep
    their meaning across splits and copies.
    """
    names = {}
    for split in ("trainval", "test"):
        file = annotations / f"{split}.txt"
        if not file.is_file():
            continue
        for line in file.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                raw = parts[0].rsplit("_", 1)[0]
                names[int(parts[1]) - 1] = " ".join(word.title() for word in raw.split("_"))
    return tuple(names.get(i, f"breed {i + 1}") for i in range(max(BREEDS, len(names))))


def oxford_pets(
    root: str | Path,
    *,
    split: str = "trainval",
    labels: str = "breed",
    size: int = 224,
    resize: int | None = None,
    check: str = "header",
) -> ImageFiles:
    """The Oxford-IIIT Pet `split` ("trainval" or "test") with breed (37) or species (2) labels.

    Breed names are spelled as torchvision spells them ("American Bulldog").

    `root` holds `oxford-iiit-pet/images/*.jpg` and `oxford-iiit-pet/annotations/{split}.txt`
    (torchvision's layout), or is that `oxford-iiit-pet` folder itself.
    """
    from torchvision.datasets import OxfordIIITPet

    if labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
    if split not in ("trainval", "test"):
        raise ValueError(f"split must be 'trainval' or 'test', got {split!r}")
    path = Path(root)
    if path.name == "oxford-iiit-pet" and not (path / "oxford-iiit-pet").is_dir():
        path = path.parent
    base = path / "oxford-iiit-pet"
    if not (base / "images").is_dir() or not (base / "annotations" / f"{split}.txt").is_file():
        raise FileNotFoundError(
            f"no Oxford-IIIT Pet copy under {path}: expected {base}/images/*.jpg and "
            f"{base}/annotations/{split}.txt (the layout of the official images.tar.gz and "
            "annotations.tar.gz)"
        )
    pets = OxfordIIITPet(str(path), split=split, target_types="category", download=False)
    files = [Path(p) for p in pets._images]
    if labels == "breed":
        targets, classes = list(pets._labels), breed_names(base / "annotations")
    else:
        targets, classes = list(pets._bin_labels), tuple(c.lower() for c in pets.bin_classes)
    return ImageFiles(zip(files, targets), classes, size=size, resize=resize, check=check,
                      root=base)
