"""The normalized view of a text, with its map back to the original offsets.

The map is worked out only when a detector asks for a span, so a clean turn
pays nothing for it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import final

__all__ = ["NormalizedText", "locate_events", "locate_rewrites"]


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


def locate_events(events: Sequence[tuple[int, int]]) -> Callable[[int], int]:
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


def locate_rewrites(
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
