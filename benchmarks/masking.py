"""Planted gradient masking: five defences that hide the gradient of one trained model without making
it any more robust, each evaluated naively (the cascade alone) and adaptively (the cascade, then the
adaptations its fired checks call for), beside the undefended model.

Run: `.venv/bin/python benchmarks/masking.py [--write]` (the 8x8 digits CNN of tests/digits.py,
trained in seconds; about a minute on a shared 2-core CPU). `--write` replaces this benchmark's
section of benchmarks/RESULTS.md. tests/test_adaptive.py checks the same defences.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import advcat

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from results import cpu_name, write_section  # noqa: E402

TITLE = "## Evaluation: planted gradient masking, naive vs adaptive (issue 16)"
EPS = 0.15
POINTS = 60
SANITY_POINTS = 20


class Quantize(nn.Module):
    """Round every pixel to `levels` grey levels: the input gradient is zero almost everywhere."""

    def __init__(self, levels: int = 8) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, x: Tensor) -> Tensor:
        return torch.round(x * (self.levels - 1)) / (self.levels - 1)


class Scale(nn.Module):
    """Multiply the logits by `factor`: the softmax saturates and cross-entropy's gradient vanishes."""

    def __init__(self, factor: float = 1e4) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, logits: Tensor) -> Tensor:
        return logits * self.factor


class RandomResize(nn.Module):
    """Xie et al. (2018)'s defence, at 8x8: resize to a random size, pad at a random place, resize
    back; a fresh draw per image and per forward pass."""

    def __init__(self, largest: int = 9) -> None:
        super().__init__()
        self.largest = largest

    def forward(self, x: Tensor) -> Tensor:
        size, n = x.shape[-1], x.shape[0]
        side = torch.randint(size, self.largest + 1, (n,))
        left = (torch.rand(n) * (self.largest - side + 1)).long()
        top = (torch.rand(n) * (self.largest - side + 1)).long()
        out = torch.empty_like(x)
        for s, a, b in {(int(s), int(a), int(b)) for s, a, b in zip(side, left, top)}:
            rows = ((side == s) & (left == a) & (top == b)).nonzero().squeeze(1).to(x.device)
            grown = F.interpolate(x[rows], size=(s, s), mode="bilinear", align_corners=False)
            padded = F.pad(grown, (a, self.largest - s - a, b, self.largest - s - b))
            out[rows] = F.interpolate(padded, size=(size, size), mode="bilinear", align_corners=False)
        return out


