"""One pass that gives detectors a de-obfuscated view of a text.

What it undoes, in order:

1. per character: Unicode NFKC (fullwidth, mathematical and circled letters,
   ligatures), accents stripped, case folded, zero-width, bidi and other
   invisible characters removed, apostrophes dropped (``you're`` reads
   ``youre``), and look-alike letters of other scripts (homoglyphs, from the
   Unicode confusables table shipped in ``data/confusables.json``) folded to
   ASCII;
2. per word: leetspeak folded (``b0mb``, ``$hit``, ``k1ll``), masked letters
   resolved (``f*ck``), stretched letters collapsed (``kiiill``), and letters
   spaced or dotted apart (``k i l l``, ``k.i.l.l``) joined and split back
   into words.

Step 2 reads a vocabulary (by default every word of the packaged lexicons
plus common English words) so that it folds ``b0mb`` but leaves ``10th``,
``mp3`` and ``c4`` alone. The normalized text is built with ``str.translate``
and one regex substitution; the map back to the original offsets is worked
out only when a detector asks for a span, so a clean turn pays nothing for it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from importlib import resources
from typing import Final, final

from ._lexicon import packaged_vocabulary

__all__ = ["NormalizedText", "Normalizer", "normalize"]

_INVISIBLE: Final = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)
_APOSTROPHES: Final = frozenset("'`\u2018\u2019\u02bc\u02b9\u2032\uff07")
# Opening and closing marks that NFKC already maps to ASCII brackets.
_BRACKETS_KEPT: Final = frozenset("\uff08\uff09\uff3b\uff3d\uff5b\uff5d")
_DASHES: Final = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_LEET: Final = str.maketrans("0134578@$!|9", "oieastbasilg")
_LEET_L: Final = str.maketrans("1|", "ll")
_MAX_RUN: Final = 240
_SUFFIXES: Final = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")

# Letters split apart by one separator each ("k i l l", "b.0.m.b"), or one
# word-like token that mixes letters with leet, mask characters or a letter
# stretched three times.
_RUN: Final = re.compile(r"(?<![a-z0-9@$!|*])(?:[a-z0-9@$][ .\-_*~/+])+[a-z0-9@$](?![a-z0-9@$!|*])")
_WORD: Final = re.compile(
    r"(?<![a-z0-9@$!|*])"
    r"(?=[a-z0-9@$!|*]*?(?:[0-9@$!|*][a-z]|[a-z][0-9@$!|*]|([a-z])\1\1))"
    r"[a-z0-9@$!|*]+"
)
# Cheap tests for whether each kind of rewrite has anything to do: most texts
# have none, and each test starts with a rare character, which the regex
# engine skips to quickly.
# A word is worth a second look when a leet or mask character touches a
# letter, or when it holds a letter three times in a row.
_LEET_CHARS: Final = frozenset("0123456789@$!|*")
_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|*")


def _triggers(text: str) -> list[int]:
    """Return positions of _WORD's triggers, sorted (the cheap way for long texts)."""
    found: list[int] = []
    # str.find runs at C speed; a regex sweep costs tens of ns per character.
    for char in [c for c in _LEET_CHARS if c in text]:
        at = text.find(char)
        while at >= 0:
            if (at + 1 < len(text) and text[at + 1] in _LETTERS) or (
                at > 0 and text[at - 1] in _LETTERS
            ):
                found.append(at)
            at = text.find(char, at + 1)
    found.extend(_stretch_starts(text))
    found.sort()
    return found


# 0x80 for each byte that is not a lower-case ASCII letter, 0 for the letters.
_NOT_LETTER: Final = bytes(0 if 0x61 <= code <= 0x7A else 0x80 for code in range(256))  # noqa: PLR2004 - "a" and "z"


