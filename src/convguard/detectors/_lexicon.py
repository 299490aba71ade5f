"""Lexicons: named lists of terms, the rules that combine them, and allowlists.

A lexicon is a set of named *lists* of terms (each term one or more words,
with a weight), *rules* that say which lists must occur together, and within
how many words, for a category to be found, and *allowlist* phrases that
cancel a match ("kill the process"). The data lives in TOML files; the
packaged ones are in ``convguard/detectors/data``, and users extend or replace
them (see ``docs/detectors.md`` for the format). This module reads and checks
them; :mod:`._lexicon_detector` compiles one into a matcher. Terms are
literal words, never regular expressions; the optional ``patterns`` of a
list are regular expressions checked when loaded (:mod:`._regex_safety`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, NamedTuple, final

from attrs import frozen

from .._errors import ConfigurationError
from ._regex_safety import check_pattern

__all__ = [
    "TOKEN",
    "Lexicon",
    "Rule",
    "checked_number",
    "common_words",
    "expand",
    "packaged_lexicon",
    "packaged_vocabulary",
    "words_of",
]

TOKEN: Final = re.compile(r"[^\W_]+")
"""A word of the normalized text."""

_BRACES: Final = re.compile(r"\{([^{}]*)\}")
_RANGE: Final = re.compile(r"(\d+)\.\.(\d+)")
_MAX_EXPANSIONS: Final = 2000
_DATA_PACKAGE: Final = "convguard.detectors"


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
    return tuple(TOKEN.findall(folded))


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


def checked_number(value: object, label: str, low: float, high: float) -> float:
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
    default = checked_number(
        spec.get("weight", 1.0), f"{source}: weight of list {name!r}", 0.0, 1.0
    )
    terms: list[_Term] = []
    for entry in spec.get("terms", ()):
        if isinstance(entry, str):
            text, weight = entry, default
        elif isinstance(entry, Mapping) and isinstance(entry.get("term"), str):
            text = entry["term"]
            weight = checked_number(
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
        weight=checked_number(spec.get("weight", 0.9), f"{source}: rule {index} weight", 0.0, 1.0),
        window=window,
        ordered=bool(spec.get("ordered", False)),
        unless=_names(spec.get("unless", ()), f"{source}: rule {index} 'unless'"),
        breaks=_names(spec.get("breaks", ()), f"{source}: rule {index} 'breaks'"),
        min_coverage=checked_number(
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
    return frozenset(packaged_lexicon().vocabulary() | common_words())


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    text = resources.files(_DATA_PACKAGE).joinpath("data/words.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() for w in line.split("#", 1)[0].split())
