"""Foundation benchmark: the default model's accuracy on foolbox's 20 labelled ImageNet photos and
its CPU forward / forward+backward (input gradient) time per image.

Run: `.venv/bin/python benchmarks/foundation.py [--write]`; `--write` replaces this benchmark's
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import torch

import advcat
from advcat.data import imagenet_samples
from advcat.models import borrowed

sys.path.insert(0, str(Path(__file__).parent))
from results import cpu_name, write_section  # noqa: E402

TITLE = "## Foundation: default model accuracy and CPU speed"



def accuracy(model: torch.nn.Module) -> tuple[float, float]:
    """Top-1 and top-5 accuracy on the 20 labelled photos."""
    x, y = imagenet_samples(model)
    with borrowed(model), torch.no_grad():
        top5 = model(x).topk(5, dim=1).indices
    top1_hits = (top5[:, 0] == y).float().mean()
    top5_hits = (top5 == y[:, None]).any(dim=1).float().mean()
    return float(top1_hits), float(top5_hits)


def seconds_per_image(model: torch.nn.Module, batch: int, repeats: int, backward: bool) -> float:
    """Median over `repeats` timed batches (after one warm-up) of batch time / batch size."""
    x = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    times = []
    with borrowed(model):
        for i in range(repeats + 1):
            start = time.perf_counter()
            if backward:
                inputs = x.clone().requires_grad_(True)
                model(inputs).logsumexp(dim=1).sum().backward()
            else:
                with torch.no_grad():
                    model(x)
            if i:
                times.append(time.perf_counter() - start)
    return statistics.median(times) / batch


def section(batch: int, repeats: int) -> str:
    """Measure and format this benchmark's RESULTS.md section."""
    model = advcat.load_model()
    top1, top5 = accuracy(model)
    forward = seconds_per_image(model, batch, repeats, backward=False)
    both = seconds_per_image(model, batch, repeats, backward=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join([
        TITLE,
        "",
        f"- command: `.venv/bin/python benchmarks/foundation.py --write` (batch {batch}, median of "
        f"{repeats} repeats after a warm-up)",
        f"- machine: {os.cpu_count()}-core x86 CPU, {cpu_name()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; 1-min load average {load:.1f} at the start of timing "
        "(the machine is shared, so times are upper bounds)",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        "| model | top-1 (20 photos) | top-5 (20 photos) | forward ms/image | "
        "forward+backward ms/image |",
        "|---|---|---|---|---|",
        f"| {model.info.name} (224 px) | {top1:.2f} | {top5:.2f} | {1000 * forward:.1f} | "
        f"{1000 * both:.1f} |",
        "",
        "Forward+backward is the input gradient an attack step needs (parameters frozen).",
        "",
    ])



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    text = section(args.batch, args.repeats)
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
