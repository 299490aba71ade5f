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

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Final, final

from ._fold import MarkTable, ascii_table, lower_ascii, piecewise
from ._lexicon import packaged_vocabulary
from ._normalized_text import NormalizedText, locate_events, locate_rewrites

__all__ = ["NormalizedText", "Normalizer", "normalize"]

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


def _positions(text: str, needle: str) -> list[int]:
    """Return every offset of *needle* in *text*, found at C speed."""
    found: list[int] = []
    at = text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


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
        self._chars = ascii_table()
        self._marks = MarkTable(self._chars)

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
            return lower_ascii(text)
        return piecewise(text, lower_ascii, lambda part: part.translate(self._chars))

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
        first = locate_events(events)
        return locate_rewrites(first, rewrites) if rewrites else first

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
