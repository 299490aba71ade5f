"""Score detectors against labelled files: the engine of ``convguard eval``.

Two kinds of JSON Lines file are read:

- *items*: one message per line, ``{"id", "text", "labels": [...]}``, as in
  the shared ``dev.jsonl``. Scored per category: precision, recall, F1, the
  false-positive rate on items labelled ``[]``, the worst misses and false
  alarms, and the latency of normalization plus detectors per message.
- *conversations*: ``{"id", "turns": [{"text", "expect"}, ...]}``. Every
  turn is sent through a fresh :class:`~convguard.Guard` conversation with an
  ordinary assistant reply between turns, and the action taken is compared
  with the expected one.

Besides the per-category figures, an items run reports the two that decide
whether a user at risk is kept safe: *ending blocked*, the share of items
labelled with a protective category that carry any protective finding at the
concern threshold or above (such a turn is never ended), and *SUPPORT on
non-protective items*, the share of items labelled ``[]`` or with terminable
categories only that carry a protective finding at the category threshold
(they would be answered with crisis resources they did not need).

``obfuscate=True`` adds leetspeak, zero-width, homoglyph, spacing and
prefixed variants of every labelled item and reports their recall beside the
plain figures.
"""

from __future__ import annotations

import json
import statistics
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, final

from attrs import field, frozen

from ._config import PolicyConfig
from ._errors import FormatError
from ._findings import Finding
from ._taxonomy import PROTECTIVE, TERMINABLE, Category
from .detectors._normalize import normalize
from .detectors._protocols import DetectionContext, Detector

__all__ = [
    "CategoryScore",
    "ConversationReport",
    "EvalItem",
    "EvalReport",
    "Miss",
    "ScriptedConversation",
    "evaluate",
    "evaluate_conversations",
    "load_eval_file",
    "obfuscations",
]

#: The categories a labelled file may carry, in the order reports list them.
EVAL_CATEGORIES: Final = (
    Category.MASS_VIOLENCE.value,
    Category.CHILD_SEXUAL_CONTENT.value,
    Category.ABUSE.value,
    Category.SELF_HARM_RISK.value,
    Category.HARM_TO_OTHERS_RISK.value,
)


def _default_concern_threshold() -> float:
    """Return the default policy's concern threshold (0.3 should it be switched off)."""
    threshold = PolicyConfig().concern_threshold
    return 0.3 if threshold is None else threshold


#: The score from which a protective finding blocks ending (the policy's default).
DEFAULT_CONCERN_THRESHOLD: Final = _default_concern_threshold()
_ACTIONS: Final = frozenset({"allow", "redirect", "warn", "support", "end"})
_WORST: Final = 10

Kind = Literal["items", "conversations"]


@final
@frozen
class EvalItem:
    """One labelled message.

    Attributes:
        id: Its id in the file.
        text: The message.
        labels: The categories it carries (empty: none).
    """

    id: str
    text: str
    labels: frozenset[str]


@final
@frozen
class ScriptedConversation:
    """A scripted conversation: user turns with the action expected on each.

    Attributes:
        id: Its id in the file.
        turns: ``(text, expected action)`` per user turn.
        kind: The file's ``kind`` (``persistent``, ``benign`` …), or ``""``.
    """

    id: str
    turns: tuple[tuple[str, str], ...]
    kind: str = ""


def _fail(path: str, line: int, reason: str) -> FormatError:
    return FormatError(f"line {line}: {reason}", path=path)


def _parse_item(data: Mapping[str, Any], path: str, line: int) -> EvalItem:
    item_id, text, labels = data.get("id"), data.get("text"), data.get("labels")
    if not isinstance(item_id, str) or not item_id:
        raise _fail(path, line, "'id' must be a non-empty string")
    if not isinstance(text, str):
        raise _fail(path, line, "'text' must be a string")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise _fail(path, line, "'labels' must be a list of category strings")
    return EvalItem(item_id, text, frozenset(labels))


def _parse_conversation(data: Mapping[str, Any], path: str, line: int) -> ScriptedConversation:
    conv_id, turns = data.get("id"), data.get("turns")
    if not isinstance(conv_id, str) or not conv_id:
        raise _fail(path, line, "'id' must be a non-empty string")
    if not isinstance(turns, list) or not turns:
        raise _fail(path, line, "'turns' must be a non-empty list")
    parsed: list[tuple[str, str]] = []
    for number, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise _fail(path, line, f"turn {number} must be an object")
        text, expect = turn.get("text"), turn.get("expect")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, line, f"turn {number} needs a non-empty 'text'")
        if expect not in _ACTIONS:
            raise _fail(
                path,
                line,
                f"turn {number} 'expect' must be one of {sorted(_ACTIONS)}, not {expect!r}",
            )
        parsed.append((text, str(expect)))
    kind = data.get("kind", "")
    return ScriptedConversation(conv_id, tuple(parsed), kind if isinstance(kind, str) else "")


