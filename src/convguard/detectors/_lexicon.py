"""Lexicons of terms and co-occurrence rules, compiled into one scan.

A lexicon is a set of named *lists* of terms (each term one or more words,
with a weight), *rules* that say which lists must occur together, and within
how many words, for a category to be found, and *allowlist* phrases that
cancel a match ("kill the process"). The data lives in TOML files; the
packaged ones are in ``convguard/detectors/data``, and users extend or replace
them (see ``docs/detectors.md`` for the format).

Matching reads the normalized text word by word: each word is looked up once
in a word index, where each term is found under its rarest word ("the bot"
under "bot"), so the cost grows with the length of the message, not with the
size of the lexicon. Terms are literal words, never regular expressions; the optional
``patterns`` of a list are regular expressions checked when loaded, so none
can backtrack catastrophically.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import re
import sys
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, NamedTuple, final

from attrs import frozen

from .._errors import ConfigurationError
from .._findings import Evidence, Finding
from ._normalize import piecewise
from ._protocols import DetectionContext

__all__ = [
    "Lexicon",
    "LexiconDetector",
    "Rule",
    "check_pattern",
    "packaged_lexicon",
    "packaged_vocabulary",
]

_TOKEN: Final = re.compile(r"[^\W_]+")
_NON_WORD: Final = re.compile(r"[\W_]")
# What may end a sentence (see _sentences): . ! ? ; and a line break. In the
# words-only view they become these separators, which split() takes for
# spaces like any other, so the words are the same either way.
_STOP: Final = "\x1c"  # . ! ? ; which end a sentence when a space follows
_BREAK: Final = "\x1d"  # a line break, which always does
_PUNCTUATION: Final = str.maketrans(
    {
        chr(c): _STOP if chr(c) in ".!?;" else _BREAK if chr(c) == "\n" else " "
        for c in range(128)
        if not chr(c).isalnum() or chr(c) == "_"
    }
)
# A stop with a word right after it ("3.5", "node.js") ends nothing.
_STOP_IN_WORD: Final = re.compile(_STOP + r"(?=\S)")


def _flat(part: str) -> str:
    """Turn every character outside a word into a space, one for one.

    In ASCII stretches a sentence end becomes ``_STOP`` or ``_BREAK``
    instead, which ``split()`` takes for a space all the same.
    """
    return part.translate(_PUNCTUATION) if part.isascii() else _NON_WORD.sub(" ", part)


def _word_starts(flat: str, indices: Iterable[int]) -> dict[int, int]:
    """Return the offset in *flat* of each word index (words split on whitespace).

    ``split`` with a limit stops after that many words and keeps the rest
    whole, so the rest's length gives the offset without a Python loop over
    words. Each split starts at the word found before, so the words are cut
    out once, not once per index: each is a new string object.
    """
    starts: dict[int, int] = {}
    offset = reached = 0
    for index in sorted(set(indices)):
        offset = len(flat) - len(flat[offset:].split(None, index - reached)[-1])
        starts[index] = offset
        reached = index
    return starts


def _sentences(flat: str) -> list[int] | None:
    """Return the number of the sentence of each word of *flat*, or ``None`` for one sentence.

    A sentence ends at . ! ? or ; before a space or the end, and at a line
    break. *flat* is the words-only view, which marks those with ``_STOP``
    and ``_BREAK``. Each end becomes a token of its own (a "." is in no
    word), and the tokens are counted and left out, all at C speed.
    """
    inner = flat.strip()
    if _STOP not in inner and _BREAK not in inner:
        return None
    marked = _STOP_IN_WORD.sub(" ", flat) if _STOP in inner else flat
    tokens = marked.replace(_STOP, " . ").replace(_BREAK, " . ").split()
    ends_so_far = itertools.accumulate(map(".".__eq__, tokens))
    return list(itertools.compress(ends_so_far, map(".".__ne__, tokens)))


_BRACES: Final = re.compile(r"\{([^{}]*)\}")
_RANGE: Final = re.compile(r"(\d+)\.\.(\d+)")
_MAX_EXPANSIONS: Final = 2000
_MAX_PATTERN_CHARS: Final = 500
_DATA_PACKAGE: Final = "convguard.detectors"
_ALLOW_PREFIX: Final = "allow:"
_MAX_COMBOS: Final = 2000

Hit = tuple[int, int, float, str]
"""A term found in a text: first word, one past the last word, weight, term."""

_Entry = tuple[int, float, str, tuple[str, ...]]
"""A term in the word index: list id, weight, spelling, words before its anchor."""

_Node = tuple[tuple[_Entry, ...], Any, Any]
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
_FUNCTION_RANK: Final = {word: i / len(_FUNCTION_WORDS) for i, word in enumerate(_FUNCTION_WORDS)}


def expand(term: str) -> list[str]:
    """Expand the braces of a term: ``bomb{,s}`` gives ``bomb`` and ``bombs``.

    ``{a,b}`` lists alternatives (an empty one is allowed); ``{1..17}`` is a
    range of whole numbers.

    Args:
        term: The term as written in a lexicon.

    Returns:
        Every spelling it stands for, in order.

    Raises:
        ConfigurationError: For unbalanced braces or too many expansions.
    """
    match = _BRACES.search(term)
    if match is None:
        if "{" in term or "}" in term:
            msg = f"term {term!r} has unbalanced braces"
            raise ConfigurationError(msg)
        return [term]
    body = match.group(1)
    numbers = _RANGE.fullmatch(body)
    if numbers is not None:
        low, high = int(numbers.group(1)), int(numbers.group(2))
        options = [str(n) for n in range(low, high + 1)]
    else:
        options = body.split(",")
    head, tail = term[: match.start()], term[match.end() :]
    results: list[str] = []
    for option in options:
        results.extend(expand(head + option + tail))
        if len(results) > _MAX_EXPANSIONS:
            msg = f"term {term!r} expands to more than {_MAX_EXPANSIONS} spellings"
            raise ConfigurationError(msg)
    return results


def words_of(phrase: str) -> tuple[str, ...]:
    """Return the words of *phrase* as the normalized text spells them.

    Args:
        phrase: A term or allowlist phrase.

    Returns:
        Its words, case folded, with apostrophes dropped.
    """
    folded = phrase.casefold()
    for apostrophe in "'\u2019`":
        folded = folded.replace(apostrophe, "")
    return tuple(_TOKEN.findall(folded))


def _check_inner_repeat(low: int, high: int, pattern: str) -> None:
    if high > 1:
        msg = f"pattern {pattern!r} nests quantifiers, which can backtrack catastrophically"
        raise ConfigurationError(msg)
    if low != high:
        # (?:\w?){28} is 28 optional \w in a row: 2**28 ways to read a word.
        msg = (
            f"pattern {pattern!r} repeats an optional part, which can backtrack "
            "catastrophically; write the counts outside the group"
        )
        raise ConfigurationError(msg)


def _walk(items: Any, *, inside_repeat: bool, pattern: str) -> None:  # noqa: ANN401 - sre parse trees are untyped
    constants = importlib.import_module("re._constants")
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT}
    repeats.update(op for op in (getattr(constants, "POSSESSIVE_REPEAT", None),) if op is not None)
    for op, value in items:
        if op in repeats:
            low, high, body = value
            if inside_repeat:
                _check_inner_repeat(low, high, pattern)
            _walk(body, inside_repeat=inside_repeat or high > 1, pattern=pattern)
        elif op in {constants.GROUPREF, constants.GROUPREF_EXISTS}:
            msg = f"pattern {pattern!r} uses a backreference, which is not allowed"
            raise ConfigurationError(msg)
        elif op is constants.BRANCH:
            if inside_repeat:
                msg = (
                    f"pattern {pattern!r} repeats an alternation, which can backtrack "
                    "catastrophically; list the alternatives as terms instead"
                )
                raise ConfigurationError(msg)
            for branch in value[1]:
                _walk(branch, inside_repeat=inside_repeat, pattern=pattern)
        elif op is constants.SUBPATTERN:
            _walk(value[-1], inside_repeat=inside_repeat, pattern=pattern)
        elif op in {constants.ASSERT, constants.ASSERT_NOT}:
            _walk(value[1], inside_repeat=inside_repeat, pattern=pattern)


# The reason a backtracking matcher slows down is always one of two: a
# stretch of text that two quantifiers (or two alternatives) could share, so
# the matcher tries every way of splitting it, or a quantifier that keeps
# re-reading the same run from every start position of the search. Both are
# refused by looking at which characters each part of a pattern can consume.
# Character sets are compared on a sample alphabet: ASCII, Latin-1, a few
# letters, digits and spaces of other scripts, and every character and range
# end the pattern names, so two ranges or a range and a class that share a
# character always share a sampled one.
_SAMPLE: Final = "".join(chr(c) for c in range(256)) + (
    "\u0131\u017f\u03a9\u03c9\u0416\u044f\u05d0\u0663\u0966\u4e2d\uac00\u2028\u3000\u200b\U0001f600"
)


def _alphabet(tree: Any) -> str:  # noqa: ANN401 - sre parse trees are untyped
    """Return the sample alphabet and every character (and range end) *tree* names."""
    named: set[int] = set()

    def collect(node: Any) -> None:  # noqa: ANN401 - sre parse trees are untyped
        if isinstance(node, int):
            named.add(node)  # opcodes and counts too: more samples, never fewer
        elif isinstance(node, (list, tuple)) or hasattr(node, "data"):
            for part in getattr(node, "data", node):
                collect(part)

    collect(tree)
    ends = {v + d for v in named for d in (-1, 0, 1) if 0 <= v + d <= sys.maxunicode}
    return _SAMPLE + "".join(sorted(chr(v) for v in ends - set(map(ord, _SAMPLE))))


def _charset(op: object, value: Any, alphabet: str, flags: int) -> frozenset[str]:  # noqa: ANN401 - sre parse trees are untyped
    """Return the sampled characters one single-character item can consume."""
    constants = importlib.import_module("re._constants")
    if op is constants.LITERAL:
        chars = {chr(value)}
    elif op is constants.NOT_LITERAL:
        chars = set(alphabet) - {chr(value)}
    elif op is constants.ANY:
        chars = set(alphabet) if flags & re.DOTALL else set(alphabet) - {"\n"}
    else:  # IN: a class
        return _class_charset(value, alphabet, flags)
    if flags & re.IGNORECASE:  # more characters: refuses more, never less
        chars |= {c.swapcase() for c in chars if len(c.swapcase()) == 1}
    return frozenset(chars)


def _class_charset(items: Any, alphabet: str, flags: int) -> frozenset[str]:  # noqa: ANN401 - sre parse trees are untyped
    constants = importlib.import_module("re._constants")
    categories = {
        constants.CATEGORY_DIGIT: r"\d",
        constants.CATEGORY_NOT_DIGIT: r"\D",
        constants.CATEGORY_SPACE: r"\s",
        constants.CATEGORY_NOT_SPACE: r"\S",
        constants.CATEGORY_WORD: r"\w",
        constants.CATEGORY_NOT_WORD: r"\W",
    }
    negate = False
    chars: set[str] = set()
    for op, value in items:
        if op is constants.NEGATE:
            negate = True
        elif op is constants.LITERAL:
            chars.add(chr(value))
        elif op is constants.RANGE:
            chars.update(c for c in alphabet if value[0] <= ord(c) <= value[1])
        elif op is constants.CATEGORY and value in categories:
            matcher = re.compile(categories[value])
            chars.update(c for c in alphabet if matcher.fullmatch(c))
        else:  # pragma: no cover - the parser makes no other kinds; assume anything
            chars.update(alphabet)
    if negate:
        chars = set(alphabet) - chars
    if flags & re.IGNORECASE:  # more characters: refuses more, never less
        chars |= {c.swapcase() for c in chars if len(c.swapcase()) == 1}
    return frozenset(chars)


_FEW: Final = 100
"""A quantifier with at most this many repeats reads that far and no further."""


class _Flow:
    """Walk a pattern's sequence left to right, tracking what may be re-read.

    ``open`` holds the characters that a quantifier (or an ambiguous
    alternation) since the last *fence* can consume: a later quantifier that
    can consume one of them could share a stretch of text with it, and the
    matcher would try every split. A single required character outside
    ``open`` closes it: a path that split the text differently would need
    that character where only ``open`` ones stand. ``fences`` are the
    required characters (and anchors) read so far: a quantifier with a fence
    it cannot consume before it reads a run that no other start position of
    the search reads again.
    """

    def __init__(self, pattern: str, alphabet: str, flags: int) -> None:
        self.pattern = pattern
        self.alphabet = alphabet
        self.flags = flags
        self.c = importlib.import_module("re._constants")
        word = re.compile(r"\w")
        self.non_word = frozenset(ch for ch in alphabet if not word.fullmatch(ch))

    def refuse(self, why: str) -> ConfigurationError:
        return ConfigurationError(f"pattern {self.pattern!r} {why}")

    def single(self, op: object) -> bool:
        c = self.c
        return op in {c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN}

    def chars(self, items: Any) -> frozenset[str]:  # noqa: ANN401 - sre parse trees are untyped
        """Return every character that *items* can consume."""
        c = self.c
        found: set[str] = set()
        for op, value in items:
            if self.single(op):
                found |= _charset(op, value, self.alphabet, self.flags)
            elif op in {c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT}:
                found |= self.chars(value[2])
            elif op is c.SUBPATTERN:
                found |= self.chars(value[-1])
            elif op is c.ATOMIC_GROUP:
                found |= self.chars(value)
            elif op is c.BRANCH:
                for branch in value[1]:
                    found |= self.chars(branch)
        return frozenset(found)

    def first(self, items: Any) -> tuple[frozenset[str], bool]:  # noqa: ANN401 - sre parse trees are untyped
        """Return the characters *items* can start with, and whether they can match nothing."""
        c = self.c
        found: set[str] = set()
        for op, value in items:
            if self.single(op):
                return frozenset(found | _charset(op, value, self.alphabet, self.flags)), False
            if op in {c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT}:
                head, empty = self.first(value[2])
                found |= head
                if value[0] and not empty:
                    return frozenset(found), False
            elif op in {c.SUBPATTERN, c.ATOMIC_GROUP}:
                head, empty = self.first(value[-1] if op is c.SUBPATTERN else value)
                found |= head
                if not empty:
                    return frozenset(found), False
            elif op is c.BRANCH:
                heads = [self.first(branch) for branch in value[1]]
                for head, _ in heads:
                    found |= head
                if not any(empty for _, empty in heads):
                    return frozenset(found), False
        return frozenset(found), True

    def can_fail(self, items: Any) -> bool:  # noqa: ANN401 - sre parse trees are untyped
        """Tell whether *items* can fail to match (only optional quantifiers cannot)."""
        c = self.c
        return any(
            not (op in {c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT} and value[0] == 0)
            for op, value in items
        )

    def walk(
        self,
        items: Any,  # noqa: ANN401 - sre parse trees are untyped
        opened: frozenset[str],
        fences: list[frozenset[str]],
        *,
        then_fails: bool,
    ) -> frozenset[str]:
        """Check *items* read after *opened* and *fences*; return what is open after them.

        *then_fails* tells whether what follows *items* can fail, making the
        matcher come back into them. *fences* is extended in place.
        """
        c = self.c
        items = list(items)
        for index, (op, value) in enumerate(items):
            after = then_fails or self.can_fail(items[index + 1 :])
            if self.single(op):
                opened = self.required(
                    _charset(op, value, self.alphabet, self.flags), opened, fences
                )
            elif op in {c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT}:
                opened = self.repeat(value, opened, fences, then_fails=after)
            elif op is c.SUBPATTERN:
                opened = self.walk(value[-1], opened, fences, then_fails=after)
            elif op is c.ATOMIC_GROUP:
                opened = self.walk(value, opened, fences, then_fails=after)
            elif op is c.BRANCH:
                opened = self.branch(value[1], opened, fences, then_fails=after)
            elif op in {c.ASSERT, c.ASSERT_NOT}:
                self.walk(value[1], opened, list(fences), then_fails=True)
            elif op is c.AT:
                opened = self.anchor(value, opened, fences)
        return opened

    def repeat(
        self,
        value: Any,  # noqa: ANN401 - sre parse trees are untyped
        opened: frozenset[str],
        fences: list[frozenset[str]],
        *,
        then_fails: bool,
    ) -> frozenset[str]:
        """Check a quantifier; return what is open after it."""
        low, high, body = value
        if low == high:
            for _ in range(min(low, 2)):
                opened = self.walk(body, opened, fences, then_fails=True)
            return opened
        chars = self.chars(body)
        if high == 1:  # optional: its body is read like a group, or skipped
            self.variable(chars, opened, fences, rereads=False)
            inside = self.walk(body, opened, list(fences), then_fails=then_fails)
            return opened | chars | inside
        if low and len(body) == 1 and self.single(body[0][0]):
            opened = self.required(
                _charset(body[0][0], body[0][1], self.alphabet, self.flags), opened, fences
            )
        unbounded = high == self.c.MAXREPEAT or high > _FEW
        return self.variable(chars, opened, fences, rereads=unbounded and then_fails)

    def required(
        self, chars: frozenset[str], opened: frozenset[str], fences: list[frozenset[str]]
    ) -> frozenset[str]:
        fences.append(chars)
        return opened | chars if chars & opened else frozenset()

    def variable(
        self,
        chars: frozenset[str],
        opened: frozenset[str],
        fences: list[frozenset[str]],
        *,
        rereads: bool,
    ) -> frozenset[str]:
        if chars & opened:
            why = (
                "has two quantifiers (or alternatives) that can match the same characters "
                "one after the other, which can backtrack catastrophically"
            )
            raise self.refuse(why)
        if rereads and all(fence & chars for fence in fences):
            why = (
                "starts a long repeat that every position of a message would read again; "
                "put a character the repeat cannot match (or \\b for a word) before it"
            )
            raise self.refuse(why)
        return opened | chars

    def branch(
        self,
        branches: Any,  # noqa: ANN401 - sre parse trees are untyped
        opened: frozenset[str],
        fences: list[frozenset[str]],
        *,
        then_fails: bool,
    ) -> frozenset[str]:
        heads = [self.first(branch) for branch in branches]
        ambiguous = any(empty for _, empty in heads) or any(
            a & b for i, (a, _) in enumerate(heads) for b, _ in heads[i + 1 :]
        )
        closed = opened
        if ambiguous:
            # Two alternatives that can start alike are two ways through the
            # same text: treat the alternation as a quantifier.
            everything = frozenset().union(*(self.chars(branch) for branch in branches))
            closed = self.variable(everything, opened, fences, rereads=False)
        after = [
            self.walk(branch, closed, list(fences), then_fails=then_fails) for branch in branches
        ]
        return frozenset().union(closed if ambiguous else frozenset(), *after)

    def anchor(
        self, where: object, opened: frozenset[str], fences: list[frozenset[str]]
    ) -> frozenset[str]:
        c = self.c
        if where is c.AT_BEGINNING_STRING or (
            where is c.AT_BEGINNING and not self.flags & re.MULTILINE
        ):
            fences.append(frozenset())
            return frozenset()
        if where is c.AT_BEGINNING:
            fences.append(frozenset("\n"))
        elif where is c.AT_BOUNDARY:
            fences.append(self.non_word)
        return opened


def check_pattern(pattern: str) -> re.Pattern[str]:
    r"""Compile a user-supplied regular expression, refusing risky ones.

    A pattern may not nest quantifiers (``(a+)+``), repeat an alternation
    (``(a|ab)*``) or an optional part (``(?:\w?){28}``), use backreferences,
    put two quantifiers (or alternatives) that can match the same characters
    one after the other (``\w*\w*x``, ``[a-z]*-?[a-z]*!``, ``(?:a.|.a)``),
    or start a long repeat that can fail later with nothing before it that
    the repeat cannot match (``\w*1``, which reads the rest of a word again
    from every one of its letters; ``\b\w*1`` and ``-\w*1`` are fine): those
    are what make a regular expression backtrack for ever, or take time that
    grows faster than the message, on a crafted message. What is accepted
    runs in time about proportional to the message times the pattern.

    Args:
        pattern: The regular expression, matched against normalized text.

    Returns:
        The compiled pattern.

    Raises:
        ConfigurationError: If the pattern is invalid, too long or risky.
    """
    if not isinstance(pattern, str) or not pattern:
        msg = f"a pattern must be a non-empty string, not {pattern!r}"
        raise ConfigurationError(msg)
    if len(pattern) > _MAX_PATTERN_CHARS:
        msg = f"pattern {pattern[:40]!r}... is longer than {_MAX_PATTERN_CHARS} characters"
        raise ConfigurationError(msg)
    try:
        compiled = re.compile(pattern)
        parser = importlib.import_module("re._parser")
        tree = parser.parse(pattern)
    except (re.error, RecursionError) as exc:
        msg = f"pattern {pattern!r} is not a valid regular expression: {exc}"
        raise ConfigurationError(msg) from exc
    _walk(tree, inside_repeat=False, pattern=pattern)
    _Flow(pattern, _alphabet(tree), tree.state.flags).walk(tree, frozenset(), [], then_fails=False)
    return compiled


@final
@frozen
class Rule:
    """Lists of terms that must occur together for a category to be found.

    Attributes:
        name: A short name, shown in evidence and reasons.
        category: The category it finds.
        lists: The names of the lists; one term of each must occur.
        weight: The score when it fires, times the smallest weight of the
            terms it matched.
        window: The most words the matched terms may span, first to last.
        ordered: Whether the terms must occur in the order of ``lists``.
        unless: Lists whose presence in a sentence of the matched terms
            cancels it ("what is the *history* of the atomic bomb"); one in
            another sentence does not, so "Stop." before a request cannot
            switch it off.
        breaks: Lists whose presence between the matched terms cancels it.
        min_coverage: The least share of the message's words its terms must
            cover (``1.0``: the message is nothing but such terms).
        fillers: A list whose words alone may stand between the matched
            terms ("you *absolute* moron"); any word may when empty.
    """

    name: str
    category: str
    lists: tuple[str, ...]
    weight: float = 0.9
    window: int = 8
    ordered: bool = False
    unless: tuple[str, ...] = ()
    breaks: tuple[str, ...] = ()
    min_coverage: float = 0.0
    fillers: str = ""


class _Term(NamedTuple):
    # A tuple, not a class: thousands of them live as long as the process, and
    # tuples of strings and numbers are left alone by the cyclic GC.
    words: tuple[str, ...]
    weight: float
    text: str


@frozen
class _List:
    name: str
    terms: tuple[_Term, ...]
    patterns: tuple[tuple[re.Pattern[str], float], ...] = ()


def _number(value: object, label: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        msg = f"{label} must be a number within {low}..{high}, got {value!r}"
        raise ConfigurationError(msg)
    return float(value)


def _names(value: object, label: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        msg = f"{label} must be a list of list names, got {value!r}"
        raise ConfigurationError(msg)
    return tuple(value)


def _parse_list(name: str, spec: object, source: str) -> _List:
    if not isinstance(spec, Mapping):
        msg = f"{source}: list {name!r} must be a table with 'terms'"
        raise ConfigurationError(msg)
    unknown = set(spec) - {"terms", "weight", "patterns"}
    if unknown:
        msg = f"{source}: list {name!r} has unknown keys {sorted(unknown)}"
        raise ConfigurationError(msg)
    default = _number(spec.get("weight", 1.0), f"{source}: weight of list {name!r}", 0.0, 1.0)
    terms: list[_Term] = []
    for entry in spec.get("terms", ()):
        if isinstance(entry, str):
            text, weight = entry, default
        elif isinstance(entry, Mapping) and isinstance(entry.get("term"), str):
            text = entry["term"]
            weight = _number(
                entry.get("weight", default), f"{source}: weight of {text!r}", 0.0, 1.0
            )
        else:
            msg = f"{source}: list {name!r} has a term that is neither a string nor a table"
            raise ConfigurationError(msg)
        for spelling in expand(text):
            words = words_of(spelling)
            if not words:
                msg = f"{source}: term {text!r} of list {name!r} has no words"
                raise ConfigurationError(msg)
            terms.append(_Term(words, weight, spelling))
    patterns: list[tuple[re.Pattern[str], float]] = [
        (check_pattern(p), default) for p in spec.get("patterns", ())
    ]
    return _List(name, tuple(terms), tuple(patterns))


def _parse_rule(spec: object, category: str, source: str, index: int) -> Rule:
    if not isinstance(spec, Mapping):
        msg = f"{source}: rule {index} must be a table"
        raise ConfigurationError(msg)
    known = {
        "name",
        "all",
        "weight",
        "window",
        "ordered",
        "unless",
        "breaks",
        "min_coverage",
        "category",
        "fillers",
    }
    unknown = set(spec) - known
    if unknown:
        msg = f"{source}: rule {index} has unknown keys {sorted(unknown)}"
        raise ConfigurationError(msg)
    lists = _names(spec.get("all", ()), f"{source}: rule {index} 'all'")
    if not lists:
        msg = f"{source}: rule {index} needs at least one list in 'all'"
        raise ConfigurationError(msg)
    window = spec.get("window", 8)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        msg = f"{source}: rule {index} window must be a positive integer, got {window!r}"
        raise ConfigurationError(msg)
    rule_category = spec.get("category", category)
    if not isinstance(rule_category, str) or not rule_category:
        msg = f"{source}: rule {index} has no category"
        raise ConfigurationError(msg)
    return Rule(
        name=str(spec.get("name", "+".join(lists))),
        category=rule_category,
        lists=lists,
        weight=_number(spec.get("weight", 0.9), f"{source}: rule {index} weight", 0.0, 1.0),
        window=window,
        ordered=bool(spec.get("ordered", False)),
        unless=_names(spec.get("unless", ()), f"{source}: rule {index} 'unless'"),
        breaks=_names(spec.get("breaks", ()), f"{source}: rule {index} 'breaks'"),
        min_coverage=_number(
            spec.get("min_coverage", 0.0), f"{source}: rule {index} min_coverage", 0.0, 1.0
        ),
        fillers=_filler_name(spec.get("fillers", ""), f"{source}: rule {index} 'fillers'"),
    )


def _filler_name(value: object, label: str) -> str:
    if not isinstance(value, str):
        msg = f"{label} must be the name of one list, got {value!r}"
        raise ConfigurationError(msg)
    return value


@final
class Lexicon:
    """Lists of terms, the rules that combine them, and allowlists.

    Build one with :meth:`from_dict`, :meth:`from_toml` or
    :func:`packaged_lexicon`; combine several with :meth:`merge`.

    Args:
        lists: The named lists.
        rules: The rules.
        allow: Allowlist phrases per category.
    """

    __slots__ = ("_allow", "_lists", "_rules")

    def __init__(
        self,
        lists: Iterable[_List] = (),
        rules: Iterable[Rule] = (),
        allow: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Keep the parts; :meth:`check` tells whether they fit together."""
        self._lists = {item.name: item for item in lists}
        self._rules = tuple(rules)
        self._allow = {category: tuple(phrases) for category, phrases in (allow or {}).items()}

    def __repr__(self) -> str:
        """Show the sizes."""
        terms = sum(len(item.terms) for item in self._lists.values())
        return f"<Lexicon lists={len(self._lists)} terms={terms} rules={len(self._rules)}>"

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in file order."""
        return self._rules

    @property
    def categories(self) -> frozenset[str]:
        """The categories its rules can find."""
        return frozenset(rule.category for rule in self._rules)

    @property
    def allow(self) -> Mapping[str, tuple[str, ...]]:
        """Allowlist phrases per category."""
        return dict(self._allow)

    def list_names(self) -> list[str]:
        """Return the names of the lists, sorted."""
        return sorted(self._lists)

    def terms(self, name: str) -> list[str]:
        """Return the spellings of the terms of one list.

        Raises:
            ConfigurationError: If there is no such list.
        """
        if name not in self._lists:
            msg = f"the lexicon has no list {name!r}"
            raise ConfigurationError(msg)
        return [term.text for term in self._lists[name].terms]

    def vocabulary(self) -> set[str]:
        """Return every word of every term and allowlist phrase."""
        words: set[str] = set()
        for item in self._lists.values():
            for term in item.terms:
                words.update(term.words)
        for phrases in self._allow.values():
            for phrase in phrases:
                words.update(words_of(phrase))
        return words

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Lexicon:
        """Build a lexicon from one parsed file (see the data format).

        Args:
            data: ``category`` (optional), ``allow``, ``lists`` and ``rules``.
            source: Where the data came from, for error messages.

        Returns:
            The lexicon.

        Raises:
            ConfigurationError: If the data does not follow the format.
        """
        if not isinstance(data, Mapping):
            msg = f"{source}: a lexicon must be a table, not {type(data).__name__}"
            raise ConfigurationError(msg)
        unknown = set(data) - {"category", "allow", "lists", "rules", "description"}
        if unknown:
            msg = f"{source}: unknown top-level keys {sorted(unknown)}"
            raise ConfigurationError(msg)
        category = data.get("category", "")
        if not isinstance(category, str):
            msg = f"{source}: 'category' must be a string"
            raise ConfigurationError(msg)
        lists_spec = data.get("lists", {})
        if not isinstance(lists_spec, Mapping):
            msg = f"{source}: 'lists' must be a table of lists"
            raise ConfigurationError(msg)
        lists = [_parse_list(name, spec, source) for name, spec in lists_spec.items()]
        rules_spec = data.get("rules", [])
        if not isinstance(rules_spec, list):
            msg = f"{source}: 'rules' must be an array of tables ([[rules]])"
            raise ConfigurationError(msg)
        rules = [
            _parse_rule(spec, category, source, index) for index, spec in enumerate(rules_spec)
        ]
        allow_spec = data.get("allow", [])
        if not isinstance(allow_spec, list) or not all(isinstance(p, str) for p in allow_spec):
            msg = f"{source}: 'allow' must be a list of phrases"
            raise ConfigurationError(msg)
        if allow_spec and not category:
            msg = f"{source}: 'allow' needs the file's 'category'"
            raise ConfigurationError(msg)
        allow = (
            {category: [p for phrase in allow_spec for p in expand(phrase)]} if allow_spec else {}
        )
        return cls(lists, rules, allow)

    @classmethod
    def from_toml(cls, path: str | Path) -> Lexicon:
        """Read a lexicon from a TOML file.

        Raises:
            ConfigurationError: If the file cannot be read or does not follow
                the format.
        """
        try:
            with Path(path).open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"cannot read lexicon {str(path)!r}: {exc}"
            raise ConfigurationError(msg) from exc
        return cls.from_dict(data, source=str(path))

    def merge(self, *others: Lexicon) -> Lexicon:
        """Return a lexicon with the lists, rules and allowlists of all.

        A list of the same name in a later lexicon gains its terms; rules
        and allowlist phrases add up.
        """
        lists = dict(self._lists)
        rules = list(self._rules)
        allow = {category: list(phrases) for category, phrases in self._allow.items()}
        for other in others:
            for name, item in other._lists.items():  # noqa: SLF001 - its own class
                current = lists.get(name)
                lists[name] = (
                    item
                    if current is None
                    else _List(name, current.terms + item.terms, current.patterns + item.patterns)
                )
            rules.extend(other.rules)
            for category, phrases in other.allow.items():
                allow.setdefault(category, []).extend(phrases)
        return Lexicon(lists.values(), rules, allow)

    def check(self) -> None:
        """Check that every rule names lists that exist.

        Raises:
            ConfigurationError: Naming every missing list.
        """
        problems = [
            f"rule {rule.name!r} ({rule.category}) names unknown list {name!r}"
            for rule in self._rules
            for name in (*rule.lists, *rule.unless, *rule.breaks, *filter(None, [rule.fillers]))
            if name not in self._lists
        ]
        if problems:
            raise ConfigurationError("; ".join(problems), problems)


@lru_cache(maxsize=1)
def packaged_lexicon() -> Lexicon:
    """Return the lexicon shipped in ``convguard/detectors/data`` (cached).

    Returns:
        Every ``*.toml`` file of the data folder, merged.
    """
    folder = resources.files(_DATA_PACKAGE).joinpath("data")
    parts: list[Lexicon] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            parts.append(Lexicon.from_dict(data, source=f"convguard/detectors/data/{entry.name}"))
    lexicon = Lexicon().merge(*parts)
    lexicon.check()
    return lexicon


@lru_cache(maxsize=1)
def packaged_vocabulary() -> frozenset[str]:
    """Return every word the packaged lexicons use, plus common English words."""
    return frozenset(packaged_lexicon().vocabulary() | _common_words())


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    text = resources.files(_DATA_PACKAGE).joinpath("data/words.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() for w in line.split("#", 1)[0].split())


def _rank(word: str) -> float:
    """Return how rare *word* is: under 1 for function words, 1 for common ones, else 2."""
    function = _FUNCTION_RANK.get(word)
    if function is not None:
        return function
    return 1 if word in _common_words() else 2


def _build_index(
    lexicon: Lexicon, wanted: frozenset[str]
) -> tuple[
    dict[str, _Node],
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
        ranks = [_rank(word) for word in words]
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


def _freeze(node: dict[str, Any]) -> _Node:
    """Turn a trie node into a :data:`_Node`."""
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


@frozen(eq=False)  # hashed by identity: one per rule of a detector
class _CompiledRule:
    index: int  # in the lexicon, for breaking ties
    rule: Rule
    lists: tuple[int, ...]
    unless: tuple[int, ...]
    breaks: tuple[int, ...]
    fillers: frozenset[str] | None
    # The lists as sets: one C-level test each of whether a message hit them.
    needed: frozenset[int]
    cancels: frozenset[int]


def _compile_rule(
    index: int,
    rule: Rule,
    ids: Mapping[str, int],
    fillers: Mapping[str, frozenset[str]],
) -> _CompiledRule:
    return _CompiledRule(
        index,
        rule,
        tuple(ids[n] for n in rule.lists),
        tuple(ids[n] for n in rule.unless),
        tuple(ids[n] for n in rule.breaks),
        fillers[rule.fillers] if rule.fillers else None,
        frozenset(ids[n] for n in rule.lists),
        frozenset(ids[n] for n in rule.unless),
    )


def _local_combos(pools: Sequence[list[Hit]], window: int) -> Iterator[tuple[Hit, ...]]:
    """Yield the combinations of one hit per pool that may fit in *window*.

    The smallest pool anchors the search; from each other pool only the hits
    near an anchor are tried, so a long message with many common words
    costs in proportion to its length, not to the product of the pools.
    """
    if len(pools) == 1:
        yield from ((hit,) for hit in pools[0])
        return
    anchor_at = min(range(len(pools)), key=lambda i: len(pools[i]))
    starts = [[hit[0] for hit in pool] for pool in pools]
    for anchor in pools[anchor_at]:
        local: list[Sequence[Hit]] = []
        for index, pool in enumerate(pools):
            if index == anchor_at:
                local.append((anchor,))
                continue
            low = bisect.bisect_left(starts[index], anchor[1] - window)
            high = bisect.bisect_right(starts[index], anchor[0] + window)
            if low >= high:
                break
            local.append(pool[low:high])
        else:
            yield from itertools.product(*local)


def _best_combo(
    rule: _CompiledRule,
    hits: Mapping[int, list[Hit]],
    words: Sequence[str],
    cancelled: Callable[[int, int], bool] | None = None,
) -> tuple[float, tuple[Hit, ...]] | None:
    """Return the best-scoring set of hits satisfying the rule, if any.

    *cancelled*, when given, tells whether the words from first to last
    (one past) lie in a sentence that cancels the rule.
    """
    spec = rule.rule
    best: tuple[float, int, tuple[Hit, ...]] | None = None
    pools = [sorted(hits[index]) for index in rule.lists]
    # A bound on the work per rule, so a message crafted to repeat terms
    # cannot make a turn slow; the best combination is almost always early.
    for combo in itertools.islice(_local_combos(pools, spec.window), _MAX_COMBOS):
        if spec.ordered and any(a[1] > b[0] for a, b in itertools.pairwise(combo)):
            continue
        first = min(h[0] for h in combo)
        last = max(h[1] for h in combo)
        if last - first > spec.window:
            continue
        if cancelled is not None and cancelled(first, last):
            continue
        if len(combo) > 1 and _clash(combo):
            continue
        if rule.breaks and _broken(rule, hits, combo):
            continue
        if rule.fillers is not None and not _filled(rule.fillers, rule, hits, combo, words):
            continue
        score = spec.weight * min(h[2] for h in combo)
        width = last - first
        if best is None or (score, -width) > (best[0], -best[1]):
            best = (score, width, combo)
            if score >= spec.weight and width <= len(combo):
                break
    return None if best is None else (best[0], best[2])


def _clash(combo: Sequence[Hit]) -> bool:
    ordered = sorted(combo)
    return any(a[1] > b[0] for a, b in itertools.pairwise(ordered))


def _filled(
    fillers: frozenset[str],
    rule: _CompiledRule,
    hits: Mapping[int, list[Hit]],
    combo: Sequence[Hit],
    words: Sequence[str],
) -> bool:
    """Whether every word between the matched terms is a filler or a term."""
    ordered = sorted(combo)
    gaps = [
        position
        for a, b in itertools.pairwise(ordered)
        for position in range(a[1], b[0])
        if words[position] not in fillers
    ]
    if not gaps:
        return True
    covered: set[int] = set()
    for index in rule.lists:
        for hit in hits.get(index, ()):
            covered.update(range(hit[0], hit[1]))
    return all(position in covered for position in gaps)


def _broken(rule: _CompiledRule, hits: Mapping[int, list[Hit]], combo: Sequence[Hit]) -> bool:
    ordered = sorted(combo)
    for a, b in itertools.pairwise(ordered):
        for index in rule.breaks:
            for hit in hits.get(index, ()):
                if hit[0] >= a[1] and hit[1] <= b[0]:
                    return True
    return False


class _Cancels:
    """Which words share a sentence with a hit of some ``unless`` lists.

    Worked out once per message, and only if a rule's ``unless`` list was
    hit: the sentences first, then a test per tuple of lists.
    """

    __slots__ = ("_flat", "_hits", "_read", "_sentence", "_tests")

    def __init__(self, flat: str, hits: Mapping[int, list[Hit]]) -> None:
        self._flat = flat
        self._hits = hits
        self._read = False
        self._sentence: list[int] | None = None
        self._tests: dict[tuple[int, ...], Callable[[int, int], bool]] = {}

    def test(self, lists: tuple[int, ...]) -> Callable[[int, int], bool] | None:
        """Return a test of whether words share a sentence with a hit of *lists*.

        The test takes the first word and one past the last. ``None`` when
        the message is one sentence: it holds the hit, so every match is
        cancelled.
        """
        if not self._read:
            self._sentence = _sentences(self._flat)
            self._read = True
        sentence = self._sentence
        if sentence is None:
            return None
        test = self._tests.get(lists)
        if test is None:
            marked = [False] * (sentence[-1] + 1)
            for list_id in lists:
                for first, last, _, _ in self._hits.get(list_id, ()):
                    for number in range(sentence[first], sentence[last - 1] + 1):
                        marked[number] = True

            def test(first: int, last: int) -> bool:
                return True in marked[sentence[first] : sentence[last - 1] + 1]

            self._tests[lists] = test
        return test


@final
class LexiconDetector:
    """Find categories by lexicon terms and co-occurrence rules, in one scan.

    Args:
        lexicon: The lexicon; the packaged one when omitted.
        name: The detector's name, shown in findings.
        categories: Only report these categories (all of the lexicon's when
            omitted).
        min_score: Leave out findings scoring below this.

    Raises:
        ConfigurationError: If a rule names a list the lexicon lacks, or a
            category is not one the lexicon can find.
    """

    __slots__ = (
        "_allow_ids",
        "_by_list",
        "_categories",
        "_index",
        "_lexicon",
        "_patterns",
        "_rules",
        "min_score",
        "name",
    )

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        *,
        name: str = "lexicon",
        categories: Iterable[str] | None = None,
        min_score: float = 0.0,
    ) -> None:
        """Compile the lexicon into one word index."""
        lexicon = packaged_lexicon() if lexicon is None else lexicon
        if not isinstance(lexicon, Lexicon):
            msg = f"lexicon must be a convguard Lexicon, not {type(lexicon).__name__}"
            raise ConfigurationError(msg)
        lexicon.check()
        if not isinstance(name, str) or not name:
            msg = f"name must be a non-empty string, not {name!r}"
            raise ConfigurationError(msg)
        self.name = name
        self.min_score = _number(min_score, "min_score", 0.0, 1.0)
        self._lexicon = lexicon
        wanted = lexicon.categories if categories is None else frozenset(map(str, categories))
        missing = wanted - lexicon.categories
        if missing:
            msg = f"the lexicon has no rules for {sorted(missing)}"
            raise ConfigurationError(msg)
        self._categories = wanted
        root, ids, patterns, self._allow_ids = _build_index(lexicon, wanted)
        fillers = {
            rule.fillers: frozenset(
                word
                for term in lexicon._lists[rule.fillers].terms  # noqa: SLF001 - one unit
                for word in term.words
            )
            for rule in lexicon.rules
            if rule.fillers
        }
        self._index = root
        self._patterns = patterns
        # The strongest first: once one fires at its full weight, the weaker
        # rules of its category are skipped unread (see _evaluate).
        self._rules = tuple(
            sorted(
                (
                    _compile_rule(index, rule, ids, fillers)
                    for index, rule in enumerate(lexicon.rules)
                    if rule.category in wanted
                ),
                key=lambda compiled: (-compiled.rule.weight, -len(compiled.needed), compiled.index),
            )
        )
        by_list: dict[int, list[_CompiledRule]] = {}
        for compiled in self._rules:
            by_list.setdefault(compiled.lists[0], []).append(compiled)
        self._by_list = by_list

    def __repr__(self) -> str:
        """Show the name, categories and lexicon size."""
        return f"LexiconDetector({self.name!r}, categories={sorted(self._categories)})"

    @property
    def lexicon(self) -> Lexicon:
        """The lexicon it matches."""
        return self._lexicon

    @property
    def categories(self) -> frozenset[str]:
        """The categories it reports."""
        return self._categories

    def _scan(self, words: Sequence[str]) -> dict[int, list[Hit]]:
        """Return the hits of every list among *words*, by list id.

        The keys are in the order of each list's first hit. Most words are in
        no term: the ones that are, the places where a term may be anchored,
        are found in one C-level pass.
        """
        root = self._index
        positions = itertools.compress(range(len(words)), map(root.__contains__, words))
        # In the order of each list's first hit, as a dict keeps its keys.
        by_id: defaultdict[int, list[Hit]] = defaultdict(list)
        # "" is no word of any term, so a term never runs past the last word,
        # and the word before the first is "" too: neither needs a bounds check.
        padded = [*words, ""]
        for position in positions:
            entries, groups, children = root[padded[position]]
            end = position + 1
            while True:
                for list_id, weight, text, _ in entries:
                    by_id[list_id].append((position, end, weight, text))
                if groups is not None:
                    # Those whose word just before matches ("" before the
                    # first word matches none); most have no other. Before
                    # the first word, a slice is shorter than the words it
                    # is compared with, so it needs no bounds check.
                    for list_id, weight, text, before in groups.get(padded[position - 1], ()):
                        if (start := position - len(before)) == position - 1 or tuple(
                            padded[start:position]
                        ) == before:
                            by_id[list_id].append((start, end, weight, text))
                if children is None:
                    break
                following = children.get(padded[end])
                if following is None:
                    break
                entries, groups, children = following
                end += 1
        return dict(by_id)

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Return one finding per category whose rules fire on *text*.

        Args:
            text: The user's original text (the normalized view is read from
                *context*).
            context: The turn's context.

        Returns:
            The findings, strongest rule per category, with the span of the
            matched terms in the original text as evidence.
        """
        del text
        normalized = context.normalized
        view = normalized.text
        # Every character outside a word becomes a space, one for one, so the
        # words are a C-level split() and their offsets stay those of the view.
        flat = view.translate(_PUNCTUATION) if view.isascii() else piecewise(view, _flat, _flat)
        words = flat.split()
        hits = self._scan(words)
        if self._patterns:
            spans = [m.span() for m in _TOKEN.finditer(view)]
            self._pattern_hits(view, spans, hits)
        if not hits:
            return ()
        # The rules whose first list was hit.
        by_list = self._by_list
        rules = [rule for list_id in hits for rule in by_list.get(list_id, ())]
        best = self._evaluate(hits, words, rules, flat)
        if not best:
            return ()
        findings: list[Finding] = []
        bounds = {
            category: (min(h[0] for h in combo), max(h[1] for h in combo) - 1)
            for category, (*_, combo) in best.items()
        }
        starts = _word_starts(flat, itertools.chain.from_iterable(bounds.values()))
        # In the order of their evidence in the text.
        for category, (first, last) in sorted(bounds.items(), key=lambda item: item[1]):
            score, _, _, rule, combo = best[category]
            start, end = normalized.span(starts[first], starts[last] + len(words[last]))
            term = " + ".join(h[3] for h in sorted(combo))
            evidence = Evidence(start, end, term if len(combo) == 1 else f"{rule}: {term}")
            findings.append(Finding(category, round(score, 4), self.name, evidence))
        return findings

    def _pattern_hits(
        self, text: str, spans: list[tuple[int, int]], hits: dict[int, list[Hit]]
    ) -> None:
        starts = [s for s, _ in spans]
        for list_id, pattern, weight in self._patterns:
            for match in pattern.finditer(text):
                if match.end() == match.start():
                    continue
                first = max(0, bisect.bisect_right(starts, match.start()) - 1)
                last = max(first + 1, bisect.bisect_left(starts, match.end()))
                hits.setdefault(list_id, []).append((first, last, weight, match.group()))

    def _evaluate(
        self,
        hits: dict[int, list[Hit]],
        words: Sequence[str],
        rules: Sequence[_CompiledRule],
        flat: str,
    ) -> dict[str, tuple[float, int, int, str, tuple[Hit, ...]]]:
        """Return, per category, the best firing rule: score, rank, name and hits.

        The words-only view *flat* is read for its sentences only when a
        rule's ``unless`` list was hit.
        """
        # The words each category's allowlist phrases cover: every hit spans
        # one word or more, so a hit overlaps a phrase when it shares a word.
        masks: dict[str, frozenset[int]] = {}
        for category, list_id in self._allow_ids.items():
            found = hits.get(list_id)
            if found:
                masks[category] = frozenset(
                    itertools.chain.from_iterable(range(h[0], h[1]) for h in found)
                )
        # Per category: (score, lists matched, rule name, hits). Of two rules
        # scoring the same, the one matching more lists wins (its evidence
        # says more), then the one earlier in the lexicon: a total order, so
        # the rules may be tried in any order.
        best: dict[str, tuple[float, int, int, str, tuple[Hit, ...]]] = {}
        hit = hits.keys()
        cancels: _Cancels | None = None
        for compiled in rules:
            if not hit >= compiled.needed:
                continue
            rule = compiled.rule
            rank = (len(compiled.needed), -compiled.index)
            current = best.get(rule.category)
            # No score beats the rule's weight: skip it if it cannot win.
            if current is not None and current[:3] >= (rule.weight, *rank):
                continue
            cancelled = None
            if not hit.isdisjoint(compiled.cancels):
                cancels = cancels or _Cancels(flat, hits)
                cancelled = cancels.test(compiled.unless)
                if cancelled is None:
                    continue
            result = self._try(compiled, hits, masks.get(rule.category), words, cancelled)
            if result is None:
                continue
            score, combo = result
            if score >= self.min_score and (current is None or (score, *rank) > current[:3]):
                best[rule.category] = (score, *rank, rule.name, combo)
        return best

    def _try(
        self,
        compiled: _CompiledRule,
        hits: dict[int, list[Hit]],
        mask: frozenset[int] | None,
        words: Sequence[str],
        cancelled: Callable[[int, int], bool] | None,
    ) -> tuple[float, tuple[Hit, ...]] | None:
        """Return the best score and hits of a rule whose lists were all hit."""
        pool = hits
        if mask or cancelled is not None:
            # A hit inside an allowlist phrase does not count, and a hit in a
            # cancelling sentence cancels every combination it is in.
            kept = {
                index: [
                    h
                    for h in hits[index]
                    if (not mask or mask.isdisjoint(range(h[0], h[1])))
                    and (cancelled is None or not cancelled(h[0], h[1]))
                ]
                for index in compiled.lists
            }
            if not all(kept.values()):
                return None
            pool = {**hits, **kept}
        found = _best_combo(compiled, pool, words, cancelled)
        if found is None or (
            compiled.rule.min_coverage and not self._covers(compiled, pool, len(words))
        ):
            return None
        return found

    @staticmethod
    def _covers(compiled: _CompiledRule, hits: Mapping[int, list[Hit]], count: int) -> bool:
        covered: set[int] = set()
        for index in compiled.lists:
            for hit in hits.get(index, ()):
                covered.update(range(hit[0], hit[1]))
        return len(covered) >= compiled.rule.min_coverage * max(1, count)
