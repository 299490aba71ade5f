"""``AsyncPostgresStore``: ``PostgresStore`` for asyncio, every call awaited.

Its body is the one ``PostgresStore`` is generated from
(``_postgres_async.py``); what is written here is what an event loop needs
differently: a constructor that does no I/O, and :meth:`open` or
``async with`` to connect. psycopg is imported when a store is built.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, final

from ._postgres_async import _AsyncPostgresBase

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncPostgresStore"]


@final
class AsyncPostgresStore(_AsyncPostgresBase):
    """Keep conversations in PostgreSQL, awaited: native asyncio, no threads.

    The same store as :class:`~convguard.PostgresStore` (the same tables,
    options, errors, one-statement append and guarantees) over psycopg's
    ``AsyncConnection`` and an ``AsyncConnectionPool``: an
    :class:`~convguard.AsyncGuard` awaits its calls on the event loop, so a
    turn waiting on the database holds no thread.

    A constructor cannot await, so it only checks the options. The pool opens
    (connecting once, then creating or migrating the tables) on the first
    call, under a lock, so tasks racing to use a new store open it once. To
    fail at start-up rather than on the first turn, open it explicitly::

        store = await AsyncPostgresStore.open(dsn)  # or
        async with AsyncPostgresStore(dsn) as store:  # closed on exit
            ...

    A pool is bound to the event loop that opened it: use a store within one
    loop.

    Args:
        dsn: A libpq connection string or URL, or a
            ``psycopg_pool.AsyncConnectionPool`` you manage (then :meth:`close`
            leaves it open).
        schema: The PostgreSQL schema holding convguard's tables.
        min_size: Connections the pool keeps open (ignored for your own pool).
        max_size: Connections the pool may open (ignored for your own pool).
        timeout: Seconds a call waits for a free connection.
        connect_timeout: Seconds to wait for the server when connecting.
        lock_timeout: Seconds a statement waits for a row lock before
            :class:`~convguard.StoreUnavailableError`; ``None`` waits for ever.
        statement_timeout: Seconds any one statement may run; ``None`` for
            no limit.

    Raises:
        ConfigurationError: When psycopg is not installed, for a bad option or
            a *dsn* that is not a connection string (at once).
    """

    __slots__ = ()

    def __init__(  # noqa: PLR0913 - the pool's few knobs, all keyword-only
        self,
        dsn: str | AsyncConnectionPool[Any],
        *,
        schema: str = "convguard",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        connect_timeout: int = 5,
        lock_timeout: float | None = 5.0,
        statement_timeout: float | None = 30.0,
    ) -> None:
        """Check the options; the pool opens on first use, or in :meth:`open`."""
        self._configure(
            dsn,
            schema=schema,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            connect_timeout=connect_timeout,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
        )

    @classmethod
    async def open(  # noqa: PLR0913 - the constructor's options
        cls,
        dsn: str | AsyncConnectionPool[Any],
        *,
        schema: str = "convguard",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,  # noqa: ASYNC109 - the pool's wait for a connection, not a deadline on this call
        connect_timeout: int = 5,
        lock_timeout: float | None = 5.0,
        statement_timeout: float | None = 30.0,
    ) -> Self:
        """Build a store and open it: connect, bring the schema up to date, open the pool.

        Returns:
            The open store.

        Raises:
            ConfigurationError: For a bad option (see the class).
            StoreUnavailableError: When the server cannot be reached.
            StoreError: When the schema was written by a newer convguard.
        """
        store = cls(
            dsn,
            schema=schema,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            connect_timeout=connect_timeout,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
        )
        await store._ready()
        return store

    async def __aenter__(self) -> Self:
        """Open the store (see :meth:`open`) and return it."""
        await self._ready()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    async def schema_version(self) -> int:
        """Return the version of convguard's tables.

        Raises:
            StoreUnavailableError: When the server cannot be reached.
        """
        return await self._schema_version()
