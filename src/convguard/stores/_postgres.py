"""``PostgresStore``: conversations in PostgreSQL, shared by many backend workers.

Its body is written once, in ``_postgres_async.py``, and generated into
``_postgres_sync.py``; only the constructor, which opens the pool at once, is
written here. psycopg is imported when a store is built, never by
``import convguard``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

from ._pg import migrations
from ._postgres_sync import _PostgresBase

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore", "migrations"]


@final
class PostgresStore(_PostgresBase):
    """Keep conversations in PostgreSQL, for many workers sharing them.

    Every call borrows a connection from a pool; every write is one
    transaction whose compare-and-set on the conversation row also takes that
    row's lock, so two workers writing one conversation are ordered and the
    loser gets :class:`~convguard.StoreConflictError` (the guard then re-reads
    and re-evaluates). A connection idle for a second or more is checked when
    borrowed, and one the server closed is replaced; a call whose connection
    dies under it (killed the instant before, or while it runs) raises
    :class:`~convguard.StoreUnavailableError` and leaves nothing written.

    Tables live in their own schema (``convguard`` by default), created and
    migrated on first use under an advisory lock, so workers may start at the
    same time. For asyncio, :class:`~convguard.AsyncPostgresStore` is the same
    store with every call awaited.

    Args:
        dsn: A libpq connection string or URL, or a
            ``psycopg_pool.ConnectionPool`` you manage (then :meth:`close`
            leaves it open).
        schema: The PostgreSQL schema holding convguard's tables.
        min_size: Connections the pool keeps open (ignored for your own pool).
        max_size: Connections the pool may open (ignored for your own pool).
        timeout: Seconds a call waits for a free connection.
        connect_timeout: Seconds to wait for the server when connecting.
        lock_timeout: Seconds a statement waits for a lock (a conversation
            row another session holds) before it gives up with
            :class:`~convguard.StoreUnavailableError`, its transaction rolled
            back; ``None`` waits for ever.
        statement_timeout: Seconds any one statement may run before
            PostgreSQL cancels it (the same error); ``None`` for no limit.
            Neither limit applies to creating and migrating the tables.

    Raises:
        ConfigurationError: When psycopg is not installed, for a bad option or
            a *dsn* that is not a connection string.
        StoreUnavailableError: When the server cannot be reached.
        StoreError: When the schema was written by a newer convguard.
    """

    __slots__ = ()

    def __init__(  # noqa: PLR0913 - the pool's few knobs, all keyword-only
        self,
        dsn: str | ConnectionPool[Any],
        *,
        schema: str = "convguard",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        connect_timeout: int = 5,
        lock_timeout: float | None = 5.0,
        statement_timeout: float | None = 30.0,
    ) -> None:
        """Connect, bring the schema up to date, and open the pool."""
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
        self._ready()

    @property
    def schema_version(self) -> int:
        """The version of convguard's tables."""
        return self._schema_version()
