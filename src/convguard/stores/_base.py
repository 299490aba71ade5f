"""The values stores hand back; the protocols are in ``_store_async.py`` and ``_store.py``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, final

from attrs import frozen

from .._tree import EMPTY_METADATA, Message

__all__ = ["ConversationInfo", "ConversationPage", "Feedback", "Head"]


@final
@frozen
class Head:
    """What a turn needs to know about a conversation, read in one call.

    Attributes:
        conversation_id: The conversation.
        version: Bumped by every write; compare-and-set checks it.
        tip: The active tip, ``None`` before the first message.
        ended_branches: How many branches have ended.
        at_risk: Some message, on any branch, carried protective evidence
            (written under the same compare-and-set as that message).
    """

    conversation_id: str
    version: int
    tip: Message | None
    ended_branches: int
    at_risk: bool = False


@final
@frozen
class ConversationInfo:
    """A conversation's bookkeeping, without its messages.

    Attributes:
        id: The conversation id.
        created_at: When it was started.
        metadata: Free-form data given at the start.
        version: Bumped by every write.
        tip_id: The active tip.
        ended_branches: How many branches have ended.
        message_count: How many nodes it holds.
        at_risk: Some message, on any branch, carried protective evidence.
        updated_at: Its last activity: when its latest message was stored
            (its start before the first one), in UTC.
        title: ``metadata["title"]`` when that is a string, else the first
            80 characters of the first user message; ``None`` before one.
    """

    id: str
    created_at: datetime
    metadata: Mapping[str, Any]
    version: int
    tip_id: str | None
    ended_branches: int
    message_count: int
    at_risk: bool = False
    updated_at: datetime | None = None
    title: str | None = None


@final
@frozen
class ConversationPage:
    """One page of a conversation listing, newest activity first.

    Iterating a page yields its items.

    Attributes:
        items: The conversations on this page.
        next: Pass it as ``after=`` for the following page; ``None`` on the
            last one.
    """

    items: tuple[ConversationInfo, ...]
    next: str | None = None

    def __iter__(self) -> Iterator[ConversationInfo]:
        """Iterate over the items."""
        return iter(self.items)

    def __len__(self) -> int:
        """Return how many items the page holds."""
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        """The ids of the items, in page order."""
        return [info.id for info in self.items]


@final
@frozen
class Feedback:
    """A user's feedback on a conversation, for operators to review.

    Attributes:
        id: Unique id of the feedback.
        conversation_id: The conversation it is about.
        kind: What kind, e.g. ``"unexpected_end"``.
        comment: The user's words, if any.
        message_id: The message it is about, if any (the tip at the time
            when not given).
        created_at: When it was given.
        metadata: Free-form data from the backend.
    """

    id: str
    conversation_id: str
    kind: str
    comment: str | None
    message_id: str | None
    created_at: datetime
    metadata: Mapping[str, Any] = EMPTY_METADATA