def _stretch_starts(text: str) -> list[int]:
    r"""Return where ``([a-z])\1\1`` matches (as finditer would), at C speed.

    That regex tries a match at every character, about a hundred
    microseconds on a long message. One big-integer XOR of the text with
    itself shifted by one character leaves a zero byte wherever a character
    equals the one before it (and the letter mask makes that count only for
    letters); a letter three times in a row is then two zero bytes in a row.
    """
    # One "?" per other character keeps the offsets, and none is a letter.
    raw = text.encode("ascii", "replace")
    value = int.from_bytes(raw)
    same = ((value >> 8) ^ value) | int.from_bytes(raw.translate(_NOT_LETTER))
    marks = same.to_bytes(len(raw))
    found: list[int] = []
    # Byte 0 holds the first character itself, never zero for a letter, so a
    # pair of zero bytes at i means text[i - 1 : i + 2] is one letter thrice.
    at = marks.find(b"\0\0")
    while at >= 0:
        found.append(at - 1)
        # Like finditer, resume after the match: it ended at at + 2.
        at = marks.find(b"\0\0", at + 3)
    return found


def _words(text: str) -> list[tuple[int, int]]:
    """Return the spans _WORD matches: maximal word runs holding a trigger."""
    spans: list[tuple[int, int]] = []
    size = len(text)
    reached = 0
    for at in _triggers(text):
        if at < reached:
            continue
        start = end = at
        while start > 0 and text[start - 1] in _WORD_CHARS:
            start -= 1
        while end < size and text[end] in _WORD_CHARS:
            end += 1
        spans.append((start, end))
        reached = end
    return spans


_RUN_TRIGGER: Final = re.compile(r"[ .\-_*~/+][a-z0-9@$][ .\-_*~/+][a-z0-9@$](?![a-z0-9@$])")
_RUN_START: Final = re.compile(r"[a-z0-9@$][ .\-_*~/+][a-z0-9@$](?![a-z0-9@$])")


# _RUN_TRIGGER on that copy. The regex engine skips from separator to separator
# at C speed, where a str.find loop stopped at each one-letter word ("a b");
# the lookahead finds triggers that overlap.
_RUN_SHAPE: Final = re.compile(rb"s(?=csc(?!c))")
_RUN_CLASSES: Final = bytes(
    ord("c")
    if chr(code) in "abcdefghijklmnopqrstuvwxyz0123456789@$"
    else ord("s")
    if chr(code) in " .-_*~/+"
    else ord(".")
    for code in range(256)
)


def _runs(text: str) -> list[tuple[int, int]]:
    """Return the spans _RUN matches, trying it only next to its triggers.

    Every run but one at the very start holds a trigger that begins one
    character before it or on its second character, so anchored matches
    there find them all without sweeping the whole text with _RUN.
    """
    spans: list[tuple[int, int]] = []
    match = _RUN_START.match(text) and _RUN.match(text)
    position = 0
    if match:
        spans.append(match.span())
        position = match.end()
    # _RUN_TRIGGER, found on a one-letter-per-class copy of the text: "c" for
    # a run character, "s" for a separator.
    # Bytes, with one "?" per non-ASCII character, so the translate stays at
    # C speed whatever the text holds.
    shape = text.encode("ascii", "replace").translate(_RUN_CLASSES)
    for trigger in _RUN_SHAPE.finditer(shape):
        at = trigger.start()
        if at < position:
            continue
        match = None
        for start in (at - 1, at + 1):
            if start >= position and (match := _RUN.match(text, start)) is not None:
                break
        if match is not None:
            spans.append(match.span())
            position = match.end()
    return spans


_SQUEEZE: Final = re.compile(r"(.)\1+")
_STRETCH: Final = re.compile(r"([a-z])\1{2,}")
# Words people mask with asterisks; preferred when a mask fits several words
# ("f***ing" is "fucking", not "feeling").
_OFTEN_MASKED: Final = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "motherfucker",
    "shit",
    "shitty",
    "bitch",
    "cunt",
    "dick",
    "asshole",
    "bastard",
    "damn",
    "crap",
    "piss",
    "whore",
    "slut",
    "retard",
    "kill",
    "bomb",
    "rape",
    "porn",
    "nude",
    "nudes",
    "sex",
    "suicide",
)
_DIGITS: Final = re.compile(r"([0-9]+)")
_UNIT_LIKE: Final = re.compile(r"[0-9]+[a-z]+|[a-z]+[0-9]+")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    raw = (
        resources.files("convguard.detectors")
        .joinpath("data/confusables.json")
        .read_text(encoding="utf-8")
    )
    table: dict[str, str] = json.loads(raw)["map"]
    return table


