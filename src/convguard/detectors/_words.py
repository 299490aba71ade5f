"""How a normalized view is cut into words and sentences, at C speed.

The lexicon detector and the n-gram model read the same words: runs of
letters and digits of the normalized view, every other character a space.
The view keeps sentence ends as marks ``split()`` takes for spaces, so the
words are the same with or without them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Final

__all__ = [
    "PUNCTUATION",
    "flat_words",
    "last_split",
    "remember_split",
    "sentences",
    "word_starts",
]

_NON_WORD: Final = re.compile(r"[\W_]")
# What may end a sentence (see sentences): . ! ? ; and a line break. In the
# words-only view they become these separators, which split() takes for
# spaces like any other, so the words are the same either way.
_STOP: Final = "\x1c"  # . ! ? ; which end a sentence when a space follows
_BREAK: Final = "\x1d"  # a line break, which always does
PUNCTUATION: Final = str.maketrans(
    {
        chr(c): _STOP if chr(c) in ".!?;" else _BREAK if chr(c) == "\n" else " "
        for c in range(128)
        if not chr(c).isalnum() or chr(c) == "_"
    }
)
# A stop with a word right after it ("3.5", "node.js") ends nothing.
_STOP_IN_WORD: Final = re.compile(_STOP + r"(?=\S)")


# The last ASCII view a lexicon detector split, and its words: a detector
# run after it on the same turn (the n-gram model's gate) reads them instead
# of splitting again. One entry, replaced whole, so a reader on another
# thread sees an old pair or a new one, never a mix; it holds the view, so
# an identity check cannot match a different text.
_last: list[tuple[str, list[str]]] = [("", [])]


def remember_split(view: str, words: list[str]) -> None:
    """Keep *words* as the split of the ASCII *view*, for :func:`last_split`."""
    _last[0] = (view, words)


def last_split(view: str) -> list[str] | None:
    """Return the words a lexicon detector last split *view* into, if it was this very view.

    Only ASCII views are kept: on them, the words are the runs of letters and
    digits, as other readers split them (a non-ASCII view's words depend on
    the splitter). The list is shared: do not change it.

    Args:
        view: A normalized text.

    Returns:
        Its words, or ``None`` when the last view split was another object.
    """
    seen, words = _last[0]
    return words if seen is view else None


def flat_words(part: str) -> str:
    """Turn every character outside a word into a space, one for one.

    In ASCII stretches a sentence end becomes ``_STOP`` or ``_BREAK``
    instead, which ``split()`` takes for a space all the same.
    """
    return part.translate(PUNCTUATION) if part.isascii() else _NON_WORD.sub(" ", part)


def word_starts(flat: str, indices: Iterable[int]) -> dict[int, int]:
    """Return the offset in *flat* of each word index (words split on whitespace).

    ``split`` with a limit stops after that many words and keeps the rest
    whole, so the rest's length gives the offset without a Python loop over
    words. Each split starts at the word found before, so the words are cut
    out once, not once per index: each is a new string object.
    """
    starts: dict[int, int] = {}
    offset = reached = 0
    for index in sorted(set(indices)):
        offset = len(flat) - len(flat[offset:].split(None, index - reached)[-1])
        starts[index] = offset
        reached = index
    return starts


def sentences(flat: str) -> list[int] | None:
    """Return the number of the sentence of each word of *flat*, or ``None`` for one sentence.

    A sentence ends at . ! ? or ; before a space or the end, and at a line
    break. *flat* is the words-only view, which marks those with ``_STOP``
    and ``_BREAK``. Each end becomes a token of its own (a "." is in no
    word), and the tokens are counted and left out, all at C speed.
    """
    inner = flat.strip()
    if _STOP not in inner and _BREAK not in inner:
        return None
    marked = _STOP_IN_WORD.sub(" ", flat) if _STOP in inner else flat
    tokens = marked.replace(_STOP, " . ").replace(_BREAK, " . ").split()
    ends_so_far = itertools.accumulate(map(".".__eq__, tokens))
    return list(itertools.compress(ends_so_far, map(".".__ne__, tokens)))
