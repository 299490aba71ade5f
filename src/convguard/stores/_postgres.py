"""``PostgresStore``: conversations in PostgreSQL, shared by many backend workers.

psycopg is imported when a store is built, never by ``import convguard``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, final

from .._errors import (
    ConfigurationError,
    ConversationEndedError,
    InvalidMessageError,
    InvalidOperationError,
    StoreConflictError,
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
    UnknownConversationError,
    UnknownMessageError,
)
from .._tree import Message, check_id
from ._listing import epoch_us, title_of
from ._sql import Connection, Migration, SQLStore, _conversation_id, _message_params

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore", "migrations"]

_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_EXTRA: Final = "pip install 'convguard[postgres]'"
# A stored ISO 8601 time as microseconds since the epoch.
_US: Final = "(floor(extract(epoch FROM {t}::timestamptz) * 1000000))::bigint"


def migrations(schema: str) -> tuple[Migration, ...]:
    """Return the ordered schema steps for tables in *schema*.

    A new release appends a step; a released step is never edited.
    """
    s = f'"{schema}"'
    return (
        (
            1,
            (
                (
                    f"CREATE TABLE {s}.conversations ("
                    " seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
                    " id TEXT PRIMARY KEY,"
                    " created_at TEXT NOT NULL,"
                    " metadata JSON NOT NULL,"
                    " version BIGINT NOT NULL,"
                    " tip_id TEXT,"
                    " ended_branches INTEGER NOT NULL,"
                    " message_count BIGINT NOT NULL)"
                ),
                (
                    f"CREATE TABLE {s}.messages ("
                    " seq BIGINT GENERATED ALWAYS AS IDENTITY,"
                    f" conversation_id TEXT NOT NULL REFERENCES {s}.conversations (id),"
                    " id TEXT NOT NULL,"
                    " parent_id TEXT,"
                    " role TEXT NOT NULL,"
                    " content TEXT NOT NULL,"
                    " created_at TEXT NOT NULL,"
                    " state JSON NOT NULL,"
                    " verdict JSON,"
                    " metadata JSON NOT NULL,"
                    " depth INTEGER NOT NULL,"
                    " ended BOOLEAN NOT NULL,"
                    " PRIMARY KEY (conversation_id, id))"
                ),
                f"CREATE INDEX messages_in_order ON {s}.messages (conversation_id, seq)",
                (
                    f"CREATE TABLE {s}.feedback ("
                    " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    " id TEXT NOT NULL,"
                    f" conversation_id TEXT NOT NULL REFERENCES {s}.conversations (id),"
                    " kind TEXT NOT NULL,"
                    " comment TEXT,"
                    " message_id TEXT,"
                    " created_at TEXT NOT NULL,"
                    " metadata JSON NOT NULL)"
                ),
                f"CREATE INDEX feedback_by_conversation ON {s}.feedback (conversation_id, seq)",
            ),
        ),
        (
            2,
            (
                # The conversation's risk record; older tables learn it from the
                # SUPPORT verdicts they hold.
                f"ALTER TABLE {s}.conversations ADD COLUMN at_risk BOOLEAN NOT NULL DEFAULT FALSE",
                (  # the schema name is checked against _SCHEMA_NAME, never user text
                    f"UPDATE {s}.conversations SET at_risk = TRUE WHERE id IN (SELECT"  # noqa: S608
                    f" conversation_id FROM {s}.messages WHERE verdict->>'action' = 'support')"
                ),
            ),
        ),
        (
            3,
            (
                # Listing by last activity (microseconds since the epoch, UTC),
                # titles, and metadata tags to filter by; older tables learn
                # them from the messages and metadata they hold.
                f"ALTER TABLE {s}.conversations ADD COLUMN updated_us BIGINT NOT NULL DEFAULT 0",
                f"ALTER TABLE {s}.conversations ADD COLUMN title TEXT",
                (  # the schema name is checked against _SCHEMA_NAME, never user text
                    f"UPDATE {s}.conversations c SET updated_us = GREATEST("  # noqa: S608
                    f"{_US.format(t='c.created_at')}, (SELECT max({_US.format(t='m.created_at')})"
                    f" FROM {s}.messages m WHERE m.conversation_id = c.id))"
                ),
                (
                    f"UPDATE {s}.conversations c SET title = (SELECT substr(m.content, 1, 80)"  # noqa: S608
                    f" FROM {s}.messages m WHERE m.conversation_id = c.id AND m.role = 'user'"
                    " ORDER BY m.seq LIMIT 1)"
                ),
                f"CREATE INDEX conversations_by_activity ON {s}.conversations (updated_us, seq)",
                (
                    f"CREATE TABLE {s}.conversation_tags ("
                    " key TEXT NOT NULL,"
                    " value TEXT NOT NULL,"
                    f" conversation_id TEXT NOT NULL REFERENCES {s}.conversations (id),"
                    " PRIMARY KEY (key, value, conversation_id))"
                ),
                f"CREATE INDEX tags_by_conversation ON {s}.conversation_tags (conversation_id)",
                (
                    f"INSERT INTO {s}.conversation_tags (key, value, conversation_id)"  # noqa: S608
                    " SELECT j.key, CASE jsonb_typeof(j.value)"
                    " WHEN 'string' THEN 's' || (j.value #>> '{}')"
                    " WHEN 'number' THEN 'i' || (j.value #>> '{}')"
                    " WHEN 'boolean' THEN CASE WHEN j.value = 'true'::jsonb THEN 'b1' ELSE 'b0' END"
                    " ELSE 'n' END, c.id"
                    f" FROM {s}.conversations c, jsonb_each(c.metadata::jsonb) j"
                    " WHERE jsonb_typeof(j.value) IN ('string', 'boolean', 'null')"
                    " OR (jsonb_typeof(j.value) = 'number' AND (j.value #>> '{}') ~ '^-?[0-9]+$')"
                    " ON CONFLICT DO NOTHING"
                ),
            ),
        ),
    )


# One statement, one round trip: the compare-and-set, the checks SQLite makes
# in separate statements, and the insert. Every sub-statement reads the same
# snapshot; the UPDATE re-checks the version once it holds the row lock, and
# every other write of the conversation moves the version (a message's ended
# flag never changes once stored), so a check that passed still holds when the
# row lands. The last SELECT says why nothing landed.
_APPEND: Final = (
    "WITH parent AS (SELECT depth, ended FROM {messages}"
    " WHERE conversation_id = %(cid)s AND id = %(parent)s),"
    " taken AS (SELECT 1 FROM {messages} WHERE conversation_id = %(cid)s AND id = %(id)s),"
    " bump AS (UPDATE {conversations} SET version = version + 1,"
    " message_count = message_count + 1, ended_branches = ended_branches + %(ends)s,"
    " at_risk = (at_risk OR %(at_risk)s), tip_id = COALESCE(%(tip)s, tip_id),"
    " updated_us = %(updated_us)s, title = COALESCE(title, %(title)s)"
    " WHERE id = %(cid)s AND version = %(expected)s AND NOT EXISTS (SELECT 1 FROM taken)"
    " AND CASE WHEN %(parent)s::text IS NULL THEN %(depth)s = 0 ELSE EXISTS"
    " (SELECT 1 FROM parent WHERE NOT ended AND depth + 1 = %(depth)s) END"
    " RETURNING version),"
    " ins AS (INSERT INTO {messages} (conversation_id, id, parent_id, role, content,"
    " created_at, state, verdict, metadata, depth, ended)"
    " SELECT %(cid)s, %(id)s, %(parent)s, %(role)s, %(content)s, %(created_at)s,"
    " %(state)s::json, %(verdict)s::json, %(metadata)s::json, %(depth)s, %(ended)s FROM bump"
    " RETURNING 1)"
    " SELECT (SELECT version FROM bump), (SELECT version FROM {conversations} WHERE id = %(cid)s),"
    " EXISTS (SELECT 1 FROM taken), (SELECT depth FROM parent), (SELECT ended FROM parent)"
)


def _driver() -> tuple[ModuleType, ModuleType]:
    try:
        import psycopg  # noqa: PLC0415 - the extra is optional
        import psycopg_pool  # noqa: PLC0415 - the extra is optional
    except ImportError as exc:
        msg = f"PostgresStore needs psycopg 3 and psycopg_pool: {_EXTRA}"
        raise ConfigurationError(msg) from exc
    return psycopg, psycopg_pool


_MAX_SECONDS: Final = 2_147_483  # PostgreSQL's limit: 2**31 - 1 milliseconds


def _milliseconds(name: str, seconds: object) -> int:
    """Return *seconds* as PostgreSQL's milliseconds, 0 (no limit) for ``None``."""
    if seconds is None:
        return 0
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds < _MAX_SECONDS
    ):
        msg = f"{name} must be a positive number of seconds or None, not {seconds!r}"
        raise ConfigurationError(msg)
    return max(1, round(seconds * 1000))


