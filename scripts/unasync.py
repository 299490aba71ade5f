# ruff: noqa: INP001 - a dev-time script, not part of a package
"""Write the sync modules from their asyncio sources, as httpcore writes ``_sync/``.

Each source below is the one place its code is written; its sync twin is
written from it by the rewrites below, formatted with ruff, and committed:

- ``_front_async.py`` (the guard's shared methods) gives ``_front_sync.py``
  (``_GuardBase``);
- ``_conversation_async.py`` (``AsyncConversation``) gives ``_conversation.py``
  (``Conversation``), and ``_conversation_reads_async.py`` its base;
- ``stores/_store_async.py`` (the ``AsyncStore`` protocol) gives
  ``stores/_store.py`` (``Store``);
- ``stores/_sql_async.py`` (``AsyncSQLStore``, the SQL body) gives
  ``stores/_sql.py`` (``SQLStore``, under ``SQLiteStore`` and
  ``PostgresStore``);
- ``stores/_postgres_async.py`` (``_AsyncPostgresBase``) gives
  ``stores/_postgres_sync.py`` (``_PostgresBase``).

What differs for real between the front ends (threads, timeouts) is
hand-written in ``_aio.py`` and ``_guard.py``, and between the PostgreSQL
stores (when the pool opens) in ``stores/_postgres_aio.py`` and
``stores/_postgres.py``, never here.

    python scripts/unasync.py            # write the sync files
    python scripts/unasync.py --check    # exit 1 (with a diff) when a committed one differs

``make lint`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
PACKAGE: Final = ROOT / "src" / "convguard"


@dataclass(frozen=True)
class Pair:
    """One asyncio source and the sync module written from it."""

    source: Path
    target: Path
    header: str
    """The generated module's opening: a comment and its docstring."""
    subs: tuple[tuple[str, str], ...] = ()
    """Rewrites of this pair only, applied before the shared ones."""


