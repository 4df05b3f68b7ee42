"""Run the demo: ideal images, attacks, transfer, attributions and a robustness curve, offline."""

from __future__ import annotations

import argparse

from advcat.cli.args import out_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="advcat-demo", type=out_dir,
                        help="gallery folder (default ./advcat-demo)")
    parser.add_argument("--quick", action="store_true", help="tiny settings (seconds, for tests)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    from advcat.demo import run_demo

    run_demo(args.out, quick=args.quick, progress=not args.no_progress)
    return 0
