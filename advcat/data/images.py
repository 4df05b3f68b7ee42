"""Image files in and out: decode with checks, apply a model's preprocessing, write lossless PNG.

Images are float tensors in [0, 1]. Conversions are fixed and documented: grayscale is repeated to
three channels, transparency is composited over white, 16-bit grayscale is scaled to 8 bits and
EXIF orientation is applied. A missing file raises FileNotFoundError; anything that is not a
complete, decodable image raises ValueError before any work starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from advcat.data.photos import foolbox_imagenet_files, samples
from advcat.models.pixel import ModelInfo, model_info

if TYPE_CHECKING:  # PIL stays a lazy import at run time
    from PIL.Image import Image as PILImage

PathLike = str | os.PathLike[str]

_RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
_SIXTEEN_BIT = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def image_path(path_or_name: PathLike) -> Path:
    """The file behind a path or a sample photo's name (an existing file wins over a sample)."""
    if not isinstance(path_or_name, (str, os.PathLike)):
        raise TypeError(
            f"an image must be given as a file path or a sample name, got "
            f"{type(path_or_name).__name__}"
        )
    path = Path(path_or_name)
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"{path} is a directory; expected an image file")
    found = samples()
    if isinstance(path_or_name, str) and path_or_name in found:
        return found[path_or_name].path
    raise FileNotFoundError(
        f"no image file {str(path)!r} and no sample photo of that name; sample names: "
        f"{', '.join(sorted(found)[:8])}{', ...' if len(found) > 8 else ''} (advcat.samples())"
    )


def _decode(path: Path) -> PILImage:
    """Open, verify and fully decode a file, refusing truncated or corrupt data."""
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as probe:
            probe.verify()
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except UnidentifiedImageError as error:
        raise ValueError(
            f"{path} is not an image file that can be read (expected PNG, JPEG, BMP, GIF, ...)"
        ) from error
    except PermissionError:
        raise
    except Exception as error:  # noqa: BLE001 - PIL's decoders also raise IndexError, struct.error, ...
        raise ValueError(f"{path} is a truncated or corrupt image: {error}") from error
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _to_mode(image: PILImage, channels: int) -> PILImage:
    """RGB (or L for one channel): 16-bit scaled to 8 bits, transparency composited over white."""
    from PIL import Image

    if image.mode in _SIXTEEN_BIT:
        scaled = np.clip(np.rint(np.asarray(image, dtype=np.float64) / 257.0), 0, 255)
        image = Image.fromarray(scaled.astype(np.uint8))
    elif image.mode == "F":
        raise ValueError("floating-point images (PIL mode 'F') are not supported; save as 8-bit")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    rgb = image.convert("RGB")
    return rgb.convert("L") if channels == 1 else rgb


