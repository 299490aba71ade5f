"""``StoreInThreads``: a sync :class:`~convguard.Store` behind the ``AsyncStore`` protocol.

``AsyncGuard`` awaits every store call. A store with native asyncio I/O
(:class:`~convguard.stores.AsyncStore`, e.g. ``AsyncPostgresStore``) is
awaited as it is; a sync one is wrapped here, each call run in a worker
thread (:func:`asyncio.to_thread`) when it may block, or inline when it never
does (:class:`~convguard.MemoryStore`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, final

from ._errors import ConfigurationError
from ._tree import EMPTY_METADATA, Message
from .stores._checks import check_store, is_async_store
from .stores._store_async import AsyncStore

if TYPE_CHECKING:
    from .stores._base import ConversationInfo, ConversationPage, Feedback, Head
    from .stores._store import Store

__all__ = ["StoreInThreads", "awaitable_store"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


def awaitable_store(store: object, *, blocking: bool | None) -> AsyncStore:
    """Return *store* as an :class:`AsyncStore`: itself when it is one, else wrapped.

    Args:
        store: A :class:`Store` or an :class:`AsyncStore`.
        blocking: For a sync store, run each call in a worker thread;
            ``None`` decides by type (a ``MemoryStore`` never blocks).

    Raises:
        ConfigurationError: For an object that implements neither protocol, or
            a *blocking* that is not a bool or ``None``.
    """
    if blocking is not None and not isinstance(blocking, bool):
        msg = f"blocking_store must be True, False or None, not {blocking!r}"
        raise ConfigurationError(msg)
    if is_async_store(store):
        return store  # type: ignore[return-value]  # is_async_store checked it
    store = check_store(store)
    from .stores._memory import MemoryStore  # noqa: PLC0415 - only to decide the default

    return StoreInThreads(
        store, blocking=not isinstance(store, MemoryStore) if blocking is None else blocking
    )


@final
class StoreInThreads:
    """Await a sync store: each call in a worker thread, or inline when it never blocks.

    Args:
        store: The sync store.
        blocking: Run calls in worker threads (``False`` calls them inline).
    """

    __slots__ = ("blocking", "store")

    def __init__(self, store: Store, *, blocking: bool) -> None:
        """Wrap *store*."""
        self.store = store
        self.blocking = blocking

    def __repr__(self) -> str:
        """Show the store and how it is called."""
        return f"<StoreInThreads {self.store!r} blocking={self.blocking}>"

    async def _call(self, call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        if self.blocking:
            return await asyncio.to_thread(call, *args, **kwargs)
        return call(*args, **kwargs)

    async def create(
        self,
        conversation_id: str,
        *,
        created_at: datetime,
        metadata: Mapping[str, Any] = EMPTY_METADATA,
        messages: Sequence[Message] = (),
        tip_id: str | None = None,
    ) -> None:
        """See :meth:`Store.create`."""
        await self._call(
            self.store.create,
            conversation_id,
            created_at=created_at,
            metadata=metadata,
            messages=messages,
            tip_id=tip_id,
        )

    async def head(self, conversation_id: str) -> Head:
        """See :meth:`Store.head`."""
        return await self._call(self.store.head, conversation_id)

    async def info(self, conversation_id: str) -> ConversationInfo:
        """See :meth:`Store.info`."""
        return await self._call(self.store.info, conversation_id)

    async def get(self, conversation_id: str, message_id: str) -> Message:
        """See :meth:`Store.get`."""
        return await self._call(self.store.get, conversation_id, message_id)

    async def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[Message]:
        """See :meth:`Store.ancestors`."""
        return await self._call(self.store.ancestors, conversation_id, message_id, limit)

    async def messages(self, conversation_id: str) -> list[Message]:
        """See :meth:`Store.messages`."""
        return await self._call(self.store.messages, conversation_id)

    async def append(
        self,
        conversation_id: str,
        message: Message,
        *,
        expected_version: int,
        move_tip: bool = True,
    ) -> int:
        """See :meth:`Store.append`."""
        return await self._call(
            self.store.append,
            conversation_id,
            message,
            expected_version=expected_version,
            move_tip=move_tip,
        )

    async def switch(self, conversation_id: str, message_id: str) -> int:
        """See :meth:`Store.switch`."""
        return await self._call(self.store.switch, conversation_id, message_id)

    async def add_feedback(self, feedback: Feedback) -> None:
        """See :meth:`Store.add_feedback`."""
        await self._call(self.store.add_feedback, feedback)

    async def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """See :meth:`Store.feedback`."""
        return await self._call(self.store.feedback, conversation_id)

    async def conversations(self) -> list[str]:
        """See :meth:`Store.conversations`."""
        return await self._call(self.store.conversations)

    async def list_conversations(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversationPage:
        """See :meth:`Store.list_conversations`."""
        return await self._call(
            self.store.list_conversations, metadata=metadata, limit=limit, after=after
        )

    async def delete(self, conversation_id: str) -> None:
        """See :meth:`Store.delete`."""
        await self._call(self.store.delete, conversation_id)

    async def purge(self, older_than: datetime, *, limit: int) -> int:
        """See :meth:`Store.purge`."""
        return await self._call(self.store.purge, older_than, limit=limit)

    async def close(self) -> None:
        """See :meth:`Store.close`."""
        await self._call(self.store.close)
