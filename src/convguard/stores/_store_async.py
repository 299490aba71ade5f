"""The ``AsyncStore`` protocol: a store whose every call is awaited.

This is the source of ``_store.py`` (the ``Store`` protocol):
``scripts/unasync.py`` writes it from this file. Edit here, then run
``python scripts/unasync.py``; ``make lint`` fails while the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._tree import EMPTY_METADATA, Message

if TYPE_CHECKING:
    from ._base import ConversationInfo, ConversationPage, Feedback, Head

__all__ = ["AsyncStore"]


@runtime_checkable
class AsyncStore(Protocol):
    """**Protocol:** keeps conversation trees, their tips and feedback, awaited.

    Every write is atomic: it lands whole or not at all. Writes that change
    a branch take the version the writer read (compare-and-set): when the
    conversation changed in between, the store raises
    :class:`~convguard.StoreConflictError` and the guard re-reads and
    re-evaluates. A store never puts a node under an ended parent.
    """

    async def create(
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

    async def head(self, conversation_id: str) -> Head:
        """Return the version, the tip and the ended-branch count.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    async def info(self, conversation_id: str) -> ConversationInfo:
        """Return the conversation's bookkeeping.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    async def get(self, conversation_id: str, message_id: str) -> Message:
        """Return one message.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    async def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[Message]:
        """Return *message_id* and up to ``limit - 1`` ancestors, nearest first.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    async def messages(self, conversation_id: str) -> list[Message]:
        """Return every message, parents before children.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    async def append(
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

    async def switch(self, conversation_id: str, message_id: str) -> int:
        """Make *message_id* the active tip.

        Returns:
            The new version.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        ...

    async def add_feedback(self, feedback: Feedback) -> None:
        """Keep a feedback record.

        Raises:
            UnknownConversationError: For an unknown conversation.
        """
        ...

    async def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """Return feedback records, oldest first, of one or every conversation."""
        ...

    async def conversations(self) -> list[str]:
        """Return every conversation id, oldest first."""
        ...

    async def list_conversations(
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

    async def delete(self, conversation_id: str) -> None:
        """Erase a conversation with its messages and feedback.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        ...

    async def purge(self, older_than: datetime, *, limit: int) -> int:
        """Erase up to *limit* conversations idle since *older_than*, oldest first.

        Returns:
            How many were erased; fewer than *limit* when no more are idle.
        """
        ...

    async def close(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...