def _translate(
    psycopg: ModuleType, exc: Exception, conversation_id: str | None = None
) -> Exception:
    text = str(exc).strip() or type(exc).__name__
    what = f" on conversation {conversation_id!r}" if conversation_id else ""
    errors = psycopg.errors
    # The first class that matches decides; anything else is a plain StoreError.
    cases: tuple[tuple[tuple[type[Exception], ...], Exception], ...] = (
        (
            # lock_timeout or statement_timeout: the transaction was rolled back.
            (errors.LockNotAvailable, errors.QueryCanceled),
            StoreUnavailableError(
                f"PostgreSQL gave up{what} (lock_timeout or statement_timeout: another"
                f" session holds the row, or the server is overloaded); nothing was written: {text}"
            ),
        ),
        (
            # Only under a stricter isolation level than convguard needs: retry.
            (errors.SerializationFailure, errors.DeadlockDetected),
            StoreConflictError(conversation_id or "", f"PostgreSQL could not order it: {text}"),
        ),
        (
            (psycopg.OperationalError, psycopg.InterfaceError),
            StoreUnavailableError(f"PostgreSQL cannot be reached: {text}"),
        ),
        ((psycopg.DataError,), InvalidMessageError(f"PostgreSQL refused a value: {text}")),
        (
            (errors.UndefinedTable, errors.UndefinedColumn),
            StoreCorruptError(f"the database lacks convguard's tables: {text}"),
        ),
        (
            # create() checks the id first; only a racing create() of the same id
            # gets here (message ids are checked inside the transaction).
            (errors.UniqueViolation,),
            InvalidOperationError(f"conversation {conversation_id!r} already exists"),
        ),
    )
    for classes, translated in cases:
        if isinstance(exc, classes):
            return translated
    return StoreError(f"PostgreSQL failed: {text}")