def _fold_char(char: str) -> str:
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


class _CharTable(dict[int, str]):
    """A ``str.translate`` table that works out and caches unseen characters."""

    __slots__ = ()

    def __missing__(self, key: int) -> str:
        value = _fold_char(chr(key))
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


def _positions(text: str, needle: str) -> list[int]:
    """Return every offset of *needle* in *text*, found at C speed."""
    found: list[int] = []
    at = text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


class _MarkTable(dict[int, str]):
    """A ``str.translate`` table: "." for a character that folds to one, else "#"."""

    __slots__ = ("_chars",)

    def __init__(self, chars: _CharTable) -> None:
        super().__init__()
        self._chars = chars

    def __missing__(self, key: int) -> str:
        value = "." if len(self._chars[key]) == 1 else "#"
        self[key] = value
        return value


def _lower_ascii(text: str) -> str:
    # The same as the character table for ASCII, at the speed of str.lower().
    return text.lower().replace("'", "").replace("`", "")


def _ascii_table() -> _CharTable:
    table = _CharTable()
    for code in range(128):
        char = chr(code)
        if char in _APOSTROPHES:
            table[code] = ""
        else:
            table[code] = char.lower()
    return table


def _same(offset: int) -> int:
    return offset


@final
class NormalizedText:
    """A de-obfuscated text and the way back to the original.

    Attributes:
        text: The normalized text detectors scan.
        original: The user's text.
    """

    __slots__ = ("_builder", "_locator", "_offsets", "_point", "original", "text")

    def __init__(
        self,
        text: str,
        original: str,
        offsets: Sequence[int] | None = None,
        *,
        builder: Callable[[], Sequence[int]] | None = None,
        locator: Callable[[], Callable[[int], int]] | None = None,
    ) -> None:
        """Keep a normalized text with its offsets, or a way to work them out.

        Args:
            text: The normalized text.
            original: The user's original text.
            offsets: For each character of *text*, the offset in *original*
                of the character it came from.
            builder: Computes *offsets* on first use, when not given.
            locator: With *builder*: makes, on first use by :meth:`span`, a
                function giving one item of what *builder* would compute, so
                a span costs no map of the whole text.
        """
        self.text = text
        self.original = original
        self._offsets: tuple[int, ...] | None = None if offsets is None else tuple(offsets)
        self._builder = builder
        self._locator = locator
        self._point: Callable[[int], int] | None = None

    def __repr__(self) -> str:
        """Show the normalized text."""
        return f"NormalizedText({self.text!r})"

    def __str__(self) -> str:
        """Return the normalized text, as ``text`` does."""
        return self.text

    def __contains__(self, part: str) -> bool:
        """Tell whether *part* occurs in the normalized text (``"kill" in normalized``)."""
        return part in self.text

    def __eq__(self, other: object) -> bool:
        """Compare the texts and their offset maps."""
        if not isinstance(other, NormalizedText):
            return NotImplemented
        return (self.text, self.original, self.offsets) == (
            other.text,
            other.original,
            other.offsets,
        )

    def __hash__(self) -> int:
        """Hash the texts."""
        return hash((self.text, self.original))

    @property
    def offsets(self) -> tuple[int, ...]:
        """For each character of ``text``, its offset in ``original``."""
        if self._offsets is None:
            if self._builder is None:
                self._offsets = tuple(range(len(self.text)))
            else:
                self._offsets = tuple(self._builder())
        return self._offsets

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of ``text`` back to a span of ``original``.

        Args:
            start: Start offset in ``text``.
            end: End offset in ``text`` (exclusive).

        Returns:
            The matching ``(start, end)`` in ``original``.
        """
        # A whole map costs an int object per character, which a long text
        # feels: two of its items, worked out alone, are enough here.
        at: Callable[[int], int]
        if self._offsets is None and self._builder is None:
            size, at = len(self.text), _same
        elif self._offsets is None and self._locator is not None:
            if self._point is None:
                self._point = self._locator()
            size, at = len(self.text), self._point
        else:
            offsets = self.offsets
            size, at = len(offsets), offsets.__getitem__
        if not size:
            return 0, 0
        start = max(0, min(start, size))
        end = max(start, min(end, size))
        if start >= end:
            point = at(start) if start < size else len(self.original)
            return point, point
        first = at(start)
        last = at(end - 1) + 1
        return first, max(first, last)


def _locate_events(events: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """Map an offset of stage 1 back, given the characters not folded one for one.

    Args:
        events: ``(offset in the text, characters it became)``, in order.
    """
    starts: list[int] = []  # where each event's characters begin in stage 1
    shifts: list[int] = []  # stage-1 offset minus text offset after each event
    shift = 0
    for at, width in events:
        starts.append(at + shift)
        shift += width - 1
        shifts.append(shift)

    def first(index: int) -> int:
        found = bisect.bisect_right(starts, index) - 1
        if found < 0:
            return index
        if index < starts[found] + events[found][1]:
            return events[found][0]
        return index - shifts[found]

    return first


def _locate_rewrites(
    first: Callable[[int], int], rewrites: Sequence[tuple[int, int, str]]
) -> Callable[[int], int]:
    """Map an offset of the rewritten text back as ``Normalizer._map`` does."""
    begins: list[int] = []  # where each replacement begins in the result
    shift = 0
    for start, end, replacement in rewrites:
        begins.append(start + shift)
        shift += len(replacement) - (end - start)

    def point(index: int) -> int:
        found = bisect.bisect_right(begins, index) - 1
        if found < 0:
            return first(index)
        start, end, replacement = rewrites[found]
        inside = index - begins[found]
        if inside < len(replacement):
            width = end - start
            return first(start + min(width - 1, inside * width // max(1, len(replacement))))
        return first(end + inside - len(replacement))

    return point


@final
class Normalizer:
    """Normalize texts against a vocabulary of known words.

    Args:
        vocabulary: The words a leet, masked, stretched or spaced-out token
            may resolve to. A token that is already a known word (``c4``,
            ``13yo``) is left as it is.
    """

    __slots__ = ("_by_length", "_chars", "_marks", "_squeezed", "_vocabulary")

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        """Index the vocabulary."""
        words = {w.casefold() for w in vocabulary if w and w.isascii() and w.isalnum()}
        words.update("ai")
        self._vocabulary = frozenset(words)
        squeezed: dict[str, str] = {}
        by_length: dict[int, list[str]] = {}
        for word in sorted(words):
            squeezed.setdefault(_SQUEEZE.sub(r"\1", word), word)
            if word.isalpha():
                by_length.setdefault(len(word), []).append(word)
        self._squeezed = squeezed
        self._by_length = by_length
        self._chars = _ascii_table()
        self._marks = _MarkTable(self._chars)

    def __repr__(self) -> str:
        """Show the vocabulary size."""
        return f"<Normalizer vocabulary={len(self._vocabulary)} words>"

    @property
    def vocabulary(self) -> frozenset[str]:
        """The known words."""
        return self._vocabulary

    def __call__(self, text: str) -> NormalizedText:
        """Return the de-obfuscated view of *text*.

        Args:
            text: The user's original text.

        Returns:
            The normalized text with its (lazily computed) offset map.
        """
        stage1 = self._stage1(text)
        rewrites = self._rewrites(stage1)
        if not rewrites:
            if stage1 == text or (text.isascii() and len(stage1) == len(text)):
                return NormalizedText(stage1, text, None)
            return NormalizedText(
                stage1,
                text,
                builder=lambda: self._map(text, stage1, ()),
                locator=lambda: self._locator(text, stage1, ()),
            )
        pieces: list[str] = []
        position = 0
        for start, end, replacement in rewrites:
            pieces.append(stage1[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(stage1[position:])
        return NormalizedText(
            "".join(pieces),
            text,
            builder=lambda: self._map(text, stage1, rewrites),
            locator=lambda: self._locator(text, stage1, rewrites),
        )

    def offsets(self, text: str) -> list[int]:
        """Return, for each character of the normalized *text*, its source offset.

        Args:
            text: The user's original text.

        Returns:
            One offset into *text* per character of ``self(text).text``.
        """
        stage1 = self._stage1(text)
        return self._map(text, stage1, self._rewrites(stage1))

    def _stage1(self, text: str) -> str:
        if text.isascii():
            return _lower_ascii(text)
        return piecewise(text, _lower_ascii, lambda part: part.translate(self._chars))

    def _translate_marks(self, part: str) -> str:
        return part.translate(self._marks)

    def _rewrites(self, stage1: str) -> list[tuple[int, int, str]]:
        """Return the step-2 changes to *stage1*: ``(start, end, replacement)``."""
        found: list[tuple[int, int, bool, str]] = []
        found.extend((start, end, True, stage1[start:end]) for start, end in _runs(stage1))
        # _words finds no trigger fast in a clean text: a pre-check would read it twice.
        found.extend((start, end, False, stage1[start:end]) for start, end in _words(stage1))
        if not found:
            return []
        # A run and a word may overlap; the leftmost wins, a run before a word.
        found.sort(key=lambda item: (item[0], not item[2]))
        changes: list[tuple[int, int, str]] = []
        position = 0
        for start, end, is_run, matched in found:
            if start < position:
                continue
            position = end
            replacement = self._join(matched) if is_run else self._word(matched)
            if replacement != matched:
                changes.append((start, end, replacement))
        return changes

    def _map(self, text: str, stage1: str, rewrites: Sequence[tuple[int, int, str]]) -> list[int]:
        first: list[int]
        if text.isascii():
            # Step 1 keeps every ASCII character but the apostrophes, one for one.
            first = list(range(len(text)))
            if len(stage1) != len(text):
                dropped = sorted(at for mark in ("'", "`") for at in _positions(text, mark))
                kept: list[int] = []
                previous = 0
                for at in dropped:
                    kept.extend(range(previous, at))
                    previous = at + 1
                kept.extend(range(previous, len(text)))
                first = kept
        else:
            # Most characters fold to exactly one: mark the others ("#") in a
            # C-level translate and walk only those.
            table = self._chars
            marks = piecewise(text, self._translate_marks, self._translate_marks)
            first = []
            previous = 0
            at = marks.find("#")
            while at >= 0:
                first.extend(range(previous, at))
                first.extend([at] * len(table[ord(text[at])]))
                previous = at + 1
                at = marks.find("#", previous)
            first.extend(range(previous, len(text)))
        if not rewrites:
            return first
        result: list[int] = []
        position = 0
        for start, end, replacement in rewrites:
            result.extend(first[position:start])
            width = end - start
            result.extend(
                first[start + min(width - 1, i * width // max(1, len(replacement)))]
                for i in range(len(replacement))
            )
            position = end
        result.extend(first[position:])
        return result

    def _locator(
        self, text: str, stage1: str, rewrites: Sequence[tuple[int, int, str]]
    ) -> Callable[[int], int]:
        """Return a function giving one item of ``self._map(text, stage1, rewrites)``.

        It reads only the characters that do not fold one for one and the
        rewrites, with a binary search, instead of listing every offset.
        """
        # (offset in text, how many characters of stage1 it became) for each
        # character that did not become exactly one, in order, as _map walks them.
        events: list[tuple[int, int]]
        if text.isascii():
            events = (
                []
                if len(stage1) == len(text)
                else sorted((at, 0) for mark in ("'", "`") for at in _positions(text, mark))
            )
        else:
            table = self._chars
            marks = piecewise(text, self._translate_marks, self._translate_marks)
            events = [(at, len(table[ord(text[at])])) for at in _positions(marks, "#")]
        first = _locate_events(events)
        return _locate_rewrites(first, rewrites) if rewrites else first

    # -- step 2 ---------------------------------------------------------------

    def _join(self, run: str) -> str:
        letters = run[::2]
        if letters.isdigit():
            return run
        if letters in self._vocabulary:
            return letters
        if len(letters) == 2:  # noqa: PLR2004 - "a n" joins only into a known word
            return run
        folded = letters.translate(_LEET)
        if folded in self._vocabulary:
            return folded
        if not folded.isalpha() or len(folded) > _MAX_RUN:
            return folded if folded.isalpha() else letters
        words, cost = self._segment(folded)
        if folded != letters:
            # "a n a k e d 9 y e a r": the digit may be a number, not leet.
            parts = _DIGITS.split(letters)
            split = [self._segment(p) if p.isalpha() else ([p], 0.0) for p in parts if p]
            leet = 0.5 * sum(a != b for a, b in zip(letters, folded, strict=True))
            if sum(c for _, c in split) < cost + leet:
                words = [w for piece, _ in split for w in piece]
        return " ".join(words)

    def _segment(self, letters: str) -> tuple[list[str], float]:
        """Split *letters* into known words, fewest pieces first.

        An unknown stretch is allowed at a cost that grows with its length,
        so one unknown word does not stop the known words around it from
        being found, and is not cut into letters either.
        """
        vocabulary = self._vocabulary
        size = len(letters)
        cost: list[float] = [0.0] + [float("inf")] * size
        back: list[int] = [0] * (size + 1)
        for end in range(1, size + 1):
            for start in range(max(0, end - 20), end):
                if cost[start] == float("inf"):
                    continue
                piece = letters[start:end]
                step = 1.0 if piece in vocabulary else self._unknown_cost(piece)
                if cost[start] + step < cost[end]:
                    cost[end] = cost[start] + step
                    back[end] = start
        words: list[str] = []
        end = size
        while end:
            words.append(letters[back[end] : end])
            end = back[end]
        return words[::-1], cost[size]

    def _unknown_cost(self, piece: str) -> float:
        for suffix in _SUFFIXES:
            if piece.endswith(suffix) and piece[: -len(suffix)] in self._vocabulary:
                return 1.5
        return 2.5 if len(piece) == 1 else 1.0 + 0.5 * len(piece)

    def _word(self, token: str) -> str:
        core = token.strip("!")
        if not core or core in self._vocabulary:
            return token
        lead = token[: len(token) - len(token.lstrip("!"))]
        trail = token[len(lead) + len(core) :]
        resolved = self._resolve(core)
        return token if resolved is None else lead + resolved + trail

    def _resolve(self, core: str) -> str | None:
        vocabulary = self._vocabulary
        if "*" in core:
            masked = self._unmask(core) or self._unmask(core.translate(_LEET))
            if masked is not None:
                return masked
            core = core.replace("*", "")
        folded = core.translate(_LEET)
        candidates = [folded]
        digits = len(core) - len(core.lstrip("0123456789"))
        if digits and digits < len(core):
            candidates.insert(0, core[:digits] + core[digits:].translate(_LEET))
        if "1" in core or "|" in core:
            candidates.append(core.translate(_LEET_L).translate(_LEET))
        for candidate in candidates:
            if candidate in vocabulary:
                return candidate
            squeezed = self._squeezed.get(_SQUEEZE.sub(r"\1", candidate))
            if squeezed is not None and _STRETCH.search(candidate):
                return squeezed
        if _STRETCH.search(folded):
            return _STRETCH.sub(r"\1", folded)
        if _UNIT_LIKE.fullmatch(core) or not folded.isalpha():
            return None
        return folded

    def _unmask(self, core: str) -> str | None:
        size = len(core)
        preferred = (w for w in _OFTEN_MASKED if len(w) == size)
        for word in itertools.chain(preferred, self._by_length.get(size, ())):
            if all(m in {"*", w} for m, w in zip(core, word, strict=True)):
                return word
        return None


@lru_cache(maxsize=1)
def _default() -> Normalizer:
    return Normalizer(packaged_vocabulary())


def normalize(text: str) -> NormalizedText:
    """Return the de-obfuscated view of *text*.

    Uses a :class:`Normalizer` whose vocabulary is every word of the packaged
    lexicons plus common English words.

    Args:
        text: The user's original text.

    Returns:
        The normalized text with its offset map.
    """
    return _default()(text)
