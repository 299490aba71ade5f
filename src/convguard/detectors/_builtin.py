"""The built-in detector set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, final

from .._taxonomy import PROTECTIVE
from ._lexicon import packaged_lexicon
from ._lexicon_detector import LexiconDetector
from ._ngram import NgramDetector
from ._window import WindowDetector

if TYPE_CHECKING:
    from .._findings import Finding
    from ._protocols import DetectionContext

__all__ = ["default_detectors"]

#: How many user messages the built-in window reads, the current one included.
_WINDOW_TURNS: Final = 3
#: The built-in window's name, distinct from "window(lexicon)", the name a
#: window over the whole lexicon takes by default.
_WINDOW_NAME: Final = "lexicon-window"
#: A message of at most this many words is a fragment: a phrase split across
#: turns leaves one on at least one side of the split.
_FRAGMENT_WORDS: Final = 8


def _fragment_at_the_end(texts: Sequence[str]) -> bool:
    """Return whether the current message or the one before it is a fragment.

    Reading three messages again costs two to three times a plain turn, so
    the window is read only where a phrase may have been split: two long
    messages in a row are each a whole thought, judged on their own.
    """
    return any(len(text.split()) <= _FRAGMENT_WORDS for text in texts[-2:])


@final
class _ProtectiveOnly:
    """A lexicon detector's protective findings only.

    The window reads through the same compiled index as the per-message
    detector, instead of a second one for the protective categories, which
    would take about 10 MB more for a scan that is hardly cheaper.
    """

    __slots__ = ("inner", "name")

    def __init__(self, inner: LexiconDetector) -> None:
        self.inner = inner
        self.name = inner.name

    def __repr__(self) -> str:
        return f"{self.inner!r}.protective"

    @property
    def categories(self) -> frozenset[str]:
        """The categories it reports."""
        return frozenset(PROTECTIVE) & self.inner.categories

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Return the inner detector's findings of the protective categories."""
        return [f for f in self.inner.detect(text, context) if f.category in PROTECTIVE]


def default_detectors(
    *, learned: bool = True
) -> list[LexiconDetector | WindowDetector | NgramDetector]:
    """Return the built-in detector set.

    Two detectors over the packaged lexicons, and a learned word model:

    - ``"lexicon"``, a :class:`LexiconDetector` that finds the five categories
      the default policy acts on (``mass_violence``, ``child_sexual_content``,
      ``abuse``, ``self_harm_risk``, ``harm_to_others_risk``) in a single scan
      of each message's normalized text;
    - ``"lexicon-window"``, a :class:`WindowDetector` over the protective
      categories only, reading the last three user messages joined, so a
      disclosure sent in pieces ("I think I'm going to" / "kill" / "myself")
      is found on the turn that completes it. It reports only findings that
      reach back into an earlier message (the first detector reports the
      rest), and reads the window only where a phrase may have been split:
      when the current message or the one before it is a fragment of at
      most eight words (never on a conversation's first user turn). Terminable
      categories stay per message: a request is judged on what the user
      sent in that turn, so joining turns cannot end a chat on a phrase
      nobody wrote;
    - ``"ngram"``, an :class:`NgramDetector` with the packaged model: a
      logistic model over the words and word pairs of the same normalized
      view, which finds disclosures no rule names. It reports protective
      *concerns* only (0.3 to 0.45), which block ending without bringing
      ``SUPPORT`` text, and scores only messages holding one of its trigger
      words. It comes last, so it reuses the words the lexicon just split.

    Args:
        learned: Whether to include the n-gram detector. Leave it out where
            a false concern (about 1-3% of benign messages, more on text
            unlike its training data), which keeps that conversation from
            being ended, costs more than a missed disclosure.

    Returns:
        A new list, so callers may append their own detectors to it.
    """
    lexicon = LexiconDetector(packaged_lexicon(), name="lexicon")
    detectors: list[LexiconDetector | WindowDetector | NgramDetector] = [
        lexicon,
        WindowDetector(
            _ProtectiveOnly(lexicon),
            turns=_WINDOW_TURNS,
            name=_WINDOW_NAME,
            across_only=True,
            gate=_fragment_at_the_end,
        ),
    ]
    if learned:
        detectors.append(NgramDetector())
    return detectors
