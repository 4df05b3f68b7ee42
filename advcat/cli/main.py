"""`advcat COMMAND ...`: dispatch to the subcommand's module, turning user errors into one line.

Each module named in COMMANDS exposes `add_arguments(parser)` and `run(args) -> int`, and keeps
its heavy imports inside `run`; only the chosen command's module is imported.

Exit status: 0 done, 2 a user error (one line `advcat COMMAND: error: ...` on stderr), 130
interrupted (Ctrl-C), anything else with a traceback is a bug. A user error is a bad command
line (argparse, with the types in `advcat.cli.args`), an OSError about a path (missing, not
readable, a folder), or a ValueError / TypeError / ImportError / OSError that advcat's own
code raised on purpose: its innermost traceback entry is a `raise` statement in the advcat
package, whose message was written for the user. The same types raised anywhere else (inside
torch, or by an operation in advcat's code, such as `None + 1`) are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import dis
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import NoReturn

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

# The types advcat raises, on purpose, for what a user can fix: printed as one line, exit status 2.
# OSError covers FileNotFoundError and the ConnectionError load_model raises when pretrained
# weights cannot be downloaded.
USER_ERRORS = (ValueError, TypeError, ImportError, OSError)
# Commands that keep committed work in their output folder and resume it when rerun.
RESUMABLE = {"evaluate": "out", "finetune": "out"}
_PACKAGE = Path(__file__).resolve().parents[1]


def is_user_error(error: BaseException) -> bool:
    """Whether `error` is the user's to fix (one line, exit 2) rather than a bug (a traceback)."""
    if isinstance(error, OSError) and error.filename is not None:
        return True
    if not isinstance(error, USER_ERRORS) or error.__traceback__ is None:
        return False
    return _raised_on_purpose(error.__traceback__)


def _raised_on_purpose(traceback: TracebackType) -> bool:
    """True if the innermost entry of `traceback` is a `raise` statement in advcat's own code."""
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    code = traceback.tb_frame.f_code
    if not Path(code.co_filename).resolve().is_relative_to(_PACKAGE):
        return False
    return any(ins.offset == traceback.tb_lasti and ins.opname == "RAISE_VARARGS"
               for ins in dis.get_instructions(code))


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (the line says where to find the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def package_version() -> str:
    """The installed advcat's version (its package metadata, else `advcat.__version__`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("advcat")
    except PackageNotFoundError:
        import advcat

        return str(getattr(advcat, "__version__", "unknown"))


def _summary(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser, with full arguments for `command` only (all commands' summaries if None)."""
    parser = Parser(
        prog="advcat",
        description="Attack, explain and benchmark image classifiers in pixel space.",
    )
    parser.add_argument("--version", action="version", version=f"advcat {package_version()}")
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
    """Run the command line; returns the exit status (0 ok, 2 a user error, 130 interrupted).

    A bug (see the module docstring for how it is told from a user error) propagates with its
    traceback.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    args = None
    try:
        parser = build_parser(chosen if chosen in COMMANDS else None)
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 2
        return _run(args)
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    """The chosen command's exit status; a user error becomes one line on stderr and status 2."""
    module = importlib.import_module(COMMANDS[args.command])
    try:
        return int(module.run(args))
    except USER_ERRORS as error:
        if not is_user_error(error):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"advcat {args.command}: error: {message}", file=sys.stderr)
        return 2


def _interrupted(args: argparse.Namespace | None) -> str:
    """The one line printed on Ctrl-C: a command writing to an output folder resumes when rerun."""
    if args is None:
        return "advcat: interrupted"
    option = RESUMABLE.get(args.command)
    if option is not None and getattr(args, option, None) is not None:
        if getattr(args, "no_resume", False):
            return (f"advcat {args.command}: interrupted; what was committed is kept, "
                    "rerun without --no-resume to resume")
        return (f"advcat {args.command}: interrupted; what was committed is kept, "
                "rerun the same command to resume")
    return f"advcat {args.command}: interrupted"


if __name__ == "__main__":
    raise SystemExit(main())
