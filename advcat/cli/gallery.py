"""Build an HTML gallery from saved results (attacks, syntheses, attributions, reports)."""

from __future__ import annotations

import argparse

from advcat.cli.args import out_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", help="saved result files (.json) or report folders")
    parser.add_argument("--out", required=True, type=out_dir, help="folder for the figures and index.html")
    parser.add_argument("--title", default="advcat gallery")


def run(args: argparse.Namespace) -> int:
    from advcat.viz.saved import build_gallery

    index = build_gallery(args.results, args.out, title=args.title)
    print(f"wrote {index}")
    return 0
