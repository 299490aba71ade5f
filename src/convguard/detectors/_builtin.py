"""The built-in detector set."""

from __future__ import annotations

from typing import Final

from .._taxonomy import PROTECTIVE
from ._lexicon import LexiconDetector, packaged_lexicon
from ._window import WindowDetector

__all__ = ["default_detectors"]

#: How many user messages the built-in window reads, the current one included.
_WINDOW_TURNS: Final = 3
#: The built-in window's name, distinct from "window(lexicon)", the name a
#: window over the whole lexicon takes by default.
_WINDOW_NAME: Final = "lexicon-window"


def default_detectors() -> list[LexiconDetector | WindowDetector]:
    """Return the built-in detector set.

    Two detectors over the packaged lexicons:

    - ``"lexicon"``, a :class:`LexiconDetector` that finds the five categories
      the default policy acts on (``mass_violence``, ``child_sexual_content``,
      ``abuse``, ``self_harm_risk``, ``harm_to_others_risk``) in a single scan
      of each message's normalized text;
    - ``"lexicon-window"``, a :class:`WindowDetector` over the protective
      categories only, reading the last three user messages joined, so a
      disclosure sent in pieces ("I think I'm going to" / "kill" / "myself")
      is found on the turn that completes it. It reports only findings that
      reach back into an earlier message (the first detector reports the
      rest) and does nothing on a conversation's first user turn. Terminable
      categories stay per message: a request is judged on what the user
      sent in that turn, so joining turns cannot end a chat on a phrase
      nobody wrote.

    Returns:
        A new list, so callers may append their own detectors to it.
    """
    lexicon = packaged_lexicon()
    protective = LexiconDetector(lexicon, name="lexicon", categories=sorted(PROTECTIVE))
    return [
        LexiconDetector(lexicon, name="lexicon"),
        WindowDetector(protective, turns=_WINDOW_TURNS, name=_WINDOW_NAME, across_only=True),
    ]