def dct_matrix(n: int) -> Tensor:
    """The orthonormal DCT-II matrix of size n."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None]
    basis = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    basis[0] /= math.sqrt(2)
    return basis.float()


class JpegLike(nn.Module):
    """JPEG's lossy step on 8x8 blocks, done outside autograd: DCT, round each coefficient to a
    multiple of `step`, inverse DCT. The output is detached, so no gradient reaches the input."""

    basis: Tensor

    def __init__(self, step: float = 0.1) -> None:
        super().__init__()
        self.step = step
        self.register_buffer("basis", dct_matrix(8))

    def forward(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            blocks = x.unfold(2, 8, 8).unfold(3, 8, 8)
            coefficients = self.basis @ blocks @ self.basis.T
            kept = torch.round(coefficients / self.step) * self.step
            back = self.basis.T @ kept @ self.basis
            out = back.permute(0, 1, 2, 4, 3, 5).reshape(x.shape)
        return out.clamp(0, 1).detach()


class Thermometer(nn.Module):
    """Buckman et al. (2018)'s thermometer code: channel c*levels + l is 1 where pixel c exceeds
    (l + 0.5) / levels; built from comparisons, so the autograd graph is cut."""

    thresholds: Tensor

    def __init__(self, levels: int = 8) -> None:
        super().__init__()
        self.register_buffer("thresholds", (torch.arange(levels) + 0.5) / levels)

    def forward(self, x: Tensor) -> Tensor:
        code = x.unsqueeze(2) > self.thresholds.view(1, 1, -1, 1, 1)
        return code.flatten(1, 2).float()


class Decode(nn.Module):
    """The thermometer code back to grey levels (levels counted, per input channel): the network
    behind the encoding sees the image quantized, so it is the trained model unchanged."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, code: Tensor) -> Tensor:
        n, k, h, w = code.shape
        return code.view(n, self.channels, k // self.channels, h, w).mean(2)


def defended(base: nn.Module, *stages: tuple[str, nn.Module]) -> nn.Module:
    """`base` with named stages before it (or after it: a stage named "after" follows `base`)."""
    before = [(name, stage) for name, stage in stages if name != "after"]
    after = [(name, stage) for name, stage in stages if name == "after"]
    return nn.Sequential(OrderedDict([*before, ("net", base), *after]))


def planted(base: nn.Module) -> dict[str, nn.Module]:
    """The five planted defences around `base`, by name."""
    return {
        "quantized input (8 levels)": defended(base, ("defence", Quantize(8))),
        "logits x 1e4": defended(base, ("after", Scale(1e4))),
        "random resize and pad": defended(base, ("defence", RandomResize())),
        "JPEG-like DCT rounding (detached)": defended(base, ("defence", JpegLike(0.1))),
        "thermometer code (8 levels)": defended(base, ("defence", Thermometer(8)), ("decode", Decode())),
    }


def evaluate(model: nn.Module, x: Tensor, y: Tensor, adaptive: bool = True) -> advcat.Report:
    """The evaluation both the benchmark and tests/test_adaptive.py run: APGD-CE ("fast") at EPS."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return advcat.evaluate(model, (x, y), eps=EPS, attacks="fast", progress=False,
                               sanity_points=SANITY_POINTS, adaptive=adaptive)


def adaptations(report: advcat.Report) -> str:
    """The adaptations that ran, with the points each broke."""
    ran = (report.adaptive or {}).get("adaptations", [])
    return ", ".join(f"{a['name']} ({sum(a['broken'])} broken)" for a in ran) or "none"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace this section of RESULTS.md")
    parser.add_argument("--points", type=int, default=POINTS)
    args = parser.parse_args(argv)
    from digits import digits, trained_digits_model

    base = trained_digits_model()
    _, _, x, y = digits()
    x, y = x[: args.points], y[: args.points]
    start = time.perf_counter()
    unmasked = evaluate(base, x, y).robust_accuracy[0]
    rows = [("none (the trained model)", unmasked, unmasked, "none", time.perf_counter() - start)]
    for name, model in planted(base).items():
        start = time.perf_counter()
        report = evaluate(model, x, y)
        naive = (report.naive_robust_accuracy or report.robust_accuracy)[0]
        seconds = time.perf_counter() - start
        rows.append((name, naive, report.robust_accuracy[0], adaptations(report), seconds))
        print(f"{name}: naive {100 * naive:.1f}%, adaptive {100 * report.robust_accuracy[0]:.1f}%, "
              f"{adaptations(report)}", flush=True)
    text = section(rows, unmasked, args.points)
    print(text)
    if args.write:
        write_section(TITLE, text)


def section(rows: list[tuple[str, float, float, str, float]], unmasked: float, points: int) -> str:
    """The RESULTS.md section: one row per defence."""
    lines = [
        TITLE,
        "",
        "Command: `.venv/bin/python benchmarks/masking.py --write`",
        f"Machine: {cpu_name()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"Date: {datetime.date.today().isoformat()}",
        "",
        f"The digits CNN of tests/digits.py ({points} test points, Linf eps {EPS}), with each defence "
        f"planted in front of (or behind) it; `advcat.evaluate(..., attacks=\"fast\", "
        f"sanity_points={SANITY_POINTS})`, "
        "naive = the cascade and its sanity attacks, adaptive = after the adaptations the fired checks "
        "called for (docs/evaluation.md). None of these defences makes the model more robust: an honest "
        "evaluation finds about the undefended model's robust accuracy.",
        "",
        "| defence | naive robust accuracy | adaptive robust accuracy | undefended model | adaptation used "
        "(points it broke) | seconds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {100 * naive:.1f}% | {100 * adaptive:.1f}% | {100 * unmasked:.1f}% | {used} | "
        f"{sec:.1f} |"
        for name, naive, adaptive, used, sec in rows
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
