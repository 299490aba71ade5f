"""The lexicon matcher: a lexicon compiled into one word index, scanned once per message.

Matching reads the normalized text word by word: each word is looked up once
in a word index, where each term is found under its rarest word ("the bot"
under "bot"), so the cost grows with the length of the message, not with the
size of the lexicon. Then each rule whose lists were all hit is tried on the
hits near one another, and the strongest firing rule of each category gives
its finding.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final, final

from attrs import frozen

from .._errors import ConfigurationError
from .._findings import Evidence, Finding
from ._fold import piecewise
from ._frozen import Frozen
from ._lexicon import TOKEN, Lexicon, Rule, checked_number, packaged_lexicon
from ._protocols import DetectionContext
from ._word_index import Node, build_index
from ._words import PUNCTUATION, flat_words, remember_split, sentences, word_starts

__all__ = ["LexiconDetector"]

_MAX_COMBOS: Final = 2000

Hit = tuple[int, int, float, str]
"""A term found in a text: first word, one past the last word, weight, term."""


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
            self._sentence = sentences(self._flat)
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
class LexiconDetector(Frozen):
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
    name: str
    min_score: float
    _lexicon: Lexicon
    _categories: frozenset[str]
    _index: dict[str, Node]
    _patterns: tuple[tuple[int, re.Pattern[str], float], ...]
    _rules: tuple[_CompiledRule, ...]
    _by_list: dict[int, list[_CompiledRule]]
    _allow_ids: dict[str, int]

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
        # Set once here, never again: __setattr__ refuses (see below).
        init = object.__setattr__
        init(self, "name", name)
        init(self, "min_score", checked_number(min_score, "min_score", 0.0, 1.0))
        init(self, "_lexicon", lexicon)
        wanted = lexicon.categories if categories is None else frozenset(map(str, categories))
        missing = wanted - lexicon.categories
        if missing:
            msg = f"the lexicon has no rules for {sorted(missing)}"
            raise ConfigurationError(msg)
        init(self, "_categories", wanted)
        root, ids, patterns, allow_ids = build_index(lexicon, wanted)
        fillers = {
            rule.fillers: frozenset(
                word
                for term in lexicon._lists[rule.fillers].terms  # noqa: SLF001 - one unit
                for word in term.words
            )
            for rule in lexicon.rules
            if rule.fillers
        }
        init(self, "_index", root)
        init(self, "_patterns", patterns)
        # The strongest first: once one fires at its full weight, the weaker
        # rules of its category are skipped unread (see _evaluate).
        rules = tuple(
            sorted(
                (
                    _compile_rule(index, rule, ids, fillers)
                    for index, rule in enumerate(lexicon.rules)
                    if rule.category in wanted
                ),
                key=lambda compiled: (-compiled.rule.weight, -len(compiled.needed), compiled.index),
            )
        )
        init(self, "_rules", rules)
        by_list: dict[int, list[_CompiledRule]] = {}
        for compiled in rules:
            by_list.setdefault(compiled.lists[0], []).append(compiled)
        init(self, "_by_list", by_list)
        init(self, "_allow_ids", allow_ids)

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
        if view.isascii():
            flat = view.translate(PUNCTUATION)
            words = flat.split()
            remember_split(view, words)
        else:
            flat = piecewise(view, flat_words, flat_words)
            words = flat.split()
        hits = self._scan(words)
        if self._patterns:
            spans = [m.span() for m in TOKEN.finditer(view)]
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
        starts = word_starts(flat, itertools.chain.from_iterable(bounds.values()))
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
