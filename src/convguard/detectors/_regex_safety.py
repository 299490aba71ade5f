"""The regex-safety check: refuse a user's regular expression that could backtrack.

A lexicon list may carry ``patterns``, regular expressions matched against
every message. :func:`check_pattern` reads the parse tree that ``re`` builds
(``re._parser``, the only parser of Python's own dialect) and refuses the
shapes that make a backtracking engine take time growing faster than the
message, so a crafted message cannot stall a turn.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Final

from .._errors import ConfigurationError

__all__ = ["check_pattern"]

_MAX_PATTERN_CHARS: Final = 500


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
