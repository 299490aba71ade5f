# Written by scripts/unasync.py from _conversation_reads_async.py: edit it, then run the script.
"""What a conversation handle reads, written once: ``_ConversationReads``.

Generated from ``_conversation_reads_async.py`` by ``scripts/unasync.py``; see there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._policy import PolicyState
from ._tree import Branch, ConversationTree, Message
from .stores._listing import check_limit

if TYPE_CHECKING:
    from ._front_sync import _GuardBase
    from ._records import ConversationRecord
    from .stores._base import Head

__all__ = ["_ConversationReads"]


class _ConversationReads:
    """A conversation's identity and its reads; the subclass brings the turns."""

    __slots__ = ("_guard", "_known", "_locale", "_path", "id")

    def __init__(self, guard: _GuardBase, conversation_id: str, locale: str | None = None) -> None:
        """Bind a stored conversation to a guard (use ``Guard.start``/``open``)."""
        self._guard = guard
        self.id = conversation_id
        self._locale = locale
        # The head after this handle's last write: a guess that saves a read.
        self._known: Head | None = None
        # The end of the branch up to its last write (at most history_window
        # messages, root-first): the next turn's history, without a read.
        self._path: tuple[Message, ...] = ()

    def __repr__(self) -> str:
        """Show the id."""
        return f"<{type(self).__name__} {self.id!r}>"

    def __eq__(self, other: object) -> bool:
        """Conversations are equal when they name the same stored one."""
        if not isinstance(other, _ConversationReads):
            return NotImplemented
        return self.id == other.id and self._guard is other._guard

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    # -- reading --------------------------------------------------------------

    def tip(self) -> Message | None:
        """Return the active tip, ``None`` before the first message."""
        head = self._guard._store.head(self.id)
        return head.tip

    def state(self) -> PolicyState:
        """Return the policy state at the active tip."""
        return self._guard._engine.state_of(self.tip())

    def ended(self) -> bool:
        """Return whether the active tip is ended (nothing more can be sent there)."""
        tip = self.tip()
        return tip is not None and tip.ended

    def closed(self) -> bool:
        """Return whether ``max_ended_branches`` closed the whole conversation.

        Never while the conversation remembers risk.
        """
        guard = self._guard
        return guard._engine.closed(guard._store.head(self.id))

    def at_risk(self) -> bool:
        """Return whether some message, on any branch, carried protective evidence."""
        guard = self._guard
        return (guard._store.head(self.id)).at_risk

    def get(self, message_id: str) -> Message:
        """Return one message of the conversation.

        Raises:
            UnknownMessageError: When it is not in this conversation.
        """
        return self._guard._store.get(self.id, message_id)

    def path(self, message_id: str | None = None, *, limit: int | None = None) -> list[Message]:
        """Return the branch from the root to the active tip (or *message_id*).

        Args:
            message_id: Where the branch ends; the active tip when omitted.
            limit: Only the last *limit* messages (still root-first), read at
                a cost that depends on *limit*, not on the branch's depth:
                what a model's prompt needs each turn.

        Raises:
            UnknownMessageError: When *message_id* is not in this conversation.
            InvalidOperationError: For a *limit* that is not a positive int.
        """
        limit = check_limit(limit)
        if message_id is None:
            tip = self.tip()
            if tip is None:
                return []
            message_id = tip.id
        out = self._guard._store.ancestors(self.id, message_id, limit)
        out.reverse()
        return out

    def messages(self) -> list[Message]:
        """Return every message of every branch, parents before children."""
        return self._guard._store.messages(self.id)

    def tree(self) -> ConversationTree:
        """Return a snapshot of the whole tree, with the active tip."""
        store = self._guard._store
        head = store.head(self.id)
        messages = store.messages(self.id)
        tree = ConversationTree(self.id)
        for message in messages:
            tree.add(message, move_tip=False)
        if head.tip is not None:
            tree.switch(head.tip.id)
        return tree

    def branches(self) -> list[Branch]:
        """Return every branch (root to leaf), in the order their leaves were added."""
        tree = self.tree()
        return tree.branches()

    def export(self) -> ConversationRecord:
        """Return the whole conversation as a record (lossless JSON round trip)."""
        from ._records import export  # noqa: PLC0415 - records load on first use

        store = self._guard._store
        info = store.info(self.id)
        return export(info, store.messages(self.id), store.feedback(self.id))
