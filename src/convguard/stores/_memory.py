"""``MemoryStore``: conversations in a dict, guarded by a lock."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, final

from .._errors import (
    InvalidOperationError,
    StoreConflictError,
    UnknownConversationError,
)
from .._tree import EMPTY_METADATA, ConversationTree, Message, Role, check_id
from ._base import ConversationInfo, ConversationPage, Feedback, Head
from ._listing import (
    check_batch,
    check_cutoff,
    check_limit,
    dump_cursor,
    epoch_us,
    filter_tags,
    from_epoch_us,
    load_cursor,
    metadata_tags,
    title_of,
)

__all__ = ["MemoryStore"]


def _activity(row: tuple[int, int, str, _Entry]) -> tuple[int, int]:
    return row[0], row[1]


@final
class _Entry:
    __slots__ = ("created_at", "metadata", "seq", "tags", "title", "tree", "updated_us", "version")

    def __init__(
        self,
        tree: ConversationTree,
        created_at: datetime,
        metadata: Mapping[str, Any],
        seq: int,
    ) -> None:
        self.tree = tree
        self.created_at = created_at
        self.metadata = metadata
        self.version = 0
        self.seq = seq
        self.tags = frozenset(metadata_tags(metadata))
        messages = list(tree)
        self.title = title_of(messages)
        self.updated_us = max([epoch_us(created_at), *(epoch_us(m.created_at) for m in messages)])

    def info(self, conversation_id: str) -> ConversationInfo:
        title = self.metadata.get("title")
        return ConversationInfo(
            id=conversation_id,
            created_at=self.created_at,
            metadata=self.metadata,
            version=self.version,
            tip_id=self.tree.tip_id,
            ended_branches=self.tree.ended_branches,
            message_count=len(self.tree),
            at_risk=self.tree.at_risk,
            updated_at=from_epoch_us(self.updated_us),
            title=title if isinstance(title, str) else self.title,
        )


@final
class MemoryStore:
    """Keep conversations in memory: fast, thread-safe, gone at exit.

    The default store, for tests and for backends that keep conversations
    elsewhere. Use :class:`~convguard.SQLiteStore` for anything that must
    survive a restart.
    """

    __slots__ = ("_conversations", "_feedback", "_lock", "_seq", "_tagged")

    def __init__(self) -> None:
        """Start empty."""
        self._conversations: dict[str, _Entry] = {}
        self._feedback: list[Feedback] = []
        self._lock = threading.Lock()
        self._seq = 0
        # The ids holding each metadata tag, so a user's listing reads only theirs.
        self._tagged: dict[tuple[str, str], set[str]] = {}

    def __repr__(self) -> str:
        """Show how many conversations it holds."""
        return f"<MemoryStore conversations={len(self._conversations)}>"

    def _entry(self, conversation_id: str) -> _Entry:
        try:
            return self._conversations[conversation_id]
        except (KeyError, TypeError):
            if not isinstance(conversation_id, str):
                check_id(conversation_id, "conversation id")
            raise UnknownConversationError(str(conversation_id)) from None

    def create(
        self,
        conversation_id: str,
        *,
        created_at: datetime,
        metadata: Mapping[str, Any] = EMPTY_METADATA,
        messages: Sequence[Message] = (),
        tip_id: str | None = None,
    ) -> None:
        """Create a conversation, optionally with a whole tree (parents first)."""
        check_id(conversation_id, "conversation id")
        tree = ConversationTree(conversation_id)
        for message in messages:  # validated before the store sees the tree
            tree.add(message, move_tip=False)
        if tip_id is not None:
            tree.switch(tip_id)
        elif messages:
            tree.switch(messages[-1].id)
        with self._lock:
            if conversation_id in self._conversations:
                msg = f"conversation {conversation_id!r} already exists"
                raise InvalidOperationError(msg)
            self._seq += 1
            entry = _Entry(tree, created_at, metadata, self._seq)
            self._conversations[conversation_id] = entry
            for tag in entry.tags:
                self._tagged.setdefault(tag, set()).add(conversation_id)

    def head(self, conversation_id: str) -> Head:
        """Return the version, the tip and the ended-branch count."""
        with self._lock:
            entry = self._entry(conversation_id)
            tree = entry.tree
            return Head(conversation_id, entry.version, tree.tip, tree.ended_branches, tree.at_risk)

    def info(self, conversation_id: str) -> ConversationInfo:
        """Return the conversation's bookkeeping."""
        with self._lock:
            return self._entry(conversation_id).info(conversation_id)

    def get(self, conversation_id: str, message_id: str) -> Message:
        """Return one message."""
        with self._lock:
            return self._entry(conversation_id).tree.get(message_id)

    def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[Message]:
        """Return *message_id* and up to ``limit - 1`` ancestors, nearest first."""
        with self._lock:
            return self._entry(conversation_id).tree.ancestors(message_id, limit)

    def messages(self, conversation_id: str) -> list[Message]:
        """Return every message, parents before children."""
        with self._lock:
            return list(self._entry(conversation_id).tree)

    def append(
        self,
        conversation_id: str,
        message: Message,
        *,
        expected_version: int,
        move_tip: bool = True,
    ) -> int:
        """Add *message* if the conversation is still at *expected_version*."""
        with self._lock:
            entry = self._entry(conversation_id)
            if entry.version != expected_version:
                raise StoreConflictError(
                    conversation_id,
                    f"expected version {expected_version}, found {entry.version}",
                )
            entry.tree.add(message, move_tip=move_tip)
            entry.version += 1
            entry.updated_us = epoch_us(message.created_at)
            if entry.title is None and message.role is Role.USER:
                entry.title = title_of([message])
            return entry.version

    def switch(self, conversation_id: str, message_id: str) -> int:
        """Make *message_id* the active tip."""
        with self._lock:
            entry = self._entry(conversation_id)
            entry.tree.switch(message_id)
            entry.version += 1
            return entry.version

    def add_feedback(self, feedback: Feedback) -> None:
        """Keep a feedback record."""
        with self._lock:
            self._entry(feedback.conversation_id)
            self._feedback.append(feedback)

    def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """Return feedback records, oldest first, of one or every conversation."""
        with self._lock:
            return [
                f
                for f in self._feedback
                if conversation_id is None or f.conversation_id == conversation_id
            ]

    def conversations(self) -> list[str]:
        """Return every conversation id, oldest first."""
        with self._lock:
            return list(self._conversations)

    def list_conversations(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversationPage:
        """Return conversations by last activity, newest first, a page at a time."""
        tags = filter_tags(metadata)
        limit = check_limit(limit)
        cursor = load_cursor(after)
        with self._lock:
            ids: Iterable[str] = self._conversations
            if tags:
                smallest: set[str] = min((self._tagged.get(tag, set()) for tag in tags), key=len)
                ids = smallest
            found = (
                (entry.updated_us, entry.seq, cid, entry)
                for cid in ids
                if (entry := self._conversations[cid]).tags.issuperset(tags)
                and (cursor is None or (entry.updated_us, entry.seq) < cursor)
            )
            rows = (
                sorted(found, key=_activity, reverse=True)
                if limit is None
                else heapq.nlargest(limit + 1, found, key=_activity)
            )
            page = rows if limit is None else rows[:limit]
            items = tuple(entry.info(cid) for _, _, cid, entry in page)
        more = limit is not None and len(rows) > limit
        return ConversationPage(items, dump_cursor(page[-1][0], page[-1][1]) if more else None)

    def delete(self, conversation_id: str) -> None:
        """Erase a conversation with its messages and feedback."""
        with self._lock:
            self._entry(conversation_id)
            self._erase({conversation_id})

    def purge(self, older_than: datetime, *, limit: int) -> int:
        """Erase up to *limit* conversations idle since *older_than*, oldest first."""
        cutoff = check_cutoff(older_than)
        bound = check_batch(limit)
        with self._lock:
            idle = sorted(
                (entry.updated_us, entry.seq, cid)
                for cid, entry in self._conversations.items()
                if entry.updated_us < cutoff
            )[:bound]
            self._erase({cid for _, _, cid in idle})
        return len(idle)

    def _erase(self, ids: set[str]) -> None:
        for conversation_id in ids:
            entry = self._conversations.pop(conversation_id)
            for tag in entry.tags:
                self._tagged[tag].discard(conversation_id)
                if not self._tagged[tag]:
                    del self._tagged[tag]
        self._feedback = [f for f in self._feedback if f.conversation_id not in ids]

    def close(self) -> None:
        """Do nothing: memory is released with the store."""
