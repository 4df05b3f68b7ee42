"""argparse types shared by the subcommands: each refuses a bad value while the command line is parsed.

A refusal raises argparse.ArgumentTypeError with a message naming what was expected, which the
parser prints as one line `advcat COMMAND: error: argument --eps: ...` (exit status 2), before
any model is loaded. Numbers must be finite: `1e400` (inf) and `nan` are refused everywhere.
"""

from __future__ import annotations

import ast
import math
from argparse import ArgumentParser, ArgumentTypeError, Namespace
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advcat.models import PixelModel


def number(text: str) -> float:
    """A finite number, written as a decimal or a fraction: '0.5', '2/255', '1e-3'."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError, OverflowError):
        value = math.nan
    if not math.isfinite(value):
        raise ArgumentTypeError(f"expected a finite number or a fraction like 2/255, got {text!r}")
    return value


def _bounded(low: float, high: float | None, low_inclusive: bool, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = number(text)
        above = value >= low if low_inclusive else value > low
        if not above or (high is not None and value > high):
            raise ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


non_negative = _bounded(0.0, None, True, "a finite number >= 0")
positive = _bounded(0.0, None, False, "a finite number > 0")
fraction = _bounded(0.0, 1.0, True, "a number in [0, 1]")


def eps_or_none(text: str) -> float | None:
    """One attack budget: a finite number >= 0 (fractions allowed), or 'none' for unbounded."""
    if text.strip().lower() == "none":
        return None
    return non_negative(text)


def eps_list(text: str) -> list[float]:
    """Comma-separated budgets, each a finite number >= 0: '1/255,2/255,0.1'."""
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise ArgumentTypeError(f"expected budgets separated by commas, like 1/255,2/255, got {text!r}")
    return [non_negative(part) for part in parts]


def _integer(low: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low:
            raise ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


positive_int = _integer(1, "an integer >= 1")
non_negative_int = _integer(0, "an integer >= 0")


def out_dir(text: str) -> str:
    """An output folder: it may not exist yet, but must not be an existing file."""
    path = Path(text)
    if not text.strip():
        raise ArgumentTypeError("expected a folder name, got ''")
    if path.exists() and not path.is_dir():
        raise ArgumentTypeError(f"{text!r} is a file, not a folder")
    return text


def device(text: str) -> str:
    """A torch device this machine has: 'cpu', 'cuda', 'cuda:1', 'mps'."""
    import torch

    try:
        chosen = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise ArgumentTypeError(f"expected a device such as cpu, cuda or cuda:1, got {text!r}") from None
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ArgumentTypeError(f"{text!r}: this machine has no CUDA GPU (torch.cuda.is_available() "
                                    "is False); use --device cpu")
        if chosen.index is not None and chosen.index >= count:
            raise ArgumentTypeError(f"{text!r}: this machine has {count} CUDA GPU(s), "
                                    f"cuda:0 to cuda:{count - 1}")
    elif chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ArgumentTypeError(f"{text!r}: MPS is not available on this machine; use --device cpu")
    elif chosen.type not in ("cpu", "cuda", "mps"):
        raise ArgumentTypeError(f"expected a device such as cpu, cuda or cuda:1, got {text!r}")
    return text


WEIGHTS_SUFFIXES = (".safetensors", ".pt", ".pth")


def weights_file(text: str) -> str:
    """A state dict file for --weights: an existing .safetensors, .pt or .pth file."""
    path = Path(text)
    if not path.name.endswith(WEIGHTS_SUFFIXES):
        raise ArgumentTypeError(f"expected a .safetensors, .pt or .pth state dict file, got {text!r}")
    if not path.is_file():
        raise ArgumentTypeError(f"weights file not found: {text!r}")
    return text


def add_model_arguments(parser: ArgumentParser) -> None:
    """--model NAME and --weights FILE, as every command that loads a model takes them."""
    parser.add_argument("--model", default="efficientnet_lite0",
                        help="model name (efficientnet_lite0, torchvision:ARCH, timm:ARCH) or an "
                             "advcat checkpoint path (default: %(default)s)")
    parser.add_argument("--weights", default=None, metavar="FILE", type=weights_file,
                        help="a state dict (.safetensors, .pt, .pth) to load into the --model "
                             "architecture, e.g. --model torchvision:resnet18 --weights r18.pth "
                             "(default: the model's pretrained weights)")


def load_model(args: Namespace, device: str | None = None) -> PixelModel:
    """The PixelModel that --model and --weights name."""
    import advcat

    weights = "DEFAULT" if args.weights is None else args.weights
    model: PixelModel = advcat.load_model(args.model, weights=weights, device=device)
    return model


def attack_options(method: str, items: list[str]) -> dict[str, object]:
    """--option KEY=VALUE strings for attack `method`; a key that is none of the method's options is
    refused with the list of those that are (its constructor's parameters, and eot)."""
    import inspect

    from advcat.attacks.registry import METHODS

    options = parse_options(items)
    key = str(method).lower().replace("-", "_")
    if key not in METHODS:
        return options
    parameters = inspect.signature(METHODS[key]).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return options
    valid = sorted({p.name for p in parameters if p.kind is not p.VAR_POSITIONAL} | {"eot"})
    unknown = [name for name in options if name not in valid]
    if unknown:
        raise ValueError(f"--option {unknown[0]}: {key} has no such option; its options are "
                         f"{', '.join(valid)}")
    return options


def parse_options(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings as a dict, values read as Python literals where they are one."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key.strip()] = text
    return options
