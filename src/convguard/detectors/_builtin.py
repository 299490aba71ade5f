"""The built-in detectors (foundation stand-in; the detectors work replaces it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, final

from .._findings import Evidence, Finding
from .._taxonomy import Category
from ._protocols import DetectionContext

__all__ = ["PhraseDetector", "default_detectors"]


@final
class PhraseDetector:
    """Flag a category when the normalized text contains one of its phrases."""

    __slots__ = ("_pattern", "category", "name", "score")

    def __init__(self, name: str, category: str, phrases: Sequence[str], score: float = 0.9) -> None:
        """Compile the phrases into one pattern."""
        self.name = name
        self.category = category
        self.score = score
        self._pattern = re.compile(
            r"\b(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")\b"
        )

    def __repr__(self) -> str:
        """Show the name and category."""
        return f"PhraseDetector({self.name!r}, {self.category!r})"

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:  # noqa: ARG002
        """Return one finding for the first phrase found."""
        normalized = context.normalized
        match = self._pattern.search(normalized.text)
        if match is None:
            return ()
        start, end = normalized.span(match.start(), match.end())
        return (Finding(self.category, self.score, self.name, Evidence(start, end, match.group())),)


_PHRASES: Final = {
    Category.ABUSE: ("you are useless", "you're useless", "stupid bot", "worthless bot", "you idiot", "shut up, bot"),
    Category.SELF_HARM_RISK: ("kill myself", "end my life", "want to die", "hurt myself", "suicide"),
    Category.HARM_TO_OTHERS_RISK: ("going to kill him", "going to kill her", "going to hurt my"),
    Category.MASS_VIOLENCE: ("make a bomb", "build a bomb", "nerve agent", "mass shooting"),
    Category.CHILD_SEXUAL_CONTENT: ("sexual content involving minors", "sexy story about a child"),
}


def default_detectors() -> list[PhraseDetector]:
    """Return the built-in detector set, one per terminable and protective category."""
    return [PhraseDetector(f"builtin.{category}", category, phrases) for category, phrases in _PHRASES.items()]
