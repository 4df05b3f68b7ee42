"""Measure robust accuracy per eps with an attack cascade and sanity checks; resumable, shardable.

Under `torchrun --nproc_per_node=K -m advcat evaluate ...` the points are shared among the K
processes (gloo on CPU, NCCL on GPUs) and rank 0 writes one report, the same as a single process's.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from advcat.cli.args import add_model_arguments, device, eps_list, load_model, out_dir, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat evaluate` options."""
    add_model_arguments(parser)
    parser.add_argument("--data", required=True,
                        help="fashion_mnist[:train], imagenet_samples, cifar10_samples, "
                             "fashion_mnist_samples, photos (unlabelled), cifar10[:ROOT], an "
                             "ImageFolder tree, or a .safetensors file with x (and y)")
    parser.add_argument("--norm", default="linf", help="linf or l2 (default: %(default)s)")
    parser.add_argument("--eps", required=True, metavar="E1,E2,...", type=parse_eps,
                        help="budgets, comma-separated; fractions allowed: 1/255,2/255")
    parser.add_argument("--attacks", default="standard",
                        help="standard, fast, or comma-separated attack names (default: %(default)s)")
    # not --n: under `torchrun ... -m advcat evaluate`, torchrun's own parser would claim it
    parser.add_argument("--points", type=positive_int, default=None, metavar="N",
                        help="evaluate the first N points (default: all)")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="points per batch (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default=None, metavar="DIR", type=out_dir,
                        help="folder for per-batch results (resume) and report.json/.md/.png")
    parser.add_argument("--no-resume", action="store_true",
                        help="start afresh even if --out holds committed batches")
    parser.add_argument("--no-sanity", action="store_true", help="skip the sanity checks")
    parser.add_argument("--sanity-points", type=positive_int, default=100,
                        help="points the costlier sanity checks use (default: 100)")
    parser.add_argument("--device", default=None, type=device,
                        help="cpu, cuda, cuda:1 (default: this process's GPU under torchrun, else the "
                             "first GPU if any, else cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


# The columns of Report.robustbench_line, as a Markdown table header.
ROBUSTBENCH_HEADER = ("| model | clean accuracy (%) | robust accuracy (%) | threat | eps | points | attacks |"
                      "\n|---|---|---|---|---|---|---|")


def parse_eps(text: str) -> list[float]:
    """"1/255,0.1" -> [1/255, 0.1]; each a finite number >= 0, refused while parsing otherwise."""
    return eps_list(text)


def _device(choice: str | None) -> str:
    import os

    import torch

    if choice is not None:
        return choice
    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


def run(args: argparse.Namespace) -> int:
    """Check the options, load the model, evaluate, and print the report on rank 0."""
    import os

    import advcat

    eps = args.eps
    attacks: str | list[str] = args.attacks
    if args.attacks not in ("standard", "fast"):
        attacks = [name.strip() for name in args.attacks.split(",") if name.strip()]
    model = load_model(args, device=_device(args.device))
    committed = _committed_batches(args)
    report = advcat.evaluate(
        model, args.data, norm=args.norm, eps=eps, attacks=attacks, n=args.points, batch_size=args.batch_size,
        seed=args.seed, out=args.out, resume=not args.no_resume, progress=not args.no_progress,
        sanity=not args.no_sanity, sanity_points=args.sanity_points,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        if args.out is not None:
            from advcat.viz import figure

            figure(report).savefig(Path(args.out) / "robustness.png", dpi=100)
        print(report.to_markdown())
        if committed:
            print(f"resumed {committed} of {math.ceil(report.n / args.batch_size)} batches from {args.out}")
        print(ROBUSTBENCH_HEADER)
        print(report.robustbench_line())
    return 0


def _committed_batches(args: argparse.Namespace) -> int:
    """How many batch files a resumed run finds in --out (what the run folder keeps, counted before the
    run: advcat.evaluate refuses files of another run, so each one counted is reused)."""
    if args.out is None or args.no_resume:
        return 0
    from advcat.evaluation.state import BATCHES

    return sum(1 for path in (Path(args.out) / BATCHES).glob("*.json") if path.stem.isdigit())
