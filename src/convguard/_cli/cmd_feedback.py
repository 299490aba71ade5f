"""``convguard feedback DB``: review users' reports against their branches.

``DB`` is a SQLite file (opened read-only) or a PostgreSQL connection string
(a ``postgresql://`` URL or ``key=value`` pairs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .._feedback import format_reviews, review_feedback

if TYPE_CHECKING:
    from argparse import _SubParsersAction

    from ..stores._store import Store

_URL_SCHEMES: Final = ("postgresql://", "postgres://")

__all__ = ["register", "run"]


def register(subparsers: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``feedback`` subcommand."""
    parser = subparsers.add_parser(
        "feedback",
        help="list feedback (unexpected ends by default) with the verdicts of its branch",
        description=(
            "Read a SQLite database written by SQLiteStore (read-only) or the "
            "PostgreSQL database of a PostgresStore, and list each feedback record "
            "with the actions and reasons of the branch it refers to."
        ),
    )
    parser.add_argument(
        "db",
        metavar="DB",
        help="a SQLite file, or a PostgreSQL DSN (postgresql://... or host=... dbname=...)",
    )
    parser.add_argument(
        "--schema",
        default="convguard",
        help="the PostgreSQL schema of convguard's tables (default: %(default)s)",
    )
    parser.add_argument(
        "--kind", default="unexpected_end", help="the feedback kind to list (default: %(default)s)"
    )
    parser.add_argument("--all", action="store_true", help="list feedback of every kind")
    parser.add_argument("--conversation", metavar="ID", help="only this conversation")
    parser.set_defaults(handler=run)


def is_dsn(db: str) -> bool:
    """Tell a PostgreSQL connection string from a file path."""
    return db.startswith(_URL_SCHEMES) or ("=" in db and not Path(db).exists())


def run(args: argparse.Namespace) -> int:
    """Print the reviews; return the exit status."""
    store: Store
    if is_dsn(args.db):
        from ..stores._postgres import PostgresStore  # noqa: PLC0415 - the extra when asked for

        store = PostgresStore(args.db, schema=args.schema, min_size=1, max_size=1)
    elif not Path(args.db).is_file():
        print(f"convguard: error: no database at {args.db!r}", file=sys.stderr)  # noqa: T201 - the CLI reports
        return 2
    else:
        from ..stores._sqlite import SQLiteStore  # noqa: PLC0415 - sqlite only when asked for

        store = SQLiteStore(args.db, read_only=True)
    try:
        reviews = review_feedback(
            store, None if args.all else args.kind, conversation_id=args.conversation
        )
    finally:
        store.close()
    sys.stdout.write(format_reviews(reviews))
    return 0
