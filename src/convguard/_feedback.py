"""Review what users reported, with the verdicts of the branch they refer to.

A team reviewing overreach reads each ``unexpected_end`` report next to the
branch it is about: every user turn's action and reasons, and the end.
"""

from __future__ import annotations

from typing import Final, final

from attrs import frozen

from ._errors import ConvguardError, InvalidOperationError
from ._state import Verdict
from ._tree import Message, Role
from .stores._base import Feedback
from .stores._store import Store

__all__ = ["FeedbackReview", "format_reviews", "review_feedback"]

_EXCERPT: Final = 70


@final
@frozen
class FeedbackReview:
    """One feedback record, with the branch it refers to.

    Attributes:
        feedback: The record.
        path: The branch from the root to the message the feedback is about
            (empty when it names none, or the message is gone).
    """

    feedback: Feedback
    path: tuple[Message, ...]

    @property
    def turns(self) -> tuple[tuple[Message, Verdict], ...]:
        """The user turns and end events of the branch, with their verdicts."""
        return tuple((m, m.verdict) for m in self.path if m.verdict is not None)

    @property
    def ended(self) -> bool:
        """Whether the branch the feedback is about has ended."""
        return bool(self.path) and self.path[-1].ended


def review_feedback(
    store: Store,
    kind: str | None = "unexpected_end",
    *,
    conversation_id: str | None = None,
) -> list[FeedbackReview]:
    """List feedback of one kind with the verdicts of the branch each refers to.

    Args:
        store: Where the conversations and their feedback live.
        kind: The kind to list (``None``: every kind).
        conversation_id: Only this conversation's feedback.

    Returns:
        The reviews, oldest feedback first.

    Raises:
        InvalidOperationError: When *store* is not a store.
        UnknownConversationError: For an unknown *conversation_id*, when the
            store checks it.
    """
    if not isinstance(store, Store):
        msg = f"review_feedback() takes a store, not {type(store).__name__}"
        raise InvalidOperationError(msg)
    reviews = []
    for record in store.feedback(conversation_id):
        if kind is not None and record.kind != kind:
            continue
        path: list[Message] = []
        if record.message_id is not None:
            try:
                path = store.ancestors(record.conversation_id, record.message_id)
            except ConvguardError:
                path = []
            path.reverse()
        reviews.append(FeedbackReview(record, tuple(path)))
    return reviews


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


def format_reviews(reviews: list[FeedbackReview]) -> str:
    """Render reviews as plain text, one block per feedback record.

    Args:
        reviews: From :func:`review_feedback`.

    Returns:
        The text (``"no feedback"`` when there is none).
    """
    if not reviews:
        return "no feedback\n"
    blocks = []
    for review in reviews:
        fb = review.feedback
        lines = [
            f"{fb.kind} on conversation {fb.conversation_id} at {fb.created_at.isoformat()}"
            + (f" (message {fb.message_id})" if fb.message_id else ""),
            f"  comment: {fb.comment}" if fb.comment else "  comment: (none)",
            "  branch: " + ("ended" if review.ended else "open" if review.path else "(not found)"),
        ]
        for message, verdict in review.turns:
            who = "event" if message.role is Role.EVENT else "user"
            lines.append(f"  - {who} {_excerpt(message.content)!r}: {verdict.action.value}")
            lines.extend(f"      {reason}" for reason in verdict.reasons)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
