"""The built-in detector set."""

from __future__ import annotations

from ._lexicon import LexiconDetector, packaged_lexicon

__all__ = ["default_detectors"]


def default_detectors() -> list[LexiconDetector]:
    """Return the built-in detector set.

    One :class:`LexiconDetector` over the packaged lexicons finds the five
    categories the default policy acts on (``mass_violence``,
    ``child_sexual_content``, ``abuse``, ``self_harm_risk``,
    ``harm_to_others_risk``) in a single scan of the normalized text.

    Returns:
        A new list, so callers may append their own detectors to it.
    """
    return [LexiconDetector(packaged_lexicon(), name="lexicon")]
