"""Obfuscated variants of a labelled message, to score recall on evasions."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Final

__all__ = ["VARIANTS", "obfuscations"]

_LEET_OUT: Final = str.maketrans({"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"})
_HOMOGLYPHS: Final = str.maketrans(
    {
        "a": "\u0430",
        "c": "\u0441",
        "e": "\u0435",
        "o": "\u043e",
        "p": "\u0440",
        "x": "\u0445",
        "y": "\u0443",
        "i": "\u0456",
    }
)
_MIN_SPACED: Final = 4


def _leet(text: str) -> str:
    return " ".join(
        word[0] + word[1:].lower().translate(_LEET_OUT) if len(word) > 2 else word  # noqa: PLR2004 - short words read as numbers
        for word in text.split(" ")
    )


def _zero_width(text: str) -> str:
    return " ".join(
        "\u200b".join(word) if len(word) > 3 else word  # noqa: PLR2004 - long words only
        for word in text.split(" ")
    )


def _homoglyph(text: str) -> str:
    return text.translate(_HOMOGLYPHS)


def _spacing(text: str) -> str:
    return " ".join(
        " ".join(word) if len(word) >= _MIN_SPACED and word.isalpha() else word
        for word in text.split(" ")
    )


# Harmless sentences holding words that often mark a harmless context
# ("safe", "news", "history", "never", "stop"): put before a message, none
# changes what it asks, so a detector should find the same.
_PREFIXES: Final = (
    "Thanks, that was a safe and helpful answer.",
    "I read a news report about its history.",
    "Never mind my last question.",
    "Stop. Let me ask again.",
)


def _prefixed(text: str) -> str:
    return f"{_PREFIXES[zlib.crc32(text.encode('utf-8', 'surrogatepass')) % len(_PREFIXES)]} {text}"


#: Obfuscation variant name -> function (deterministic: a report is repeatable).
VARIANTS: Final[Mapping[str, Callable[[str], str]]] = {
    "leetspeak": _leet,
    "zero_width": _zero_width,
    "homoglyph": _homoglyph,
    "spacing": _spacing,
    "prefixed": _prefixed,
}


def obfuscations(text: str) -> dict[str, str]:
    """Return the obfuscated variants of *text* that ``--obfuscate`` scores.

    - ``leetspeak``: ``o i e a s t`` become ``0 1 3 4 5 7`` inside words
      longer than two letters (the first letter kept);
    - ``zero_width``: a zero-width space between the letters of words longer
      than three;
    - ``homoglyph``: Latin letters replaced by Cyrillic look-alikes;
    - ``spacing``: the letters of words of four letters or more spaced out;
    - ``prefixed``: one of a few harmless sentences put before the message,
      each holding words that often mark a harmless context ("safe",
      "history", "never", "stop"), as a user hiding a request behind them.

    Args:
        text: The plain message.

    Returns:
        Variant name -> obfuscated text.
    """
    return {name: function(text) for name, function in VARIANTS.items()}


# -- scoring items ------------------------------------------------------------
