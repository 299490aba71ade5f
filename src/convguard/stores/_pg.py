"""What the PostgreSQL stores share without I/O: schema, statements, options, errors.

``PostgresStore`` and ``AsyncPostgresStore`` run the same code (see
``_postgres_async.py``); what needs no connection is here, imported by both.
psycopg is imported only by :func:`driver`, when a store is built.
"""

from __future__ import annotations

import re
import select
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, Final

from .._errors import (
    ConfigurationError,
    ConversationEndedError,
    ConvguardError,
    InvalidMessageError,
    InvalidOperationError,
    StoreConflictError,
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
    UnknownConversationError,
    UnknownMessageError,
)
from .._tree import Message
from ._base import Feedback
from ._codec import dump_metadata, dump_time
from ._listing import epoch_us, metadata_tags, title_of
from ._rows import Migration, message_params

__all__ = [
    "ADD_FEEDBACK",
    "APPEND",
    "CREATE",
    "EXPLICIT_ONLY",
    "FILLFACTOR",
    "FRESH_SECONDS",
    "IDLE",
    "LIST_AFTER",
    "LIST_ORDER",
    "SCHEMA_NAME",
    "SLOT_US",
    "SWITCH",
    "WHY_NOT",
    "append_params",
    "append_refusal",
    "check_schema",
    "create_params",
    "driver",
    "feedback_params",
    "has_news",
    "migrations",
    "milliseconds",
    "startup_options",
    "translate",
]

# A psycopg prepare_threshold no statement reaches: only a statement run
# with prepare=True is prepared on the server.
EXPLICIT_ONLY: Final = 2**62
# Conversation pages keep this much room (percent full) for HOT updates.
FILLFACTOR: Final = 70
SLOT_US: Final = 600_000_000  # ten minutes
SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
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
        (
            4,
            (
                # A turn's write of the conversation row becomes a HOT update
                # (a new row version on the same page, no index entries): room
                # on each page, and no index on a column every turn changes.
                # Listing by last activity walks the index of its ten-minute
                # slot (a generated column: a chat whose writes are seconds
                # apart moves it rarely) and sorts the rows of each slot it
                # reads. Messages are ordered by sorting their primary key's
                # range: one index to write per message, not two. Adding the
                # column rewrites the table, at the new fill.
                f"ALTER TABLE {s}.conversations SET (fillfactor = {FILLFACTOR})",
                (
                    f"ALTER TABLE {s}.conversations ADD COLUMN active_slot BIGINT"
                    f" GENERATED ALWAYS AS (updated_us / {SLOT_US}) STORED"
                ),
                f"CREATE INDEX conversations_by_slot ON {s}.conversations (active_slot)",
                f"DROP INDEX {s}.conversations_by_activity",
                f"DROP INDEX {s}.messages_in_order",
            ),
        ),
    )


# Listing and purging by last activity (schema step 4): the index holds its
# ten-minute slot, so each bound is given as the slot and the exact time (the
# time twice, see SQLStore._by_activity); the rows of a slot are sorted as read.
LIST_AFTER: Final = f"c.active_slot <= %s / {SLOT_US} AND (c.updated_us, c.seq) < (%s, %s)"
LIST_ORDER: Final = " ORDER BY c.active_slot DESC, c.updated_us DESC, c.seq DESC LIMIT %s"
IDLE: Final = (
    f"SELECT id FROM {{conversations}} WHERE active_slot <= %s / {SLOT_US}"  # noqa: S608 - a constant
    " AND updated_us < %s ORDER BY active_slot, updated_us, seq LIMIT %s"
)


