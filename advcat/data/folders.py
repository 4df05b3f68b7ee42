"""Image sets laid out as folders: an ImageFolder tree, and Microsoft's PetImages cats vs dogs.

An ImageFolder tree has one subfolder per class (sorted names are the class indices); every file
inside, at any depth, is an example of that class. Hidden files are ignored; files that cannot be
read are skipped and counted (see `advcat.data.files`).
"""

from __future__ import annotations

from pathlib import Path

from advcat.data.files import ImageFiles


def _files_under(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _existing_dir(root: str | Path) -> Path:
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"data folder not found: {path}")
    if not path.is_dir():
        raise ValueError(f"{path} is a file; expected a folder with one subfolder per class")
    return path


def image_folder(
    root: str | Path,
    *,
    size: int = 224,
    resize: int | None = None,
    channels: int = 3,
    check: str = "header",
) -> ImageFiles:
    """An ImageFolder tree (`root/<class>/...`) as an `ImageFiles` set of `size` x `size` images.

    `check` is how unreadable files are found when the set is built: "header" (fast), "decode"
    (full decode, slower, catches truncated files up front) or "none".
    """
    path = _existing_dir(root)
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(
            f"{path} has {len(classes)} class subfolder(s); an ImageFolder tree needs at least 2 "
            "(root/<class name>/<image files>)"
        )
    files = [(file, label) for label, name in enumerate(classes) for file in _files_under(path / name)]
    return ImageFiles(files, classes, size=size, resize=resize, channels=channels, check=check,
                      root=path)


def cats_vs_dogs(
    root: str | Path,
    *,
    size: int = 224,
    resize: int | None = None,
    check: str = "header",
) -> ImageFiles:
    """Microsoft's cats-vs-dogs set: `PetImages/Cat` and `PetImages/Dog`, labels 0 = cat, 1 = dog.

    `root` may be the PetImages folder or the folder that holds it. The real set has a few zero-byte
    and corrupt JPEGs and a Thumbs.db; they are skipped and their count is logged.
    """
    path = _existing_dir(root)
    if not (path / "Cat").is_dir() and (path / "PetImages").is_dir():
        path = path / "PetImages"
    missing = [name for name in ("Cat", "Dog") if not (path / name).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{path} lacks the {' and '.join(missing)} folder(s); expected the PetImages layout "
            "PetImages/Cat/*.jpg and PetImages/Dog/*.jpg"
        )
    files = [(file, label) for label, name in enumerate(("Cat", "Dog"))
             for file in _files_under(path / name)]
    return ImageFiles(files, ("cat", "dog"), size=size, resize=resize, check=check, root=path)
