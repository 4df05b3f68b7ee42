"""Fashion-MNIST (60k train / 10k test, 28x28 grayscale, 10 classes) from local IDX files.

The Debian package `dataset-fashion-mnist` installs the gzipped IDX files under
/usr/share/datasets/fashion-mnist; they are unpacked once into ROOT/FashionMNIST/raw/, where
torchvision's `FashionMNIST(ROOT, download=False)` reads them. With internet, `download=True` lets
torchvision fetch them instead.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from advcat.data.tensors import TensorImages

DEBIAN_SOURCE = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_ROOT = Path.home() / ".cache" / "advcat" / "datasets"
FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)


def _unpack(source: Path, raw: Path) -> None:
    """Copy each IDX file that `raw` lacks from `source` (gunzipping `.gz`), atomically."""
    for name in FILES:
        target = raw / name
        if target.is_file():
            continue
        for candidate, opener in ((source / f"{name}.gz", gzip.open), (source / name, open)):
            if candidate.is_file():
                raw.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".tmp")
                with opener(candidate, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, target)
                break


def fashion_mnist(
    root: str | Path | None = None,
    *,
    split: str = "train",
    source: str | Path = DEBIAN_SOURCE,
    download: bool = False,
) -> TensorImages:
    """Fashion-MNIST's `split` ("train" or "test") as (N, 1, 28, 28) images with class names.

    `root` (default ~/.cache/advcat/datasets) receives the unpacked files; `source` is where the
    gzipped IDX files are found (the Debian package's folder by default).
    """
    from torchvision.datasets import FashionMNIST

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    base = Path(root) if root is not None else DEFAULT_ROOT
    raw = base / "FashionMNIST" / "raw"
    _unpack(Path(source), raw)
    missing = [name for name in FILES if not (raw / name).is_file()]
    if missing and not download:
        raise FileNotFoundError(
            f"Fashion-MNIST files not found: {', '.join(missing)} in {raw} or {source}. Install "
            "them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), pass source= a "
            "folder holding the IDX files, or download=True where there is internet"
        )
    data = FashionMNIST(str(base), train=split == "train", download=bool(missing))
    return TensorImages(data.data.unsqueeze(1), data.targets, data.classes)
