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

This module scores items; the files are read in :mod:`._eval_files`, the
variants made in :mod:`._obfuscate`, and conversations scored in
:mod:`._eval_conversations`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, final

from attrs import field, frozen

from ._config import PolicyConfig
from ._eval_files import EvalItem
from ._findings import Finding
from ._obfuscate import VARIANTS, obfuscations
from ._taxonomy import PROTECTIVE, TERMINABLE, Category
from .detectors._normalize import normalize
from .detectors._protocols import DetectionContext, Detector

__all__ = [
    "DEFAULT_CONCERN_THRESHOLD",
    "EVAL_CATEGORIES",
    "CategoryScore",
    "EvalReport",
    "Miss",
    "evaluate",
    "percentile",
    "ratio",
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
_WORST: Final = 10


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


def percentile(values: Sequence[float], share: float) -> float:
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


def ratio(numerator: int, denominator: int, empty: float) -> float:
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
    variant_hits: dict[str, dict[str, int]] = {c: dict.fromkeys(VARIANTS, 0) for c in categories}
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
        precision = ratio(tp[category], tp[category] + fp[category], 1.0)
        recall = ratio(tp[category], support[category], 1.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        variant_recall = (
            {v: ratio(n, support[category], 1.0) for v, n in variant_hits[category].items()}
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
        false_positive_rate=ratio(flagged_terminable, negatives, 0.0),
        protective_false_positive_rate=ratio(flagged_protective, negatives, 0.0),
        misses=tuple(misses[:_WORST]),
        false_alarms=tuple(alarms[:_WORST]),
        latency_median_us=statistics.median(latencies) if latencies else 0.0,
        latency_p99_us=percentile(latencies, 0.99),
        threshold=threshold,
        variants=tuple(VARIANTS) if obfuscate else (),
        errors=tuple(dict.fromkeys(errors))[:_WORST],
        concern_threshold=concern_threshold,
        protective_items=blocking.protective,
        ending_blocked=ratio(blocking.blocked, blocking.protective, 1.0),
        ending_blocked_by_category={
            category: ratio(blocking.blocked_in[category], blocking.labelled[category], 1.0)
            for category in categories
            if category in blocking.labelled
        },
        non_protective_items=blocking.others,
        support_on_non_protective=ratio(blocking.others_supported, blocking.others, 0.0),
        blocked_on_non_protective=ratio(blocking.others_blocked, blocking.others, 0.0),
    )


# -- scoring conversations ----------------------------------------------------