def _to_tensor(image: PILImage) -> Tensor:
    """(1, C, H, W) float32 in [0, 1] from a PIL image in mode RGB or L."""
    array = np.array(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def read_image(path_or_name: PathLike, *, channels: int = 3) -> Tensor:
    """A file's pixels as they are (no resize): (1, channels, H, W) float32 in [0, 1].

    `channels` is 3 (RGB; grayscale is repeated) or 1 (luma, ITU-R 601-2).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    return _to_tensor(_to_mode(_decode(image_path(path_or_name)), channels))


def _info(model: nn.Module | ModelInfo | None) -> ModelInfo:
    if model is None:
        from advcat.models.embedded import embedded_info
        from advcat.models.zoo import DEFAULT_MODEL

        return embedded_info(DEFAULT_MODEL, None, "not loaded")
    if isinstance(model, ModelInfo):
        return model
    info = model_info(model) if isinstance(model, nn.Module) else None
    if info is None:
        raise TypeError(
            "load_image needs a model that carries advcat metadata (.info), e.g. from "
            f"advcat.load_model or advcat.wrap, or None for the default; got {type(model).__name__}"
        )
    return info


def _preprocess(image: PILImage, info: ModelInfo) -> PILImage:
    """Resize the short side to info.resize (at least the crop) and take the centre crop.

    An image already input_size x input_size (e.g. one advcat saved) is used as is, so it round-trips.
    """
    from PIL import Image

    if info.interpolation not in _RESAMPLING:
        raise ValueError(
            f"unknown interpolation {info.interpolation!r} in the model's metadata; expected one "
            f"of {', '.join(_RESAMPLING)}"
        )
    crop = int(info.input_size)
    if image.size == (crop, crop):
        return image
    short = max(int(info.resize), crop)
    width, height = image.size
    size = (
        (short, int(short * height / width)) if width <= height
        else (int(short * width / height), short)
    )
    resample = getattr(Image.Resampling, info.interpolation.upper())
    resized = image.resize(size, resample=resample)
    left = int(round((size[0] - crop) / 2.0))
    top = int(round((size[1] - crop) / 2.0))
    return resized.crop((left, top, left + crop, top + crop))


def load_image(path_or_name: PathLike, model: nn.Module | ModelInfo | None = None) -> Tensor:
    """An image file or sample photo as (1, C, S, S) in [0, 1], preprocessed for `model`.

    The short side is resized to `model.info.resize` with the model's interpolation (antialiased,
    as PIL does), then the centre `input_size` square is cropped; an image already exactly
    `input_size` square (such as one `save_image` wrote) is used as is, so it loads back bit-identical.
    `model=None` uses the default model's preprocessing without loading its weights. C is 3, or 1
    for a one-channel model.
    """
    info = _info(model)
    image = _to_mode(_decode(image_path(path_or_name)), 1 if info.in_channels == 1 else 3)
    return _to_tensor(_preprocess(image, info))


def to_uint8(x: Tensor) -> Tensor:
    """The 8-bit levels a float image in [0, 1] is saved as: round(255 x), ties to even."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor in [0, 1], got {_describe(x)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("the image contains NaN or infinite values")
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(
            f"image values must lie in [0, 1], got [{float(x.min()):.4g}, {float(x.max()):.4g}]"
        )
    return torch.round(x.detach().to(torch.float64) * 255.0).to(torch.uint8)


def _describe(x: object) -> str:
    return f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__


def save_image(x: Tensor, path: PathLike) -> Path:
    """Write one image, (C, H, W) or (1, C, H, W) with C in {1, 3}, as a lossless 8-bit PNG.

    Pixels are stored as `to_uint8(x)`, so reading the file back gives `to_uint8(x) / 255` exactly.
    """
    from PIL import Image

    if not isinstance(x, Tensor):
        raise TypeError(f"save_image expects a torch.Tensor, got {type(x).__name__}")
    image = x[0] if x.dim() == 4 and x.shape[0] == 1 else x
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"save_image writes one image of shape (C, H, W) or (1, C, H, W) with C in (1, 3); "
            f"got {tuple(x.shape)} (index a batch to save its images one by one)"
        )
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"save_image writes PNG files; give a path ending in .png, got {target}")
    levels = to_uint8(image).cpu().permute(1, 2, 0).numpy()
    pixels = np.ascontiguousarray(levels[:, :, 0] if levels.shape[2] == 1 else levels)
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(target, format="PNG")
    return target


def imagenet_samples(model: nn.Module | ModelInfo | None = None) -> tuple[Tensor, Tensor]:
    """foolbox's 20 labelled ImageNet photos for `model`: images (20, C, S, S) and labels (20,)."""
    files = foolbox_imagenet_files()
    if not files:
        raise ImportError(
            "the labelled ImageNet photos come from foolbox's package data: pip install foolbox "
            "(part of advcat's bench extra)"
        )
    info = _info(model)
    images = [load_image(path, info) for path, _ in files]
    labels = torch.tensor([label for _, label in files], dtype=torch.long)
    return torch.cat(images), labels
