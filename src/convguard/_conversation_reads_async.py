"""What a conversation handle reads, written once: ``_AsyncConversationReads``.

The base of :class:`~convguard.AsyncConversation` (``_conversation_async.py``,
the turns). This is the source of ``_conversation_reads.py``
(``_ConversationReads``, the base of ``Conversation``): ``scripts/unasync.py``
writes it from this file. Edit here, then run ``python scripts/unasync.py``.

Everything that reads the store is a method (``conv.ended()``), not a
property, in both front ends: a read is a query, and forgetting the call (or
the ``await``) is a type error rather than an always-true value. Every read
asks the store, so several workers can hold the same conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._policy import PolicyState
from ._tree import Branch, ConversationTree, Message
from .stores._listing import check_limit

if TYPE_CHECKING:
    from ._front_async import _AsyncGuardBase
    from ._records import ConversationRecord
    from .stores._base import Head

__all__ = ["_AsyncConversationReads"]


class _AsyncConversationReads:
    """A conversation's identity and its reads; the subclass brings the turns."""

    __slots__ = ("_guard", "_known", "_locale", "_path", "id")

    def __init__(
        self, guard: _AsyncGuardBase, conversation_id: str, locale: str | None = None
    ) -> None:
        """Bind a stored conversation to a guard (use ``AsyncGuard.start``/``open``)."""
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
        if not isinstance(other, _AsyncConversationReads):
            return NotImplemented
        return self.id == other.id and self._guard is other._guard

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    # -- reading --------------------------------------------------------------

    async def tip(self) -> Message | None:
        """Return the active tip, ``None`` before the first message."""
        head = await self._guard._store.head(self.id)
        return head.tip

    async def state(self) -> PolicyState:
        """Return the policy state at the active tip."""
        return self._guard._engine.state_of(await self.tip())

    async def ended(self) -> bool:
        """Return whether the active tip is ended (nothing more can be sent there)."""
        tip = await self.tip()
        return tip is not None and tip.ended

    async def closed(self) -> bool:
        """Return whether ``max_ended_branches`` closed the whole conversation.

        Never while the conversation remembers risk.
        """
        guard = self._guard
        return guard._engine.closed(await guard._store.head(self.id))

    async def at_risk(self) -> bool:
        """Return whether some message, on any branch, carried protective evidence."""
        guard = self._guard
        return (await guard._store.head(self.id)).at_risk

    async def get(self, message_id: str) -> Message:
        """Return one message of the conversation.

        Raises:
            UnknownMessageError: When it is not in this conversation.
        """
        return await self._guard._store.get(self.id, message_id)

    async def path(
        self, message_id: str | None = None, *, limit: int | None = None
    ) -> list[Message]:
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
            tip = await self.tip()
            if tip is None:
                return []
            message_id = tip.id
        out = await self._guard._store.ancestors(self.id, message_id, limit)
        out.reverse()
        return out

    async def messages(self) -> list[Message]:
        """Return every message of every branch, parents before children."""
        return await self._guard._store.messages(self.id)

    async def tree(self) -> ConversationTree:
        """Return a snapshot of the whole tree, with the active tip."""
        store = self._guard._store
        head = await store.head(self.id)
        messages = await store.messages(self.id)
        tree = ConversationTree(self.id)
        for message in messages:
            tree.add(message, move_tip=False)
        if head.tip is not None:
            tree.switch(head.tip.id)
        return tree

    async def branches(self) -> list[Branch]:
        """Return every branch (root to leaf), in the order their leaves were added."""
        tree = await self.tree()
        return tree.branches()

    async def export(self) -> ConversationRecord:
        """Return the whole conversation as a record (lossless JSON round trip)."""
        from ._records import export  # noqa: PLC0415 - records load on first use

        store = self._guard._store
        info = await store.info(self.id)
        return export(info, await store.messages(self.id), await store.feedback(self.id))
