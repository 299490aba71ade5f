"""Step 1 of normalization: what each character folds to.

NFKC, accents stripped, case folded, invisible characters and apostrophes
dropped, and look-alike letters of other scripts (from the Unicode
confusables table in ``data/confusables.json``) folded to ASCII. The tables
here are ``str.translate`` tables that work a character out the first time
they meet it; :func:`piecewise` keeps ``str.translate`` on its fast path for
the ASCII stretches of a text.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from typing import Final

__all__ = ["CharTable", "MarkTable", "ascii_table", "fold_char", "lower_ascii", "piecewise"]

_INVISIBLE: Final = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)
_APOSTROPHES: Final = frozenset("'`\u2018\u2019\u02bc\u02b9\u2032\uff07")
# Opening and closing marks that NFKC already maps to ASCII brackets.
_BRACKETS_KEPT: Final = frozenset("\uff08\uff09\uff3b\uff3d\uff5b\uff5d")
_DASHES: Final = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    raw = (
        resources.files("convguard.detectors")
        .joinpath("data/confusables.json")
        .read_text(encoding="utf-8")
    )
    table: dict[str, str] = json.loads(raw)["map"]
    return table


def fold_char(char: str) -> str:
    """Return what one character becomes in step 1."""
    if char in _INVISIBLE or char in _APOSTROPHES:
        return ""
    if char in _DASHES:
        return "-"
    category = unicodedata.category(char)
    if category == "Cf" or category in {"Mn", "Me"}:
        return ""
    if category in {"Cc", "Zs", "Zl", "Zp"}:
        return " " if char not in "\n\t" else char
    if category in {"Pi", "Pf", "Ps", "Pe"} and char not in _BRACKETS_KEPT:
        # Curly quotes and the like: ASCII keeps most texts on the fast path.
        return '"' if category in {"Pi", "Pf"} else " "
    decomposed = "".join(
        c
        for c in unicodedata.normalize("NFKD", char)
        if unicodedata.category(c) not in {"Mn", "Me"}
    )
    folded = unicodedata.normalize("NFKC", decomposed).casefold()
    table = _confusables()
    return "".join(table.get(c, c) if not c.isascii() else c for c in folded)


class CharTable(dict[int, str]):
    """A ``str.translate`` table that works out and caches unseen characters."""

    __slots__ = ()

    def __missing__(self, key: int) -> str:
        value = fold_char(chr(key))
        self[key] = value
        return value


# b"?" for a question mark: a "?" left after encoding is a non-ASCII character.
_ONLY_QUESTION: Final = bytes(ord("?") if code == ord("?") else ord(".") for code in range(256))


def _non_ascii_runs(text: str) -> Iterator[tuple[int, int]]:
    """Yield the spans of the runs of non-ASCII characters of *text*, in order.

    A regex sweep reads the text a character at a time; ``bytes.find`` on an
    encoded copy, where each non-ASCII character is one "?", runs at C speed.
    """
    raw = text.replace("?", ".").encode("ascii", "replace")
    # The trailing "." ends the last run without a special case.
    marks = raw.translate(_ONLY_QUESTION) + b"."
    at = marks.find(b"?")
    while at >= 0:
        end = marks.find(b".", at)
        yield at, end
        at = marks.find(b"?", end)


def piecewise(text: str, ascii_part: Callable[[str], str], other_part: Callable[[str], str]) -> str:
    """Transform the ASCII and non-ASCII stretches of *text* apart, and join them.

    ``str.translate`` has a fast path for all-ASCII text that a single
    non-ASCII character switches off; most texts are ASCII with a few curly
    quotes or emoji, so transforming the stretches apart keeps the fast path.
    """
    pieces: list[str] = []
    position = 0
    for start, end in _non_ascii_runs(text):
        pieces.append(ascii_part(text[position:start]))
        pieces.append(other_part(text[start:end]))
        position = end
    pieces.append(ascii_part(text[position:]))
    return "".join(pieces)


class MarkTable(dict[int, str]):
    """A ``str.translate`` table: "." for a character that folds to one, else "#"."""

    __slots__ = ("_chars",)

    def __init__(self, chars: CharTable) -> None:
        super().__init__()
        self._chars = chars

    def __missing__(self, key: int) -> str:
        value = "." if len(self._chars[key]) == 1 else "#"
        self[key] = value
        return value


def lower_ascii(text: str) -> str:
    # The same as the character table for ASCII, at the speed of str.lower().
    return text.lower().replace("'", "").replace("`", "")


def ascii_table() -> CharTable:
    table = CharTable()
    for code in range(128):
        char = chr(code)
        if char in _APOSTROPHES:
            table[code] = ""
        else:
            table[code] = char.lower()
    return table
