"""``convguard diagram``: draw the policy's states and transitions.

The drawing comes from exploring the policy itself (see
:func:`convguard._diagram.transition_table`), so it always matches the code.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .._diagram import render
from .._policy import LastResortPolicy, PolicyConfig

if TYPE_CHECKING:
    from argparse import _SubParsersAction

__all__ = ["register", "run"]


def register(subparsers: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diagram`` subcommand."""
    parser = subparsers.add_parser(
        "diagram",
        help="draw the policy's states and transitions (Mermaid or DOT)",
        description=(
            "Explore LastResortPolicy (with the options of --config) over every kind "
            "of turn and print its state machine."
        ),
    )
    parser.add_argument(
        "--format", choices=("mermaid", "dot"), default="mermaid", help="the output format"
    )
    parser.add_argument(
        "--config", metavar="TOML", help="a policy config file ([policy] table or top level)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the diagram; return the exit status."""
    config = PolicyConfig.from_toml(args.config) if args.config else None
    sys.stdout.write(render(LastResortPolicy(config), args.format))
    return 0