@final
class PostgresStore(SQLStore):
    """Keep conversations in PostgreSQL, for many workers sharing them.

    Every call borrows a connection from a pool; every write is one
    transaction whose compare-and-set on the conversation row also takes that
    row's lock, so two workers writing one conversation are ordered and the
    loser gets :class:`~convguard.StoreConflictError` (the guard then re-reads
    and re-evaluates). Connections are checked when borrowed, so one killed
    by the server is replaced; a call that was running on it raises
    :class:`~convguard.StoreUnavailableError` and leaves nothing written.

    Tables live in their own schema (``convguard`` by default), created and
    migrated on first use under an advisory lock, so workers may start at the
    same time.

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

    __slots__ = (
        "_append_sql",
        "_closed",
        "_limits",
        "_owns_pool",
        "_pool",
        "_psycopg",
        "_schema",
    )

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
        psycopg, psycopg_pool = _driver()
        self._psycopg = psycopg
        self._closed = False
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            msg = f"schema must be a lowercase SQL identifier, not {schema!r}"
            raise ConfigurationError(msg)
        self._schema = schema
        self._limits = (
            ("lock_timeout", _milliseconds("lock_timeout", lock_timeout)),
            ("statement_timeout", _milliseconds("statement_timeout", statement_timeout)),
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
        self._append_sql = _APPEND.format(
            conversations=prefix + "conversations", messages=prefix + "messages"
        )
        if isinstance(dsn, psycopg_pool.ConnectionPool):
            self._pool = dsn
            self._owns_pool = False
            with self._write() as conn:
                self._setup(conn)
            return
        if not isinstance(dsn, str):
            msg = f"dsn must be a connection string or a ConnectionPool, not {dsn!r}"
            raise ConfigurationError(msg)
        try:
            info = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.Error as exc:
            msg = f"dsn is not a PostgreSQL connection string or URL: {exc}"
            raise ConfigurationError(msg) from exc
        # The limits ride on the connection's startup options: no round trip.
        options = " ".join(
            [str(info.get("options") or ""), *(f"-c {n}={ms}" for n, ms in self._limits if ms)]
        ).strip()
        # Connect once up front: a server that is down fails here, at once,
        # instead of in the pool's background retries.
        try:
            with psycopg.connect(dsn, connect_timeout=connect_timeout, options=options) as conn:
                self._setup(conn)
        except psycopg.Error as exc:
            raise _translate(psycopg, exc) from exc
        self._owns_pool = True
        self._pool = psycopg_pool.ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            # Autocommit: reads need no COMMIT round trip; writes open a
            # transaction. No server-side prepared statements: a generic plan
            # cached while the tables were small would scan them once they
            # have grown, and every plan here is a cheap index lookup anyway.
            kwargs={
                "connect_timeout": connect_timeout,
                "autocommit": True,
                "prepare_threshold": None,
                "options": options,
            },
            check=psycopg_pool.ConnectionPool.check_connection,
            name=f"convguard-{schema}",
            open=True,
        )

    def __repr__(self) -> str:
        """Show the schema."""
        return f"<PostgresStore schema={self._schema!r}>"

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding convguard's tables."""
        return self._schema

    @property
    def schema_version(self) -> int:
        """The version of convguard's tables."""
        with self._read() as conn:
            sql = f'SELECT MAX(version) FROM "{self._schema}".schema_version'  # noqa: S608 - our table
            row = conn.execute(sql).fetchone()
        return 0 if row is None else int(row[0])

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

    def _check_open(self) -> None:
        if self._closed:
            msg = "the PostgresStore is closed"
            raise StoreUnavailableError(msg)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        self._check_open()
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            raise _translate(self._psycopg, exc) from exc

    @contextmanager
    def _write(self, conversation_id: str | None = None) -> Iterator[Connection]:
        self._check_open()
        try:
            with self._pool.connection() as conn, conn.transaction():
                if not self._owns_pool:
                    # A pool you made does not carry the startup options.
                    conn.execute(
                        "SELECT set_config('lock_timeout', %s, true),"
                        " set_config('statement_timeout', %s, true)",
                        tuple(str(ms) for _, ms in self._limits),
                    )
                yield conn
        except self._psycopg.Error as exc:
            raise _translate(self._psycopg, exc, conversation_id) from exc

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
        self._check_open()
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            raise _translate(self._psycopg, exc, conversation_id) from exc

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
        (see ``_APPEND``), so the write costs what a bare insert costs.

        Returns:
            The new version.

        Raises:
            StoreConflictError: When the version moved on.
            ConversationEndedError: When the parent is ended.
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: When the parent is not in the conversation.
            InvalidOperationError: For a duplicate id or a wrong depth.
        """
        conversation_id = _conversation_id(conversation_id)
        check_id(message.id)
        row = _message_params(conversation_id, message)
        params = {
            "cid": conversation_id,
            "id": message.id,
            "parent": message.parent_id,
            "role": row[3],
            "content": row[4],
            "created_at": row[5],
            "state": row[6],
            "verdict": row[7],
            "metadata": row[8],
            "depth": message.depth,
            "ended": message.ended,
            "ends": 1 if message.ended else 0,
            "at_risk": message.at_risk,
            "tip": message.id if move_tip else None,
            "updated_us": epoch_us(message.created_at),
            "title": title_of([message]),
            "expected": expected_version,
        }
        with self._statement(conversation_id) as conn:
            found = conn.execute(self._append_sql, params).fetchone()  # type: ignore[arg-type]
        bumped, version, taken, parent_depth, parent_ended = found or (None,) * 5
        if bumped is not None:
            return int(bumped)
        if version is None:
            raise UnknownConversationError(conversation_id)
        if version != expected_version:
            raise StoreConflictError(
                conversation_id, f"expected version {expected_version}, found {version}"
            )
        if taken:
            msg = f"message id {message.id!r} is already in the conversation"
            raise InvalidOperationError(msg)
        if message.parent_id is not None and parent_depth is None:
            raise UnknownMessageError(conversation_id, message.parent_id)
        if parent_ended:
            raise ConversationEndedError(conversation_id, message.parent_id or "")
        depth = 0 if parent_depth is None else int(parent_depth) + 1
        if message.depth != depth:
            msg = f"message {message.id!r} has depth {message.depth}, expected {depth}"
            raise InvalidOperationError(msg)
        # Every check held in the statement's snapshot: another writer took the
        # row lock first and moved the version before the UPDATE could land.
        raise StoreConflictError(
            conversation_id, f"expected version {expected_version}, another writer moved it"
        )

    def close(self) -> None:
        """Close the pool (unless it was given). The store is unusable afterwards."""
        self._closed = True
        if self._owns_pool:
            self._pool.close()
