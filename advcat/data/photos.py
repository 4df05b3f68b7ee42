"""Named sample photos that installed packages ship, so examples and tests need no download.

The files are found on disk through each package's import location (nothing is imported):
scikit-image's photos, matplotlib's Grace Hopper portrait, and foolbox's labelled ImageNet photos
when foolbox is installed.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """A sample photo: its name, file, ImageNet label when one is known, and where it comes from."""

    name: str
    path: Path
    label: int | None
    source: str
    note: str = ""


# (name, file inside the package folder, ImageNet label or None, note)
_SKIMAGE = (
    ("chelsea", "data/chelsea.png", None, "a tabby-like cat: no exact label; any of 281-285"),
    ("coffee", "data/coffee.png", 967, "a cup of espresso"),
    ("astronaut", "data/astronaut.png", None, "a portrait of an astronaut: no ImageNet class"),
    ("rocket", "data/rocket.jpg", None, "a rocket launch: no exact label"),
)
_MATPLOTLIB = (
    ("grace_hopper", "mpl-data/sample_data/grace_hopper.jpg", 652, "in military uniform"),
)
_FOOLBOX_IMAGENET = re.compile(r"imagenet_(\d+)_(\d+)\.jpg")


def _package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def foolbox_imagenet_files() -> list[tuple[Path, int]]:
    """foolbox's 20 labelled ImageNet photos as (file, label), in foolbox's order; [] without it."""
    root = _package_dir("foolbox")
    if root is None or not (root / "data").is_dir():
        return []
    found = []
    for path in (root / "data").iterdir():
        match = _FOOLBOX_IMAGENET.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path, int(match.group(2))))
    return [(path, label) for _, path, label in sorted(found)]


def samples() -> dict[str, Sample]:
    """Every sample photo found on this machine, by name, with its ImageNet label where known."""
    found: dict[str, Sample] = {}
    for package, table in (("skimage", _SKIMAGE), ("matplotlib", _MATPLOTLIB)):
        root = _package_dir(package)
        if root is None:
            continue
        for name, relative, label, note in table:
            if (root / relative).is_file():
                found[name] = Sample(name, root / relative, label, package, note)
    for path, label in foolbox_imagenet_files():
        found[path.stem] = Sample(path.stem, path, label, "foolbox", "labelled ImageNet photo")
    return found
