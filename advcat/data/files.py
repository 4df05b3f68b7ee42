"""A labelled set of image files, decoded on access with a fixed preprocessing, unreadable ones skipped.

Real collections hold broken files (Microsoft's PetImages has zero-byte JPEGs, a Thumbs.db and
truncated images). Files are checked when the set is built and the unreadable ones are left out,
counted in `.skipped` and logged. A file that only fails later, on a full decode (a truncated JPEG
passes the "header" check), raises a ValueError naming it: it is never replaced by another file,
so item i is the same image in every run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from torch import Tensor
from torch.utils.data import Dataset

from advcat.models.pixel import ModelInfo
from advcat.validate import check_count

log = logging.getLogger("advcat.data")

CHECKS = ("none", "header", "decode")


def file_problem(path: Path, check: str) -> str | None:
    """Why `path` cannot be used as an image ("zero-byte", "not an image", "corrupt"), or None.

    "header" opens the file and reads its header (fast); "decode" decodes every pixel as well.
    """
    if check == "none":
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            return "zero-byte"
        if check == "decode":
            from advcat.data.images import read_image

            read_image(path)
            return None
        with Image.open(path) as image:
            image.verify()
    except UnidentifiedImageError:
        return "not an image"
    except ValueError as error:
        return "not an image" if "not an image" in str(error) else "corrupt"
    except Exception:  # noqa: BLE001 - PIL's parsers also raise IndexError, struct.error, ...
        return "corrupt"
    return None


class ImageFiles(Dataset[tuple[Tensor, int]]):
    """Image files with labels: item i is (C, size, size) float32 in [0, 1] and its label.

    Each image's short side is resized to `resize` (default size / 0.875) and the centre
    `size` square cropped, as `advcat.load_image` does; `channels` is 3 (RGB) or 1 (luma).
    """

    def __init__(
        self,
        files: Iterable[tuple[str | Path, int]],
        classes: Sequence[str],
        *,
        size: int = 224,
        resize: int | None = None,
        channels: int = 3,
        interpolation: str = "bilinear",
        check: str = "header",
        root: str | Path | None = None,
    ) -> None:
        if check not in CHECKS:
            raise ValueError(f"check must be one of {CHECKS}, got {check!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels!r}")
        check_count("size", size)
        self.classes = tuple(classes)
        self.info = ModelInfo(input_size=size, resize=resize or round(size / 0.875),
                              interpolation=interpolation, in_channels=channels)
        kept: list[tuple[Path, int]] = []
        self.skipped: list[tuple[Path, str]] = []
        for file, label in files:
            path = Path(file)
            if not 0 <= int(label) < len(self.classes):
                raise ValueError(f"label {label} of {path} is not a class index below "
                                 f"{len(self.classes)}")
            problem = file_problem(path, check)
            if problem is None:
                kept.append((path, int(label)))
            else:
                self.skipped.append((path, problem))
        self.files = kept
        report_skipped(self.skipped, root)

    @property
    def targets(self) -> list[int]:
        """Every label, in order (what stratified splits and class counts read)."""
        return [label for _, label in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        """Item `index`; a file that passed the build-time check but fails to decode raises, naming it.

        It is never replaced by another file, so item i is always the same image (or an error).
        """
        from advcat.data.images import load_image

        path, label = self.files[index]
        try:
            return load_image(path, self.info)[0], label
        except ValueError as error:
            raise ValueError(
                f"item {index} of this image set, {path}, cannot be decoded: {error}; build the set "
                'with check="decode" to leave such files out up front'
            ) from error


def report_skipped(skipped: list[tuple[Path, str]], root: str | Path | None) -> None:
    """Log one line counting the files left out, by reason, with a few examples."""
    if not skipped:
        return
    reasons = Counter(reason for _, reason in skipped)
    detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    examples = ", ".join(str(path) for path, _ in skipped[:3])
    where = f" in {root}" if root is not None else ""
    log.warning("skipped %d unreadable files%s (%s), e.g. %s", len(skipped), where, detail, examples)
