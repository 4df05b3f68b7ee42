"""`advcat COMMAND ...`: dispatch to the subcommand's module, turning user errors into one line.

Each module named in COMMANDS exposes `add_arguments(parser)` and `run(args) -> int`, and keeps
its heavy imports inside `run`; only the chosen command's module is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

COMMANDS: dict[str, str] = {
    "demo": "advcat.cli.demo",
    "gallery": "advcat.cli.gallery",
    "predict": "advcat.cli.predict",
    "attack": "advcat.cli.attack",
    "synthesize": "advcat.cli.synthesize",
    "attribute": "advcat.cli.attribute",
    "finetune": "advcat.cli.finetune",
    "evaluate": "advcat.cli.evaluate",
}

# Errors a user can act on: printed as one line, exit status 2, no traceback. ConnectionError is
# what load_model raises when pretrained weights cannot be downloaded (its message says what to do).
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, ImportError, ConnectionError)


def _summary(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser, with full arguments for `command` only (all commands' summaries if None)."""
    parser = argparse.ArgumentParser(
        prog="advcat",
        description="Attack, explain and benchmark image classifiers in pixel space.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, path in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name)
            continue
        module = importlib.import_module(path)
        summary = _summary(module)
        sub_parser = sub.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 for a usage or input error)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    module = importlib.import_module(COMMANDS[args.command])
    try:
        return int(module.run(args))
    except USER_ERRORS as error:
        print(f"advcat {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
