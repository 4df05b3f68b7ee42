"""`load_model`: the embedded default, torchvision and timm architectures, and advcat checkpoints.

Every model comes back in pixel space (a PixelModel) with its metadata. Nothing here downloads
unless the user asks for a library's pretrained weights on a machine with internet.
"""

from __future__ import annotations

from pathlib import Path

import torch

from advcat.models.architectures import load_named, looks_like_path
from advcat.models.checkpoint import load_checkpoint
from advcat.models.pixel import PixelModel

DEFAULT_MODEL = "efficientnet_lite0"


def load_model(
    name: str | Path = DEFAULT_MODEL,
    *,
    weights: str | Path | None = "DEFAULT",
    device: str | torch.device | None = None,
) -> PixelModel:
    """A pixel-space model ([0, 1] input, normalization inside) with its metadata in `.info`.

    `name`: "efficientnet_lite0" (embedded, offline), "efficientnet_lite2", "torchvision:<arch>",
    "timm:<arch>", or the path of an advcat checkpoint. `weights`: "DEFAULT" (pretrained), a local
    file, None (random weights, stated in `.info.weights`), or for torchvision a named set such
    as "IMAGENET1K_V2". Pretrained weights that cannot be downloaded raise ConnectionError, with how
    to pass a local file instead (at once for timm's, when the Hugging Face Hub cannot be reached).
    A local file that does not fit the architecture raises ValueError naming it.
    """
    model = _load(name, weights)
    model.eval()
    return model.to(device) if device is not None else model


def _load(name: str | Path, weights: str | Path | None) -> PixelModel:
    if isinstance(name, Path) or (isinstance(name, str) and looks_like_path(name)):
        _check_checkpoint_request(Path(name), weights)
        return load_checkpoint(Path(name))
    if not isinstance(name, str):
        raise TypeError(f"a model name must be a string or a path, got {type(name).__name__}")
    return load_named(name, weights)


def _check_checkpoint_request(path: Path, weights: str | Path | None) -> None:
    """Refuse a plain state dict (.pt/.pth) given as the model, and weights given with a checkpoint:
    an advcat checkpoint names its architecture and holds its own weights."""
    if path.suffix in (".pt", ".pth"):
        found = "" if path.is_file() else " (no such file, either)"
        raise ValueError(
            f"{str(path)!r} is a .pt/.pth file{found}, not an advcat checkpoint (a .safetensors + .json "
            f"pair that save_checkpoint writes); for a state dict name the architecture and pass the "
            f"file as its weights: load_model('torchvision:resnet18', weights={str(path)!r}), "
            f"on the command line --model torchvision:resnet18 --weights {path}"
        )
    if weights is not None and weights != "DEFAULT":
        raise ValueError(
            f"weights={str(weights)!r} cannot apply to the checkpoint {str(path)!r}: a checkpoint holds "
            "its own weights; pass weights for an architecture name such as 'timm:resnet18'"
        )
