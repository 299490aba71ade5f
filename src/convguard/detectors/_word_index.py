"""The word index: every term and allowlist phrase of a lexicon in one word trie.

Each term is filed under its rarest word ("the bot" under "bot"), so a scan
looks each word of a message up once and the cost grows with the length of
the message, not with the size of the lexicon.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from ._lexicon import common_words, words_of

if TYPE_CHECKING:
    from ._lexicon import Lexicon

__all__ = ["Node", "build_index"]

_ALLOW_PREFIX: Final = "allow:"

_Entry = tuple[int, float, str, tuple[str, ...]]
"""A term in the word index: list id, weight, spelling, words before its anchor."""

Node = tuple[tuple[_Entry, ...], Any, Any]
"""A node of the word index: the terms ending at it that start at their anchor;
the other terms ending at it, by the word that must come just before the
anchor (``None`` when there are none); and the nodes of the words that may
follow (``None`` when none may)."""

# How common a word is, for choosing the word a term is indexed under: the
# rarest one, so that each "the" or "how" of a message is not a place where a
# term might start. Function words are the most common, in this order (most
# frequent first, by English word frequency), so that a term made of function
# words alone ("that is you") is found from its rarest one; the packaged list
# of common words comes next; every other word is rare.
# fmt: off
_FUNCTION_WORDS: Final = (
    "the", "to", "and", "of", "a", "in", "i", "is", "that", "for", "you", "it", "on", "with",
    "this", "was", "be", "as", "are", "have", "at", "not", "he", "by", "from", "but", "my", "or",
    "we", "an", "your", "so", "his", "they", "me", "if", "can", "will", "about", "what", "has",
    "when", "do", "no", "were", "who", "had", "their", "which", "her", "been", "would", "she",
    "how", "them", "its", "our", "than", "into", "him", "over", "then", "could", "these", "where",
    "should", "may", "did", "being", "why", "those", "am", "does", "under", "must", "might",
)
# fmt: on
_FUNCTION_RARITY: Final = {word: i / len(_FUNCTION_WORDS) for i, word in enumerate(_FUNCTION_WORDS)}


def _rarity(word: str) -> float:
    """Return how rare *word* is: under 1 for function words, 1 for common ones, else 2."""
    function = _FUNCTION_RARITY.get(word)
    if function is not None:
        return function
    return 1 if word in common_words() else 2


def build_index(
    lexicon: Lexicon, wanted: frozenset[str]
) -> tuple[
    dict[str, Node],
    dict[str, int],
    tuple[tuple[int, re.Pattern[str], float], ...],
    dict[str, int],
]:
    """Compile every term and allowlist phrase into one word trie.

    Returns:
        The trie, the id of each list, the patterns per list id, and the
        list id of each category's allowlist.
    """
    ids: dict[str, int] = {}
    # A trie of plain dicts while building: each word maps to the dict of the
    # words that may follow it, and the key "" (never a word) holds the terms
    # ending there, with the words that must come before the first word of
    # the path. It is then frozen into (terms, following) tuples: plain
    # tuples and dicts of strings are left alone by the cyclic GC.
    root: dict[str, Any] = {}
    patterns: list[tuple[int, re.Pattern[str], float]] = []

    def add(list_id: int, words: tuple[str, ...], weight: float, text: str) -> None:
        # Indexed under its rarest word (the first of those): the words
        # before it are checked when that word is found.
        ranks = [_rarity(word) for word in words]
        anchor = ranks.index(max(ranks))
        before = words[:anchor]
        node = root
        for word in words[anchor:]:
            node = node.setdefault(word, {})
        entries: tuple[_Entry, ...] = node.get("", ())
        if not any(entry[0] == list_id and entry[3] == before for entry in entries):
            node[""] = (*entries, (list_id, weight, text, before))

    # Lists read only as fillers are word sets, not terms to find: "a", "the"
    # and their like would otherwise be hits at every other word.
    scanned = {name for rule in lexicon.rules for name in (*rule.lists, *rule.unless, *rule.breaks)}
    for list_name, item in lexicon._lists.items():  # noqa: SLF001 - one unit with Lexicon
        list_id = ids.setdefault(list_name, len(ids))
        if list_name not in scanned:
            continue
        for term in item.terms:
            add(list_id, term.words, term.weight, term.text)
        patterns.extend((list_id, pattern, weight) for pattern, weight in item.patterns)
    allow_ids: dict[str, int] = {}
    for category, phrases in lexicon.allow.items():
        list_id = ids.setdefault(_ALLOW_PREFIX + category, len(ids))
        allow_ids[category] = list_id
        for phrase in phrases:
            words = words_of(phrase)
            if words:
                add(list_id, words, 1.0, phrase)
    frozen = {word: _freeze(node) for word, node in root.items()}
    return frozen, ids, tuple(patterns), {c: i for c, i in allow_ids.items() if c in wanted}


def _freeze(node: dict[str, Any]) -> Node:
    """Turn a trie node into a :data:`Node`."""
    children = {word: _freeze(child) for word, child in node.items() if word}
    entries: tuple[_Entry, ...] = node.get("", ())
    plain = tuple(entry for entry in entries if not entry[3])
    # About half the terms with words before their anchor were rejected at
    # each visit by the word just before it; by that word, a visit reads the
    # few that may match.
    grouped: dict[str, tuple[_Entry, ...]] = {}
    for entry in entries:
        if entry[3]:
            grouped[entry[3][-1]] = (*grouped.get(entry[3][-1], ()), entry)
    return plain, grouped or None, children or None
