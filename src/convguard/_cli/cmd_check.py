"""``convguard check PATH…``: run scenario files outside pytest.

Exit status 0 when every scenario goes as written, 1 when one does not (its
transcript is printed), 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..testing._outcome import ScenarioResult
from ..testing._scenario_files import check_paths
from ._console import Output

if TYPE_CHECKING:
    from argparse import _SubParsersAction

__all__ = ["register", "run"]


def register(subparsers: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="run scenario files (*.convguard.toml) and report each one",
        description=(
            "Play every scenario of the given files (directories are searched for "
            "*.convguard.toml) and compare each turn with its expected action."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")
    parser.add_argument("--plain", action="store_true", help="plain text output, no colours")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print the transcript of passing scenarios too"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the scenarios; return the exit status."""
    out = Output(plain=args.plain)
    passed = failed = broken = 0
    for file, scenario, result in check_paths(args.paths):
        if isinstance(result, ScenarioResult) and scenario is not None:
            if result.passed:
                passed += 1
                out.line(f"PASS {file}::{scenario.name}", style="green")
                if args.verbose:
                    out.line(result.report())
            else:
                failed += 1
                numbers = ", ".join(str(o.index) for o in result.failures)
                out.line(f"FAIL {file}::{scenario.name} (step {numbers})", style="bold red")
                out.line(result.report())
        else:
            broken += 1
            where = f"{file}::{scenario.name}" if scenario is not None else str(file)
            out.line(f"ERROR {where}: {result}", style="bold red")
    total = passed + failed + broken
    if total == 0:
        out.line("no scenarios found", style="yellow")
        return 2
    out.line(f"{passed} passed, {failed} failed, {broken} errors")
    if broken:
        return 2
    return 1 if failed else 0