# One statement, one round trip: the compare-and-set, the checks SQLite makes
# in separate statements, and the insert, which reads the UPDATE's row, so
# nothing lands unless every check held. The UPDATE re-checks the version once
# it holds the row lock, and every other write of the conversation moves the
# version (a message's ended flag never changes once stored), so a check that
# passed still holds when the row lands. It lands at ``expected + 1``; when
# nothing lands (one row inserted or none is the answer), :data:`WHY_NOT`
# says why. Nothing is read back on the way that succeeds: each subquery
# and returned column costs the server time on every turn.
APPEND: Final = (
    "WITH bump AS (UPDATE {conversations} SET version = version + 1,"
    " message_count = message_count + 1, ended_branches = ended_branches + %(ends)s,"
    " at_risk = (at_risk OR %(at_risk)s), tip_id = COALESCE(%(tip)s, tip_id),"
    " updated_us = %(updated_us)s, title = COALESCE(title, %(title)s)"
    " WHERE id = %(cid)s AND version = %(expected)s"
    " AND NOT EXISTS (SELECT 1 FROM {messages} WHERE conversation_id = %(cid)s AND id = %(id)s)"
    " AND CASE WHEN %(parent)s::text IS NULL THEN %(depth)s = 0 ELSE EXISTS"
    " (SELECT 1 FROM {messages} WHERE conversation_id = %(cid)s AND id = %(parent)s"
    " AND NOT ended AND depth + 1 = %(depth)s) END"
    " RETURNING id)"
    " INSERT INTO {messages} (conversation_id, id, parent_id, role, content,"
    " created_at, state, verdict, metadata, depth, ended)"
    " SELECT id, %(id)s, %(parent)s, %(role)s, %(content)s, %(created_at)s,"
    " %(state)s::json, %(verdict)s::json, %(metadata)s::json, %(depth)s, %(ended)s FROM bump"
)

# Why :data:`APPEND` stored nothing: the conversation's version (``NULL``: no
# such conversation), whether the id is taken, the parent's depth and ended
# flag (``NULL``: no such parent). Read after the failed statement, in a later
# snapshot: what it finds of messages cannot have changed (messages are never
# updated, and erased only with their conversation), and a version that moved
# meanwhile is a conflict either way.
WHY_NOT: Final = (
    "SELECT (SELECT version FROM {conversations} WHERE id = %(cid)s),"
    " EXISTS (SELECT 1 FROM {messages} WHERE conversation_id = %(cid)s AND id = %(id)s),"
    " p.depth, p.ended FROM (SELECT 1) AS one LEFT JOIN {messages} p"
    " ON p.conversation_id = %(cid)s AND p.id = %(parent)s"
)


# An empty conversation with its metadata tags, in one statement (the shared
# body needs a transaction of four: a SELECT for the id, two INSERTs, COMMIT).
# The id's primary key refuses a taken one (UniqueViolation, which translate()
# reports as InvalidOperationError); the tags' INSERT reads the conversation's
# CTE, so a refused conversation stores no tag.
CREATE: Final = (
    "WITH conversation AS (INSERT INTO {conversations} (id, created_at, metadata, version,"
    " tip_id, ended_branches, message_count, at_risk, updated_us, title)"
    " VALUES (%(cid)s, %(created_at)s, %(metadata)s, 0, NULL, 0, 0, FALSE, %(updated_us)s, NULL)"
    " RETURNING id)"
    " INSERT INTO {tags} (key, value, conversation_id)"
    " SELECT t.key, t.value, conversation.id FROM conversation,"
    " unnest(%(keys)s::text[], %(values)s::text[]) AS t(key, value)"
)


# The tip moves only to a message of the conversation; no row back means the
# conversation or the message is not there (a second query says which).
SWITCH: Final = (
    "UPDATE {conversations} SET version = version + 1, tip_id = %s WHERE id = %s"
    " AND EXISTS (SELECT 1 FROM {messages} WHERE conversation_id = %s AND id = %s)"
    " RETURNING version"
)

# Feedback lands only on a conversation that is there: no row inserted means
# an unknown id. (The foreign key still stops one erased meanwhile.)
ADD_FEEDBACK: Final = (
    "INSERT INTO {feedback} (id, conversation_id, kind, comment, message_id, created_at,"
    " metadata) SELECT %s, id, %s, %s, %s, %s, %s::json FROM {conversations} WHERE id = %s"
)


def feedback_params(conversation_id: str, feedback: Feedback) -> tuple[object, ...]:
    """Return the parameters of :data:`ADD_FEEDBACK`."""
    return (
        feedback.id,
        feedback.kind,
        feedback.comment,
        feedback.message_id,
        dump_time(feedback.created_at),
        dump_metadata(feedback.metadata),
        conversation_id,
    )


def create_params(
    conversation_id: str, created_at: datetime, metadata: Mapping[str, Any]
) -> Mapping[str, object]:
    """Return the parameters of :data:`CREATE` for an empty conversation."""
    tags = metadata_tags(metadata)
    return {
        "cid": conversation_id,
        "created_at": dump_time(created_at),
        "metadata": dump_metadata(metadata),
        "updated_us": epoch_us(created_at),
        "keys": [key for key, _ in tags],
        "values": [value for _, value in tags],
    }


