"""Build an HTML gallery from saved results (attacks, syntheses, attributions, reports)."""

from __future__ import annotations

import argparse
from pathlib import Path

from advcat.cli.args import out_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", help="saved result files (.json) or report folders")
    parser.add_argument("--out", required=True, type=out_dir, help="folder for the figures and index.html")
    parser.add_argument("--title", default="advcat gallery")


def run(args: argparse.Namespace) -> int:
    """Check every result first (so a bad one writes nothing), then draw them and write the index."""
    from advcat.viz.saved import build_gallery

    for path in args.results:
        check_result(Path(path))
    index = build_gallery(args.results, args.out, title=args.title)
    print(f"wrote {index}")
    return 0


def check_result(path: Path) -> None:
    """Refuse `path`, naming it, unless it is a saved result the gallery draws: metadata of a known
    kind and, beside it, the tensors file that kind saves (a report is its JSON alone)."""
    from advcat.io_paths import saved_pair
    from advcat.viz.saved import _kind, _metadata

    source, meta = _metadata(path)
    try:
        kind = _kind(meta)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    tensors = saved_pair(source)[0]
    if kind != "Report" and not tensors.is_file():
        raise FileNotFoundError(f"{path}: the {kind}'s tensors file {tensors} is missing")
