# Written by scripts/unasync.py from _postgres_async.py: edit that file, then run the script.
"""The PostgreSQL store's body, written once: ``_PostgresBase``.

Generated from ``_postgres_async.py`` by ``scripts/unasync.py``; see there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from .._errors import ConfigurationError, StoreUnavailableError, UnknownConversationError
from .._tree import EMPTY_METADATA, Message, check_id
from ._base import Feedback
from ._pg import (
    ADD_FEEDBACK,
    APPEND,
    CREATE,
    EXPLICIT_ONLY,
    FRESH_SECONDS,
    IDLE,
    LIST_AFTER,
    LIST_ORDER,
    SWITCH,
    WHY_NOT,
    append_params,
    append_refusal,
    check_schema,
    create_params,
    driver,
    feedback_params,
    has_news,
    migrations,
    milliseconds,
    startup_options,
    translate,
)
from ._rows import lookup_conversation_id, lookup_message_id
from ._sql import Connection, SQLStore

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["_PostgresBase"]


class _PostgresBase(SQLStore):
    """The body of the PostgreSQL store; the public class adds its constructor."""

    __slots__ = (
        "_append_sql",
        "_closed",
        "_create_sql",
        "_feedback_sql",
        "_given",
        "_lent",
        "_limits",
        "_opening",
        "_owns_pool",
        "_pool",
        "_pool_args",
        "_psycopg",
        "_psycopg_pool",
        "_schema",
        "_switch_sql",
        "_why_not_sql",
    )

    def _configure(  # noqa: PLR0913 - the pool's few knobs, all keyword-only
        self,
        dsn: str | ConnectionPool[Any],
        *,
        schema: str,
        min_size: int,
        max_size: int,
        timeout: float,
        connect_timeout: int,
        lock_timeout: float | None,
        statement_timeout: float | None,
    ) -> None:
        """Check the options and remember how to open the pool; no I/O.

        Raises:
            ConfigurationError: When psycopg is not installed, for a bad option
                or a *dsn* that is not a connection string.
        """
        psycopg, psycopg_pool = driver(type(self).__name__)
        self._psycopg: ModuleType = psycopg
        self._psycopg_pool: ModuleType = psycopg_pool
        self._closed = False
        self._opening = threading.Lock()
        # When each pooled connection was last lent: see _check.
        self._lent: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        self._schema = check_schema(schema)
        self._limits = (
            ("lock_timeout", milliseconds("lock_timeout", lock_timeout)),
            ("statement_timeout", milliseconds("statement_timeout", statement_timeout)),
        )
        prefix = f'"{schema}".'
        self._prepare(
            {
                "conversations": prefix + "conversations",
                "messages": prefix + "messages",
                "feedback": prefix + "feedback",
                "tags": prefix + "conversation_tags",
            },
            "%s",
        )
        # Last activity is listed and purged through the index of its slot.
        self._sql["idle"] = IDLE.format(conversations=prefix + "conversations")
        select, by_first_tag, by_tag, _, _ = self._list
        self._list = (select, by_first_tag, by_tag, LIST_AFTER, LIST_ORDER)
        self._append_sql = APPEND.format(
            conversations=prefix + "conversations", messages=prefix + "messages"
        )
        self._why_not_sql = WHY_NOT.format(
            conversations=prefix + "conversations", messages=prefix + "messages"
        )
        self._create_sql = CREATE.format(
            conversations=prefix + "conversations", tags=prefix + "conversation_tags"
        )
        self._switch_sql = SWITCH.format(
            conversations=prefix + "conversations", messages=prefix + "messages"
        )
        self._feedback_sql = ADD_FEEDBACK.format(
            conversations=prefix + "conversations", feedback=prefix + "feedback"
        )
        self._pool: ConnectionPool[Any] | None = None
        self._given: ConnectionPool[Any] | None = None
        self._pool_args: dict[str, Any] = {}
        if isinstance(dsn, psycopg_pool.ConnectionPool):
            self._given = dsn
            self._owns_pool = False
            return
        if not isinstance(dsn, str):
            msg = f"dsn must be a connection string or a pool (ConnectionPool), not {dsn!r}"
            raise ConfigurationError(msg)
        self._owns_pool = True
        self._pool_args = {
            "conninfo": dsn,
            "min_size": min_size,
            "max_size": max_size,
            "timeout": timeout,
            # Autocommit: reads need no COMMIT round trip; writes open a
            # transaction. Only the append is a server-side prepared statement
            # (see append()); psycopg prepares no other on its own: a generic
            # plan of a listing cached while the tables were small could scan
            # them once they have grown.
            "kwargs": {
                "connect_timeout": connect_timeout,
                "autocommit": True,
                "prepare_threshold": EXPLICIT_ONLY,
                "options": startup_options(psycopg, dsn, self._limits),
            },
            "check": self._check,
            "name": f"convguard-{schema}",
        }

    def __repr__(self) -> str:
        """Show the schema."""
        return f"<{type(self).__name__} schema={self._schema!r}>"

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding convguard's tables."""
        return self._schema

    def _by_activity(self, params: tuple[int, ...]) -> tuple[int, ...]:
        """Give the last activity twice: once for its slot, once for itself (``_pg.LIST_AFTER``)."""
        return (params[0], *params)

    def _schema_version(self) -> int:
        with self._read() as conn:
            sql = f'SELECT MAX(version) FROM "{self._schema}".schema_version'  # noqa: S608 - our table
            cursor = conn.execute(sql)
            row = cursor.fetchone()
        return 0 if row is None else int(row[0])

    # -- the pool ---------------------------------------------------------------

    def _ready(self) -> ConnectionPool[Any]:
        """Return the pool, bringing the schema up to date and opening it on first use.

        Raises:
            StoreUnavailableError: When the store is closed or the server
                cannot be reached.
            StoreError: When the schema was written by a newer convguard.
        """
        if self._closed:
            msg = f"the {type(self).__name__} is closed"
            raise StoreUnavailableError(msg)
        pool = self._pool
        if pool is None:
            with self._opening:  # one opener; the others find it open
                pool = self._pool
                if pool is None:
                    pool = self._pool = self._open()
        return pool

    def _open(self) -> ConnectionPool[Any]:
        psycopg = self._psycopg
        given = self._given
        try:
            if given is not None:
                with given.connection() as conn, conn.transaction():
                    self._setup(conn)
                return given
            kwargs = self._pool_args["kwargs"]
            # Connect once up front: a server that is down fails here, at
            # once, instead of in the pool's background retries.
            with psycopg.Connection.connect(
                self._pool_args["conninfo"],
                connect_timeout=kwargs["connect_timeout"],
                options=kwargs["options"],
            ) as conn:
                self._setup(conn)
        except psycopg.Error as exc:
            raise translate(psycopg, exc) from exc
        pool: ConnectionPool[Any] = self._psycopg_pool.ConnectionPool(**self._pool_args, open=False)
        pool.open()
        return pool

    def _setup(self, conn: Connection) -> None:
        schema = self._schema
        # A migration may rewrite a large table, and a worker may wait for
        # another's: the limits are for turns, not for this.
        conn.execute("SET LOCAL lock_timeout = 0")
        conn.execute("SET LOCAL statement_timeout = 0")
        # Workers starting together take turns; the loser finds it all done.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"convguard:{schema}",))
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        self._migrate(
            conn,
            migrations(schema),
            f'"{schema}".schema_version',
            "%s",
            datetime.now(UTC).isoformat(),
        )

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Check a connection the pool is about to lend, unless it was lent a moment ago.

        The pool calls this on every borrow. A check is a round trip, as much
        as a statement; a connection lent within ``FRESH_SECONDS`` that has
        nothing to read (``has_news``) worked a moment ago and goes out as it
        is. A server that closed it in that instant fails the call that uses
        it with ``StoreUnavailableError``, nothing written, as any connection
        lost mid-call does, and the pool replaces it.
        """
        now = time.monotonic()
        last = self._lent.get(conn)
        self._lent[conn] = now
        if last is not None and now - last < FRESH_SECONDS and not has_news(conn):
            return
        self._psycopg_pool.ConnectionPool.check_connection(conn)

    # -- connections for the shared body ------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        pool = self._ready()
        try:
            with pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            raise translate(self._psycopg, exc) from exc

    @contextmanager
    def _write(self, conversation_id: str | None = None) -> Iterator[Connection]:
        pool = self._ready()
        try:
            with pool.connection() as conn, conn.transaction():
                if not self._owns_pool:
                    # A pool you made does not carry the startup options.
                    conn.execute(
                        "SELECT set_config('lock_timeout', %s, true),"
                        " set_config('statement_timeout', %s, true)",
                        tuple(str(ms) for _, ms in self._limits),
                    )
                yield conn
        except self._psycopg.Error as exc:
            raise translate(self._psycopg, exc, conversation_id) from exc

    @contextmanager
    def _statement(self, conversation_id: str) -> Iterator[Connection]:
        """Yield a connection for one write statement: no BEGIN, no COMMIT.

        On the store's own pool (autocommit, the limits set at connect) the
        statement is its own transaction; on a pool you made, it runs inside
        a write transaction that sets the limits.
        """
        if not self._owns_pool:
            with self._write(conversation_id) as conn:
                yield conn
            return
        pool = self._ready()
        try:
            with pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            raise translate(self._psycopg, exc, conversation_id) from exc

    # -- the protocol, where PostgreSQL does better than the shared body ----------

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

        A new, empty conversation (``guard.start()``) is one statement (see
        ``_pg.CREATE``); an imported tree is one transaction.

        Raises:
            InvalidOperationError: When the id is taken or the tree is invalid.
            StoreError: When the database fails; nothing is written.
        """
        if messages or tip_id is not None:
            super().create(
                conversation_id,
                created_at=created_at,
                metadata=metadata,
                messages=messages,
                tip_id=tip_id,
            )
            return
        check_id(conversation_id, "conversation id")
        params = create_params(conversation_id, created_at, metadata)
        with self._statement(conversation_id) as conn:
            conn.execute(self._create_sql, params)  # type: ignore[arg-type]

    def append(
        self,
        conversation_id: str,
        message: Message,
        *,
        expected_version: int,
        move_tip: bool = True,
    ) -> int:
        """Add *message* if the conversation is still at *expected_version*, in one round trip.

        One statement makes the compare-and-set, the checks and the insert
        (see ``_pg.APPEND``); only when it stores nothing does a second
        one (``_pg.WHY_NOT``) find out why.

        Returns:
            The new version.

        Raises:
            StoreConflictError: When the version moved on.
            ConversationEndedError: When the parent is ended.
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: When the parent is not in the conversation.
            InvalidOperationError: For a duplicate id or a wrong depth.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        check_id(message.id)
        params = append_params(conversation_id, message, expected_version, move_tip=move_tip)
        with self._statement(conversation_id) as conn:
            # Prepared: parsing and planning the statement cost the server
            # more than running it. Its plan is primary-key lookups whatever
            # the tables hold. (On a pool you made, its connections decide:
            # prepare_threshold=None, for PgBouncer in transaction mode,
            # turns it off.)
            cursor = conn.execute(  # type: ignore[call-arg]
                self._append_sql,
                params,  # type: ignore[arg-type]
                prepare=True,
            )
            if cursor.rowcount == 1:
                return expected_version + 1
        with self._read() as conn:
            cursor = conn.execute(self._why_not_sql, params)  # type: ignore[arg-type]
            found = cursor.fetchone()
        raise append_refusal(conversation_id, message, expected_version, found or (None,) * 4)

    def switch(self, conversation_id: str, message_id: str) -> int:
        """Make *message_id* the active tip, in one statement (see ``_pg.SWITCH``).

        Returns:
            The new version.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        message_id = lookup_message_id(conversation_id, message_id)
        params = (message_id, conversation_id, conversation_id, message_id)
        with self._statement(conversation_id) as conn:
            cursor = conn.execute(self._switch_sql, params)
            row = cursor.fetchone()
            if row is None:
                raise self._missing(conn, conversation_id, message_id)
        return int(row[0])

    def add_feedback(self, feedback: Feedback) -> None:
        """Keep a feedback record, in one statement (see ``_pg.ADD_FEEDBACK``).

        Raises:
            UnknownConversationError: For an unknown conversation.
        """
        conversation_id = lookup_conversation_id(feedback.conversation_id)
        params = feedback_params(conversation_id, feedback)
        with self._statement(conversation_id) as conn:
            cursor = conn.execute(self._feedback_sql, params)
            if cursor.rowcount != 1:
                raise UnknownConversationError(conversation_id)

    def close(self) -> None:
        """Close the pool (unless it was given). The store is unusable afterwards."""
        self._closed = True
        if self._owns_pool and self._pool is not None:
            self._pool.close()