def driver(owner: str) -> tuple[ModuleType, ModuleType]:
    """Import psycopg and psycopg_pool, or say which extra *owner* needs."""
    try:
        import psycopg  # noqa: PLC0415 - the extra is optional
        import psycopg_pool  # noqa: PLC0415 - the extra is optional
    except ImportError as exc:
        msg = f"{owner} needs psycopg 3 and psycopg_pool: {_EXTRA}"
        raise ConfigurationError(msg) from exc
    return psycopg, psycopg_pool


_MAX_SECONDS: Final = 2_147_483  # PostgreSQL's limit: 2**31 - 1 milliseconds


def milliseconds(name: str, seconds: object) -> int:
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


def translate(psycopg: ModuleType, exc: Exception, conversation_id: str | None = None) -> Exception:
    """Return the convguard error for a psycopg error."""
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


def check_schema(schema: object) -> str:
    """Return *schema* when it is a lowercase SQL identifier.

    Raises:
        ConfigurationError: Otherwise.
    """
    if not isinstance(schema, str) or not SCHEMA_NAME.fullmatch(schema):
        msg = f"schema must be a lowercase SQL identifier, not {schema!r}"
        raise ConfigurationError(msg)
    return schema


def startup_options(psycopg: ModuleType, dsn: str, limits: tuple[tuple[str, int], ...]) -> str:
    """Return the connection's startup ``options``: the dsn's own, then the limits.

    The limits ride on the connection's startup packet: no round trip.

    Raises:
        ConfigurationError: When *dsn* is not a connection string.
    """
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        msg = f"dsn is not a PostgreSQL connection string or URL: {exc}"
        raise ConfigurationError(msg) from exc
    return " ".join(
        [str(info.get("options") or ""), *(f"-c {n}={ms}" for n, ms in limits if ms)]
    ).strip()


# A connection lent again within this many seconds of its last lending is
# not checked with a round trip: it was working a moment ago. A server that
# closed it meanwhile has (nearly always) said so on its socket already, which
# has_news() sees for free; a kill that lands in the same instant fails the
# call with StoreUnavailableError, nothing written, as any failure mid-call.
FRESH_SECONDS: Final = 1.0


def has_news(conn: Any) -> bool:  # noqa: ANN401 - a psycopg connection, sync or async
    """Return whether an idle connection has anything to read (or is closed).

    An idle connection in autocommit mode is sent nothing unasked but the
    server's goodbye (a termination notice, then end of file), a notice or a
    notification: each is worth a real check. A ``select`` with no timeout
    costs a system call, not a round trip.
    """
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except Exception:  # noqa: BLE001 - a socket the driver lost (its own error) or the OS refused
        return True
    return bool(readable)


def append_params(
    conversation_id: str, message: Message, expected_version: int, *, move_tip: bool
) -> Mapping[str, object]:
    """Return the parameters of :data:`APPEND` for one message."""
    row = message_params(conversation_id, message)
    return {
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


def append_refusal(
    conversation_id: str, message: Message, expected_version: int, found: Sequence[Any]
) -> ConvguardError:
    """Return why :data:`APPEND` stored nothing, from :data:`WHY_NOT`'s row.

    Returns:
        StoreConflictError: When the version moved on.
        ConversationEndedError: When the parent is ended.
        UnknownConversationError: For an unknown conversation.
        UnknownMessageError: When the parent is not in the conversation.
        InvalidOperationError: For a duplicate id or a wrong depth.
    """
    version, taken, parent_depth, parent_ended = found
    if version is None:
        return UnknownConversationError(conversation_id)
    if version != expected_version:
        return StoreConflictError(
            conversation_id, f"expected version {expected_version}, found {version}"
        )
    depth = 0 if parent_depth is None else int(parent_depth) + 1
    if taken:
        invalid = f"message id {message.id!r} is already in the conversation"
    elif message.parent_id is not None and parent_depth is None:
        return UnknownMessageError(conversation_id, message.parent_id)
    elif parent_ended:
        return ConversationEndedError(conversation_id, message.parent_id or "")
    elif message.depth != depth:
        invalid = f"message {message.id!r} has depth {message.depth}, expected {depth}"
    else:
        # Every check holds now: another writer held the row lock and moved
        # the version, or made the conversation, after the statement's snapshot.
        return StoreConflictError(
            conversation_id, f"expected version {expected_version}, another writer moved it"
        )
    return InvalidOperationError(invalid)
