"""ImageNet class names offline, and class lookup by index or by name.

Names come from torchvision's weight metadata (one short name per class) and timm's WordNet
descriptions (all synonyms: "tabby" and "tabby cat" both find 281). A name shared by two classes
("crane", "maillot") is refused with both candidates listed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, in index order."""
    from torchvision.models import ResNet50_Weights

    return tuple(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


@lru_cache(maxsize=1)
def _imagenet_synonyms() -> dict[str, set[int]]:
    from timm.data.imagenet_info import ImageNetInfo

    info = ImageNetInfo()
    table: dict[str, set[int]] = {}
    for index, name in enumerate(imagenet_classes()):
        names = {name} | {s.strip() for s in info.index_to_description(index).split(",")}
        for synonym in names:
            table.setdefault(_normal(synonym), set()).add(index)
    return table


def _normal(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def class_index(value: int | str, classes: Sequence[str] | None = None) -> int:
    """The index of a class given as an index or a name; `classes=None` means ImageNet-1k.

    A list of 1000 names is taken for ImageNet-1k in its usual order when a name is not in it,
    so WordNet synonyms ("tabby cat") work for torchvision's and timm's class lists too.

    Unknown names get a ValueError listing close matches; ambiguous ones list every candidate.
    """
    names = tuple(classes) if classes is not None else imagenet_classes()
    if isinstance(value, bool):
        raise TypeError(f"a class must be an index or a name, got {value!r}")
    if isinstance(value, int):
        if not 0 <= value < len(names):
            raise ValueError(f"class index {value} is out of range [0, {len(names) - 1}]")
        return value
    if not isinstance(value, str):
        raise TypeError(f"a class must be an int index or a str name, got {type(value).__name__}")
    if value.strip().isdigit():
        return class_index(int(value), names)
    key = _normal(value)
    if classes is None:
        table = _imagenet_synonyms()
    else:
        table = {}
        for index, name in enumerate(names):
            table.setdefault(_normal(name), set()).add(index)
    hits = table.get(key, set())
    if not hits and len(names) == len(imagenet_classes()):
        hits = _imagenet_synonyms().get(key, set())  # ImageNet-1k under another naming (torchvision's)
    if len(hits) == 1:
        return next(iter(hits))
    if len(hits) > 1:
        listed = ", ".join(f"{i} ({names[i]})" for i in sorted(hits))
        raise ValueError(f"class name {value!r} is ambiguous: it names {listed}; pass the index")
    close = difflib.get_close_matches(key, list(table), n=5, cutoff=0.6)
    hint = ", ".join(f"{c!r}" for c in close) if close else "none"
    raise ValueError(f"unknown class name {value!r}; close matches: {hint}")


def class_name(index: int, classes: Sequence[str] | None = None) -> str:
    """The display name of a class index."""
    names = tuple(classes) if classes is not None else imagenet_classes()
    return names[index]