def _json_object(raw: str, path: str, line: int) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(path, line, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise _fail(path, line, "each line must be a JSON object")
    return data


def load_eval_file(
    path: str | Path,
) -> tuple[Kind, list[EvalItem] | list[ScriptedConversation]]:
    """Read a labelled items file or a scripted conversations file.

    The kind is told by the first record: one with ``turns`` makes the file a
    conversations file.

    Args:
        path: The JSON Lines file.

    Returns:
        ``("items", items)`` or ``("conversations", conversations)``.

    Raises:
        FormatError: Naming the file and line, for a file that cannot be read,
            a line that is not a JSON object, a record missing a field, a
            duplicate id, or records of both kinds.
    """
    name = str(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the file: {exc}"
        raise FormatError(msg, path=name) from exc
    kind: Kind | None = None
    items: list[EvalItem] = []
    conversations: list[ScriptedConversation] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        data = _json_object(raw, name, number)
        this: Kind = "conversations" if "turns" in data else "items"
        if kind is None:
            kind = this
        elif kind != this:
            raise _fail(name, number, f"a file of {kind} cannot hold {this} too")
        if this == "items":
            item = _parse_item(data, name, number)
            record_id = item.id
            items.append(item)
        else:
            conversation = _parse_conversation(data, name, number)
            record_id = conversation.id
            conversations.append(conversation)
        if record_id in seen:
            raise _fail(name, number, f"duplicate id {record_id!r}")
        seen.add(record_id)
    if kind is None:
        msg = "the file holds no records"
        raise FormatError(msg, path=name)
    return (kind, items) if kind == "items" else (kind, conversations)


# -- obfuscation --------------------------------------------------------------

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
_VARIANTS: Final[Mapping[str, Callable[[str], str]]] = {
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
    return {name: function(text) for name, function in _VARIANTS.items()}


# -- scoring items ------------------------------------------------------------


@final
@frozen
class CategoryScore:
    """How well one category was found.

    Attributes:
        category: The category.
        support: Items labelled with it.
        true_positives: Of those, how many were flagged with it.
        false_positives: Items flagged with it that do not carry it.
        precision: ``tp / (tp + fp)`` (1.0 when nothing was flagged).
        recall: ``tp / support`` (1.0 when nothing carries it).
        f1: The harmonic mean of precision and recall.
        variant_recall: Recall on each obfuscated variant, when asked for.
    """

    category: str
    support: int
    true_positives: int
    false_positives: int
    precision: float
    recall: float
    f1: float
    variant_recall: Mapping[str, float] = field(factory=dict)


@final
@frozen
class Miss:
    """An item the detectors got wrong.

    Attributes:
        id: The item's id.
        text: The message (as scored: the variant text for an obfuscated miss).
        category: The category missed or raised wrongly.
        score: The best score given to that category (0 when none).
        variant: ``"plain"`` or the obfuscation variant.
        evidence: What a false alarm matched, in words.
    """

    id: str
    text: str
    category: str
    score: float
    variant: str = "plain"
    evidence: str = ""


@final
@frozen
class EvalReport:
    """The figures of one run over a labelled items file.

    Attributes:
        items: How many items were scored.
        negatives: How many were labelled ``[]``.
        categories: One score per category, in report order.
        false_positive_rate: Share of ``[]`` items flagged with any
            terminable category.
        protective_false_positive_rate: Share of ``[]`` items flagged with
            any protective category.
        misses: The worst misses (labelled, not flagged), lowest score first.
        false_alarms: The worst false alarms, highest score first.
        latency_median_us: Median microseconds per message (normalization and
            every detector).
        latency_p99_us: The 99th percentile.
        threshold: The score a finding needed to count.
        variants: The obfuscation variants scored (empty when none).
        errors: Detector failures, as ``"detector: message"``.
        concern_threshold: The score from which a protective finding blocks
            ending.
        protective_items: Items labelled with a protective category.
        ending_blocked: Share of those with any protective finding at
            ``concern_threshold`` or above (any protective category counts:
            either blocks ending).
        ending_blocked_by_category: The same share per protective category,
            over the items labelled with it.
        non_protective_items: Items labelled ``[]`` or terminable only.
        support_on_non_protective: Share of those with a protective finding
            at ``threshold`` or above (answered with SUPPORT).
        blocked_on_non_protective: Share of those with a protective finding at
            ``concern_threshold`` or above (an end the user earned would be
            blocked).
    """

    items: int
    negatives: int
    categories: tuple[CategoryScore, ...]
    false_positive_rate: float
    protective_false_positive_rate: float
    misses: tuple[Miss, ...]
    false_alarms: tuple[Miss, ...]
    latency_median_us: float
    latency_p99_us: float
    threshold: float
    variants: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    concern_threshold: float = DEFAULT_CONCERN_THRESHOLD
    protective_items: int = 0
    ending_blocked: float = 1.0
    ending_blocked_by_category: Mapping[str, float] = field(factory=dict)
    non_protective_items: int = 0
    support_on_non_protective: float = 0.0
    blocked_on_non_protective: float = 0.0

    def category(self, name: str) -> CategoryScore:
        """Return the score of one category.

        Raises:
            KeyError: If the report has no such category.
        """
        for score in self.categories:
            if score.category == name:
                return score
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return {
            "kind": "items",
            "items": self.items,
            "negatives": self.negatives,
            "threshold": self.threshold,
            "false_positive_rate": self.false_positive_rate,
            "protective_false_positive_rate": self.protective_false_positive_rate,
            "concern_threshold": self.concern_threshold,
            "ending_blocked": {
                "items": self.protective_items,
                "rate": self.ending_blocked,
                "by_category": dict(self.ending_blocked_by_category),
            },
            "non_protective": {
                "items": self.non_protective_items,
                "support_rate": self.support_on_non_protective,
                "ending_blocked_rate": self.blocked_on_non_protective,
            },
            "latency_us": {"median": self.latency_median_us, "p99": self.latency_p99_us},
            "variants": list(self.variants),
            "categories": {
                c.category: {
                    "support": c.support,
                    "true_positives": c.true_positives,
                    "false_positives": c.false_positives,
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "variant_recall": dict(c.variant_recall),
                }
                for c in self.categories
            },
            "misses": [_miss_dict(m) for m in self.misses],
            "false_alarms": [_miss_dict(m) for m in self.false_alarms],
            "errors": list(self.errors),
        }


def _miss_dict(miss: Miss) -> dict[str, Any]:
    return {
        "id": miss.id,
        "text": miss.text,
        "category": miss.category,
        "score": miss.score,
        "variant": miss.variant,
        "evidence": miss.evidence,
    }


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _run(
    detectors: Sequence[Detector], text: str, errors: list[str]
) -> tuple[dict[str, tuple[float, str]], float]:
    """Return category -> (best score, evidence) and the microseconds taken."""
    start = time.perf_counter()
    context = DetectionContext(text, normalizer=normalize)
    findings: list[Finding] = []
    for detector in detectors:
        try:
            findings.extend(detector.detect(text, context))
        except Exception as exc:  # noqa: BLE001 - a detector's failure is reported, not raised
            errors.append(f"{getattr(detector, 'name', detector)!s}: {type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - start) * 1e6
    best: dict[str, tuple[float, str]] = {}
    for finding in findings:
        current = best.get(finding.category)
        if current is None or finding.score > current[0]:
            term = finding.evidence.term if finding.evidence is not None else finding.detector
            best[finding.category] = (finding.score, term)
    return best, elapsed


def _ratio(numerator: int, denominator: int, empty: float) -> float:
    return numerator / denominator if denominator else empty


def _score_variants(  # noqa: PLR0913 - the tallies of one run
    item: EvalItem,
    detectors: Sequence[Detector],
    threshold: float,
    variant_hits: dict[str, dict[str, int]],
    misses: list[Miss],
    errors: list[str],
) -> None:
    for variant, text in obfuscations(item.text).items():
        found, _ = _run(detectors, text, errors)
        for category in item.labels:
            score = found.get(category, (0.0, ""))[0]
            if score >= threshold:
                variant_hits[category][variant] += 1
            else:
                misses.append(Miss(item.id, text, category, score, variant))


class _Blocking:
    """The tallies behind "ending blocked" and "SUPPORT on non-protective items"."""

    __slots__ = (
        "blocked",
        "blocked_in",
        "labelled",
        "others",
        "others_blocked",
        "others_supported",
        "protective",
    )

    def __init__(self) -> None:
        self.protective = self.blocked = 0
        self.others = self.others_blocked = self.others_supported = 0
        self.labelled: dict[str, int] = {}
        self.blocked_in: dict[str, int] = {}

    def add(
        self,
        item: EvalItem,
        best: Mapping[str, tuple[float, str]],
        threshold: float,
        concern_threshold: float,
    ) -> None:
        top = max((best[c][0] for c in PROTECTIVE if c in best), default=0.0)
        blocked = top >= concern_threshold
        protective_labels = [str(c) for c in item.labels & PROTECTIVE]
        if protective_labels:
            self.protective += 1
            self.blocked += blocked
            for category in protective_labels:
                self.labelled[category] = self.labelled.get(category, 0) + 1
                self.blocked_in[category] = self.blocked_in.get(category, 0) + blocked
        else:
            self.others += 1
            self.others_blocked += blocked
            self.others_supported += top >= threshold


def evaluate(  # noqa: PLR0913 - options after the star, each with a default
    items: Sequence[EvalItem],
    detectors: Sequence[Detector],
    *,
    obfuscate: bool = False,
    threshold: float = 0.5,
    concern_threshold: float = DEFAULT_CONCERN_THRESHOLD,
    progress: Callable[[Iterable[EvalItem]], Iterator[EvalItem]] | None = None,
) -> EvalReport:
    """Score *detectors* on labelled *items*.

    Args:
        items: The labelled messages.
        detectors: The detectors, run in order on a fresh context per message.
        obfuscate: Also score the obfuscated variants of every labelled item.
        threshold: The score a finding needs to count.
        concern_threshold: The score from which a protective finding blocks
            ending (for the "ending blocked" figures).
        progress: Wraps the item iterator (for a progress bar).

    Returns:
        The report.
    """
    categories = list(EVAL_CATEGORIES)
    extra = sorted({label for item in items for label in item.labels} - set(categories))
    categories.extend(extra)
    tp = dict.fromkeys(categories, 0)
    fp = dict.fromkeys(categories, 0)
    support = dict.fromkeys(categories, 0)
    variant_hits: dict[str, dict[str, int]] = {c: dict.fromkeys(_VARIANTS, 0) for c in categories}
    latencies: list[float] = []
    misses: list[Miss] = []
    alarms: list[Miss] = []
    errors: list[str] = []
    negatives = flagged_terminable = flagged_protective = 0
    blocking = _Blocking()
    iterator: Iterable[EvalItem] = items if progress is None else progress(items)
    for item in iterator:
        best, elapsed = _run(detectors, item.text, errors)
        latencies.append(elapsed)
        flagged = {c for c, (score, _) in best.items() if score >= threshold}
        if not item.labels:
            negatives += 1
            flagged_terminable += bool(flagged & TERMINABLE)
            flagged_protective += bool(flagged & PROTECTIVE)
        blocking.add(item, best, threshold, concern_threshold)
        for category in categories:
            labelled = category in item.labels
            support[category] += labelled
            if category in flagged:
                if labelled:
                    tp[category] += 1
                else:
                    fp[category] += 1
                    score, term = best[category]
                    alarms.append(Miss(item.id, item.text, category, score, evidence=term))
            elif labelled:
                misses.append(Miss(item.id, item.text, category, best.get(category, (0.0, ""))[0]))
        if obfuscate and item.labels:
            _score_variants(item, detectors, threshold, variant_hits, misses, errors)
    scores: list[CategoryScore] = []
    for category in categories:
        precision = _ratio(tp[category], tp[category] + fp[category], 1.0)
        recall = _ratio(tp[category], support[category], 1.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        variant_recall = (
            {v: _ratio(n, support[category], 1.0) for v, n in variant_hits[category].items()}
            if obfuscate
            else {}
        )
        scores.append(
            CategoryScore(
                category,
                support[category],
                tp[category],
                fp[category],
                precision,
                recall,
                f1,
                variant_recall,
            )
        )
    misses.sort(key=lambda m: (m.variant != "plain", m.score, m.id))
    alarms.sort(key=lambda m: (-m.score, m.id))
    return EvalReport(
        items=len(latencies),
        negatives=negatives,
        categories=tuple(scores),
        false_positive_rate=_ratio(flagged_terminable, negatives, 0.0),
        protective_false_positive_rate=_ratio(flagged_protective, negatives, 0.0),
        misses=tuple(misses[:_WORST]),
        false_alarms=tuple(alarms[:_WORST]),
        latency_median_us=statistics.median(latencies) if latencies else 0.0,
        latency_p99_us=_percentile(latencies, 0.99),
        threshold=threshold,
        variants=tuple(_VARIANTS) if obfuscate else (),
        errors=tuple(dict.fromkeys(errors))[:_WORST],
        concern_threshold=concern_threshold,
        protective_items=blocking.protective,
        ending_blocked=_ratio(blocking.blocked, blocking.protective, 1.0),
        ending_blocked_by_category={
            category: _ratio(blocking.blocked_in[category], blocking.labelled[category], 1.0)
            for category in categories
            if category in blocking.labelled
        },
        non_protective_items=blocking.others,
        support_on_non_protective=_ratio(blocking.others_supported, blocking.others, 0.0),
        blocked_on_non_protective=_ratio(blocking.others_blocked, blocking.others, 0.0),
    )


# -- scoring conversations ----------------------------------------------------


@final
@frozen
class TurnResult:
    """One scripted turn as the guard judged it.

    Attributes:
        conversation: The conversation's id.
        turn: The turn's index.
        text: The user's message.
        expected: The expected action.
        actual: The action taken.
    """

    conversation: str
    turn: int
    text: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        """Whether the action was the expected one."""
        return self.expected == self.actual


@final
@frozen
class ConversationReport:
    """The figures of one run over a scripted conversations file.

    Attributes:
        conversations: How many conversations were played.
        turns: Every turn's result, in order.
        latency_median_us: Median microseconds per guard turn.
        latency_p99_us: The 99th percentile.
    """

    conversations: int
    turns: tuple[TurnResult, ...]
    latency_median_us: float
    latency_p99_us: float

    @property
    def accuracy(self) -> float:
        """Share of turns whose action was the expected one."""
        return _ratio(sum(t.ok for t in self.turns), len(self.turns), 1.0)

    @property
    def conversation_accuracy(self) -> float:
        """Share of conversations with every turn as expected."""
        failed = {t.conversation for t in self.turns if not t.ok}
        return _ratio(self.conversations - len(failed), self.conversations, 1.0)

    @property
    def mismatches(self) -> tuple[TurnResult, ...]:
        """The turns whose action was not the expected one."""
        return tuple(t for t in self.turns if not t.ok)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return {
            "kind": "conversations",
            "conversations": self.conversations,
            "turns": len(self.turns),
            "accuracy": self.accuracy,
            "conversation_accuracy": self.conversation_accuracy,
            "latency_us": {"median": self.latency_median_us, "p99": self.latency_p99_us},
            "mismatches": [
                {
                    "conversation": t.conversation,
                    "turn": t.turn,
                    "text": t.text,
                    "expected": t.expected,
                    "actual": t.actual,
                }
                for t in self.mismatches
            ],
        }


ORDINARY_REPLY: Final = "Thanks for your message. Here is what I can say about that."
"""The assistant reply sent between scripted user turns."""


def evaluate_conversations(
    conversations: Sequence[ScriptedConversation],
    detectors: Sequence[Detector] | None = None,
    *,
    progress: Callable[[Iterable[ScriptedConversation]], Iterator[ScriptedConversation]]
    | None = None,
) -> ConversationReport:
    """Play scripted conversations through a default :class:`~convguard.Guard`.

    Each conversation starts fresh; every user turn but the first follows an
    ordinary assistant reply; a conversation stops at its first END.

    Args:
        conversations: The scripts.
        detectors: The detectors (the built-in set when omitted).
        progress: Wraps the conversation iterator (for a progress bar).

    Returns:
        The report.
    """
    from ._guard import Guard  # noqa: PLC0415 - the guard imports this package's siblings

    guard = Guard(detectors=detectors)
    results: list[TurnResult] = []
    latencies: list[float] = []
    iterator: Iterable[ScriptedConversation] = (
        conversations if progress is None else progress(conversations)
    )
    for script in iterator:
        conversation = guard.start()
        for index, (text, expected) in enumerate(script.turns):
            if index:
                conversation.reply(ORDINARY_REPLY)
            start = time.perf_counter()
            verdict = conversation.send(text)
            latencies.append((time.perf_counter() - start) * 1e6)
            actual = str(verdict.action)
            results.append(TurnResult(script.id, index, text, expected, actual))
            if verdict.ended:
                break
    return ConversationReport(
        conversations=len(conversations),
        turns=tuple(results),
        latency_median_us=statistics.median(latencies) if latencies else 0.0,
        latency_p99_us=_percentile(latencies, 0.99),
    )
