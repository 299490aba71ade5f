# ruff: noqa: INP001 - a dev-time script, not part of a package
"""Write the sync front end from the asyncio one, as httpcore writes ``_sync/`` from ``_async/``.

``src/convguard/_front_async.py`` (the guard's shared methods and
``AsyncConversation``) is the source; ``src/convguard/_front_sync.py``
(``_GuardBase`` and ``Conversation``) is written from it by the rewrites
below, then formatted with ruff, and committed. What differs for real
between the front ends (threads, timeouts) is hand-written
in ``_aio.py`` and ``_guard.py``, never here.

    python scripts/unasync.py            # write the sync file
    python scripts/unasync.py --check    # exit 1 (with a diff) when the committed one differs

``make lint`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
SOURCE: Final = ROOT / "src" / "convguard" / "_front_async.py"
TARGET: Final = ROOT / "src" / "convguard" / "_front_sync.py"
FORMAT_AS: Final = TARGET  # the path ruff reads its settings for, wherever TARGET points

HEADER: Final = '''\
# Written by scripts/unasync.py from _front_async.py: edit that file, then run the script.
"""The turn, written once: the guard's shared methods and ``Conversation``.

Generated from ``_front_async.py`` by ``scripts/unasync.py``; see there.
"""
'''

# (pattern, replacement), applied in order to the whole text. The first
# rewrites strip the store calls of their thread hop before ``await`` goes.
SUBS: Final[tuple[tuple[str, str], ...]] = (
    # The thread hop: `await x._io(fn, a, b=c)` calls `fn(a, b=c)` directly.
    (r"await [\w.]+\._io\(\s*([\w.]+),\s*", r"\1("),
    (r"await [\w.]+\._io\(\s*([\w.]+)\s*\)", r"\1()"),
    # ... and its declaration goes: the sync guard has no `_io`.
    (r"\n *async def _io\(.*?\) -> _T: \.\.\.\n", "\n"),
    (r"\n_P = ParamSpec\(\"_P\"\)\n", "\n"),
    (r"ParamSpec, ", ""),
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
    (r"\bAsyncConversation\b", "Conversation"),
    (r"\bAsyncGuard\b", "Guard"),
)

_DOCSTRING: Final = re.compile(r'\A"""(?:.|\n)*?"""\n')


def unasync(text: str) -> str:
    """Return the sync source for the async *text*, before formatting."""
    text, found = _DOCSTRING.subn(HEADER, text, count=1)
    if not found:
        msg = f"{SOURCE.name} must open with a module docstring"
        raise SystemExit(msg)
    for pattern, replacement in SUBS:
        text = re.sub(pattern, replacement, text)
    leftover = re.search(r"\b(async|await|asyncio|Async\w*)\b", text)
    if leftover is not None:
        line = text.count("\n", 0, leftover.start()) + 1
        msg = f"no rewrite for {leftover.group()!r} (line {line} of the output)"
        raise SystemExit(msg)
    return text


def formatted(text: str) -> str:
    """Format *text* with the project's ruff settings, as ``ruff format`` would."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and ruff, no shell
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(FORMAT_AS), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(result.stderr)
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the sync front end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed file differs")
    args = parser.parse_args(argv)
    expected = formatted(unasync(SOURCE.read_text(encoding="utf-8")))
    if not args.check:
        TARGET.write_text(expected, encoding="utf-8")
        return 0
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if current == expected:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        f"{TARGET.name} (committed)",
        f"{TARGET.name} (from {SOURCE.name})",
    )
    sys.stderr.writelines(diff)
    sys.stderr.write("\nrun: python scripts/unasync.py\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