PAIRS: Final = (
    Pair(
        PACKAGE / "_front_async.py",
        PACKAGE / "_front_sync.py",
        '''\
# Written by scripts/unasync.py from _front_async.py: edit that file, then run the script.
"""The guard's shared methods, written once: ``_GuardBase``.

Generated from ``_front_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
    ),
    Pair(
        PACKAGE / "_conversation_async.py",
        PACKAGE / "_conversation.py",
        '''\
# Written by scripts/unasync.py from _conversation_async.py: edit that file, then run the script.
"""``Conversation``, written once: one chat, judged turn by turn.

Generated from ``_conversation_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
    ),
    Pair(
        PACKAGE / "_conversation_reads_async.py",
        PACKAGE / "_conversation_reads.py",
        '''\
# Written by scripts/unasync.py from _conversation_reads_async.py: edit it, then run the script.
"""What a conversation handle reads, written once: ``_ConversationReads``.

Generated from ``_conversation_reads_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
    ),
    Pair(
        PACKAGE / "stores" / "_store_async.py",
        PACKAGE / "stores" / "_store.py",
        '''\
# Written by scripts/unasync.py from _store_async.py: edit that file, then run the script.
"""The ``Store`` protocol: what every store does, each call returning at once.

Generated from ``_store_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
        ((r", awaited\.\n", ".\n"),),
    ),
    Pair(
        PACKAGE / "stores" / "_sql_async.py",
        PACKAGE / "stores" / "_sql.py",
        '''\
# Written by scripts/unasync.py from _sql_async.py: edit that file, then run the script.
"""The logic SQLite and PostgreSQL stores share: ``SQLStore``.

Generated from ``_sql_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
        (
            (r"\bAsyncSQLStore\b", "SQLStore"),
            (r"\bAsyncConnection\b", "Connection"),
            (r"\bAsyncCursor\b", "Cursor"),
        ),
    ),
    Pair(
        PACKAGE / "stores" / "_postgres_async.py",
        PACKAGE / "stores" / "_postgres_sync.py",
        '''\
# Written by scripts/unasync.py from _postgres_async.py: edit that file, then run the script.
"""The PostgreSQL store's body, written once: ``_PostgresBase``.

Generated from ``_postgres_async.py`` by ``scripts/unasync.py``; see there.
"""
''',
        (
            (r"\b_AsyncPostgresBase\b", "_PostgresBase"),
            (r"\bAsyncPostgresStore\b", "PostgresStore"),
            (r"\bAsyncConnectionPool\b", "ConnectionPool"),
            (r"\bpsycopg\.AsyncConnection\b", "psycopg.Connection"),
            (r"\bAsyncSQLStore\b", "SQLStore"),
            (r"\bAsyncConnection\b", "Connection"),
            # The lock one opener holds while the pool opens.
            (r"\basyncio\.Lock\b", "threading.Lock"),
            (r"(?m)^import asyncio$", "import threading"),
        ),
    ),
)

# (pattern, replacement), applied in order to the whole text. The first
# rewrites strip the store calls of their thread hop before ``await`` goes.
SUBS: Final[tuple[tuple[str, str], ...]] = (
    # Imports of a source name its sync twin.
    *((rf"\b{p.source.stem}\b", p.target.stem) for p in PAIRS),
    # The standard library's asyncio names and their sync twins.
    (r"\bAbstractAsyncContextManager\b", "AbstractContextManager"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bAsyncIterator\b", "Iterator"),
    # Awaitables.
    (r"\bAwaitable\[(\w+)\]", r"\1"),
    (r"\bAwaitable, ", ""),
    (r"\basync def\b", "def"),
    (r"\basync (with|for)\b", r"\1"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    # Names.
    (r"\b_AsyncGuardBase\b", "_GuardBase"),
    (r"\b_AsyncConversationReads\b", "_ConversationReads"),
    (r"\bAsyncConversation\b", "Conversation"),
    (r"\bAsyncGuard\b", "Guard"),
    (r"\bAsyncStore\b", "Store"),
)

_DOCSTRING: Final = re.compile(r'\A"""(?:.|\n)*?"""\n')


def unasync(pair: Pair, text: str) -> str:
    """Return the sync source for the async *text* of *pair*, before formatting."""
    docstring = _DOCSTRING.match(text)
    if docstring is None:
        msg = f"{pair.source.name} must open with a module docstring"
        raise SystemExit(msg)
    text = pair.header + text[docstring.end() :]
    start = len(pair.header)  # the header is written as it should read
    for pattern, replacement in (*pair.subs, *SUBS):
        text = text[:start] + re.sub(pattern, replacement, text[start:])
    leftover = re.compile(r"\b(async|await|asyncio|Async\w*)\b").search(text, start)
    if leftover is not None:
        line = text.count("\n", 0, leftover.start()) + 1
        msg = f"no rewrite for {leftover.group()!r} (line {line} of the output)"
        raise SystemExit(msg)
    return text


def formatted(text: str, path: Path) -> str:
    """Format *text* with the project's ruff settings, as ``ruff format`` would."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and ruff, no shell
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(result.stderr)
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the sync modules."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed file differs")
    args = parser.parse_args(argv)
    status = 0
    for pair in PAIRS:
        # Formatted as a file beside the source, wherever the target points.
        text = unasync(pair, pair.source.read_text(encoding="utf-8"))
        expected = formatted(text, pair.source.with_name(pair.target.name))
        if not args.check:
            pair.target.write_text(expected, encoding="utf-8")
            continue
        current = pair.target.read_text(encoding="utf-8") if pair.target.exists() else ""
        if current == expected:
            continue
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            f"{pair.target.name} (committed)",
            f"{pair.target.name} (from {pair.source.name})",
        )
        sys.stderr.writelines(diff)
        sys.stderr.write("\nrun: python scripts/unasync.py\n")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
