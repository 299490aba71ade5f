"""The ``Store`` protocol and the values stores hand back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, final, runtime_checkable

from attrs import frozen

from .._tree import EMPTY_METADATA, Message

__all__ = ["ConversationInfo", "ConversationPage", "Feedback", "Head", "Store"]


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


@runtime_checkable
class Store(Protocol):
    """**Protocol:** keeps conversation trees, their tips and feedback.

    Every write is atomic: it lands whole or not at all. Writes that change
    a branch take the version the writer read (compare-and-set): when the
    conversation changed in between, the store raises
    :class:`~convguard.StoreConflictError` and the guard re-reads and
    re-evaluates. A store never puts a node under an ended parent.
    """

    def create(
        self,
        conversation_id: str,
        *,
        created_at: datetime,
        metadata: Mapping[str, Any] = EMPTY_METADATA,
        messages: Sequence[Message] = (),
        tip_id: str | None = None,
    ) -> None:
        """Create a conversation, optionally with a whole tree (parents first).

        Raises:
            InvalidOperationError: When the id is taken or the tree is invalid.
        """
        ...

    def head(self, conversation_id: str) -> Head:
        """Return the version, the tip and the ended-branch count.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    def info(self, conversation_id: str) -> ConversationInfo:
        """Return the conversation's bookkeeping.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    def get(self, conversation_id: str, message_id: str) -> Message:
        """Return one message.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[Message]:
        """Return *message_id* and up to ``limit - 1`` ancestors, nearest first.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    def messages(self, conversation_id: str) -> list[Message]:
        """Return every message, parents before children.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    def append(
        self,
        conversation_id: str,
        message: Message,
        *,
        expected_version: int,
        move_tip: bool = True,
    ) -> int:
        """Add *message* if the conversation is still at *expected_version*.

        Returns:
            The new version.

        Raises:
            StoreConflictError: When the version moved on.
            ConversationEndedError: When the parent is ended.
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: When the parent is not in the conversation.
        """
        ...

    def switch(self, conversation_id: str, message_id: str) -> int:
        """Make *message_id* the active tip.

        Returns:
            The new version.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    def add_feedback(self, feedback: Feedback) -> None:
        """Keep a feedback record.

        Raises:
            UnknownConversationError: For an unknown conversation.
        """
        ...

    def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """Return feedback records, oldest first, of one or every conversation."""
        ...

    def conversations(self) -> list[str]:
        """Return every conversation id, oldest first."""
        ...

    def list_conversations(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversationPage:
        """Return conversations by last activity, newest first, a page at a time.

        Args:
            metadata: Only conversations whose metadata holds every one of
                these entries (str, int, bool or ``None`` values).
            limit: The page size; ``None`` for every match.
            after: The previous page's ``next`` cursor.

        Raises:
            InvalidOperationError: For a bad filter, limit or cursor.
        """
        ...

    def delete(self, conversation_id: str) -> None:
        """Erase a conversation with its messages and feedback.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    def purge(self, older_than: datetime, *, limit: int) -> int:
        """Erase up to *limit* conversations idle since *older_than*, oldest first.

        Returns:
            How many were erased; fewer than *limit* when no more are idle.
        """
        ...

    def close(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...
