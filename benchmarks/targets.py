"""APGD-T's target order: AutoAttack's top-logit classes against MALT's nearest linearized
boundaries (Melamed, Yehudai and Shamir 2024), inside advcat's standard cascade, beside the
official AutoAttack standard on the same points.

The models are benchmarks/evaluation.py's Fashion-MNIST CNNs (trained there, or here into the same
cache); eps 0.1 L-inf; the sanity checks are off so that only the attacks are timed.

Run: `.venv/bin/python benchmarks/targets.py [--n 300] [--write]`; `--write` replaces this
benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import advcat
from advcat.data import fashion_mnist

sys.path.insert(0, str(Path(__file__).parent))
from evaluation import EPS, run_autoattack, train  # noqa: E402
from results import machine_and_date, write_section  # noqa: E402

TITLE = "## Evaluation: APGD-T target order, top logits vs MALT (issue 16)"
SQUARE = ("square", {"steps": 1000})


def cascades(k: int) -> dict[str, list[Any]]:
    """advcat's standard cascade with AutoAttack's 9 top-logit targets, and with `k` MALT targets."""
    return {
        "advcat standard (9 top-logit targets)": ["apgd_ce", ("apgd_t", {"n_target_classes": 9}),
                                                  SQUARE],
        f"advcat, {k} MALT targets": ["apgd_ce", ("apgd_t", {"n_target_classes": k, "order": "malt"}),
                                      SQUARE],
    }


def measure(model: advcat.PixelModel, x: Tensor, y: Tensor, attacks: list[Any],
            batch_size: int) -> dict[str, Any]:
    """Robust flags, seconds and per-stage breaks of one cascade on (x, y)."""
    start = time.perf_counter()
    report = advcat.evaluate(model, (x, y), eps=[EPS], attacks=attacks, batch_size=batch_size,
                             progress=False, sanity=False)
    stages = ", ".join(f"{row['name']} {row['broken']} ({row['seconds'] or 0:.0f} s)"
                       for row in report.attacks[0])
    return {"robust": report.robust(EPS), "seconds": time.perf_counter() - start, "stages": stages}


def rows_for(model: advcat.PixelModel, x: Tensor, y: Tensor, k: int, batch_size: int) -> list[str]:
    """One table row per cascade and one for AutoAttack, each against AutoAttack's flags."""
    theirs, theirs_seconds, theirs_stages = run_autoattack(model, x, y, batch_size)
    lines = []
    for name, attacks in cascades(k).items():
        ours = measure(model, x, y, attacks, batch_size)
        robust = ours["robust"]
        lines.append(
            f"| {model.info.name} | {name} | {100 * float(robust.float().mean()):.1f} | "
            f"{int((robust & ~theirs).sum())} | {int((~robust & theirs).sum())} | {ours['seconds']:.0f} | "
            f"{ours['seconds'] / theirs_seconds:.2f} | {ours['stages']} |"
        )
        print(lines[-1], flush=True)
    lines.append(f"| {model.info.name} | AutoAttack standard | {100 * float(theirs.float().mean()):.1f} | "
                 f"- | - | {theirs_seconds:.0f} | 1.00 | {theirs_stages} |")
    print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--k", type=int, default=3, help="MALT's number of targets")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "advcat" / "bench-evaluation")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    x, y = fashion_mnist(split="test").batch(torch.arange(args.n))
    table = []
    for adversarial, epochs in ((False, 3), (True, 5)):
        model, _ = train(adversarial, epochs, args.cache)
        table += rows_for(model, x, y, args.k, args.batch_size)
    text = "\n".join([
        TITLE, "",
        f"- command: `.venv/bin/python benchmarks/targets.py --n {args.n} --k {args.k} --write` (models: "
        "benchmarks/evaluation.py's, 3 plain / 5 FGSM-RS epochs)",
        *machine_and_date(load, "times are upper bounds, ratios are within one run"),
        "",
        f"L-inf eps {EPS}, the first {args.n} Fashion-MNIST test points, sanity checks off. \"only AA\" "
        "counts points AutoAttack broke and the cascade did not; \"only advcat\" the reverse.",
        "",
        "| model | evaluation | robust % | only AA broke | only advcat broke | seconds | / AutoAttack "
        "| stages |",
        "|---|---|---|---|---|---|---|---|",
        *table,
    ]) + "\n"
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
