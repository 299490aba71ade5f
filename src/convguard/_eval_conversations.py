"""Scoring scripted conversations: each turn's action against the expected one."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, final

from attrs import frozen

from ._eval import percentile, ratio
from ._eval_files import ScriptedConversation
from .detectors._protocols import Detector

__all__ = ["ORDINARY_REPLY", "ConversationReport", "TurnResult", "evaluate_conversations"]


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
        return ratio(sum(t.ok for t in self.turns), len(self.turns), 1.0)

    @property
    def conversation_accuracy(self) -> float:
        """Share of conversations with every turn as expected."""
        failed = {t.conversation for t in self.turns if not t.ok}
        return ratio(self.conversations - len(failed), self.conversations, 1.0)

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
        latency_p99_us=percentile(latencies, 0.99),
    )
