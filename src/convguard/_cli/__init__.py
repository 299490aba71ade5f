"""The ``convguard`` command line.

Each subcommand lives in its own ``cmd_<name>.py`` module here, exposing
``register(subparsers)``; they are found at start-up, so adding a command
touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from .. import __version__
from .._errors import ConvguardError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="convguard",
        description="Conversation trees, harm detectors and a last-resort policy.",
    )
    parser.add_argument("--version", action="version", version=f"convguard {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Exit status: 0 on success, 1 when a check fails, 2 for bad usage or input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        status: int = args.handler(args)
    except ConvguardError as exc:
        print(f"convguard: error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI reports
        return 2
    except KeyboardInterrupt:
        return 130
    return status
