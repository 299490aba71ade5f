"""One pass that gives detectors a de-obfuscated view of a text.

(Foundation version: NFKC, casefolding and invisible characters. The
detectors work makes it fold homoglyphs, leetspeak and spacing too.)
"""

from __future__ import annotations

import unicodedata
from typing import Final, final

from attrs import frozen

__all__ = ["NormalizedText", "normalize"]

_INVISIBLE: Final = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)


@final
@frozen
class NormalizedText:
    """A de-obfuscated text and the way back to the original.

    Attributes:
        text: The normalized text detectors scan.
        original: The user's text.
        offsets: For each character of ``text``, the offset in ``original``
            of the character it came from.
    """

    text: str
    original: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of ``text`` back to a span of ``original``.

        Args:
            start: Start offset in ``text``.
            end: End offset in ``text`` (exclusive).

        Returns:
            The matching ``(start, end)`` in ``original``.
        """
        if start >= end or not self.offsets:
            point = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return point, point
        return self.offsets[start], self.offsets[end - 1] + 1


def normalize(text: str) -> NormalizedText:
    """Return the de-obfuscated view of *text*.

    Args:
        text: The user's original text.

    Returns:
        The normalized text with its offset map.
    """
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", char).casefold()
        out.append(folded)
        offsets.extend([index] * len(folded))
    return NormalizedText("".join(out), text, tuple(offsets))
