"""``SQLiteStore``: conversations in one SQLite file, safe across threads and processes."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, final
from urllib.parse import quote

from .._errors import (
    ConfigurationError,
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
)
from ._rows import Migration
from ._sql import SQLStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

# A stored ISO 8601 time as microseconds since the epoch (offset applied).
_US: Final = (
    "(CAST(strftime('%s', {t}) AS INTEGER) * 1000000 + CASE WHEN substr({t}, 20, 1) = '.'"
    " THEN CAST(substr({t}, 21, 6) AS INTEGER) ELSE 0 END)"
)

# The ordered steps of the schema. A new release appends a step; a step is
# never edited once released, so every older file can be brought forward.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    (
        1,
        (
            (
                "CREATE TABLE conversations ("
                " seq INTEGER PRIMARY KEY,"
                " id TEXT NOT NULL UNIQUE,"
                " created_at TEXT NOT NULL,"
                " metadata TEXT NOT NULL,"
                " version INTEGER NOT NULL,"
                " tip_id TEXT,"
                " ended_branches INTEGER NOT NULL,"
                " message_count INTEGER NOT NULL)"
            ),
            (
                "CREATE TABLE messages ("
                " seq INTEGER PRIMARY KEY,"
                " conversation_id TEXT NOT NULL REFERENCES conversations (id),"
                " id TEXT NOT NULL,"
                " parent_id TEXT,"
                " role TEXT NOT NULL,"
                " content TEXT NOT NULL,"
                " created_at TEXT NOT NULL,"
                " state TEXT NOT NULL,"
                " verdict TEXT,"
                " metadata TEXT NOT NULL,"
                " depth INTEGER NOT NULL,"
                " ended INTEGER NOT NULL,"
                " UNIQUE (conversation_id, id))"
            ),
            (
                "CREATE TABLE feedback ("
                " seq INTEGER PRIMARY KEY,"
                " id TEXT NOT NULL,"
                " conversation_id TEXT NOT NULL REFERENCES conversations (id),"
                " kind TEXT NOT NULL,"
                " comment TEXT,"
                " message_id TEXT,"
                " created_at TEXT NOT NULL,"
                " metadata TEXT NOT NULL)"
            ),
            "CREATE INDEX feedback_by_conversation ON feedback (conversation_id, seq)",
        ),
    ),
    (
        2,
        (
            # The conversation's risk record; older files learn it from the
            # SUPPORT verdicts they hold.
            "ALTER TABLE conversations ADD COLUMN at_risk INTEGER NOT NULL DEFAULT 0",
            (
                "UPDATE conversations SET at_risk = 1 WHERE id IN (SELECT conversation_id"
                ' FROM messages WHERE verdict LIKE \'{"action":"support"%\')'
            ),
        ),
    ),
    (
        3,
        (
            # Listing by last activity (microseconds since the epoch, UTC),
            # titles, and metadata tags to filter by; older files learn them
            # from the messages and metadata they hold.
            "ALTER TABLE conversations ADD COLUMN updated_us INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conversations ADD COLUMN title TEXT",
            (  # our own expression, no input
                "UPDATE conversations SET updated_us = max(" + _US.format(t="created_at") + ","  # noqa: S608
                " COALESCE((SELECT max(" + _US.format(t="m.created_at") + ") FROM messages m"
                " WHERE m.conversation_id = conversations.id), 0))"
            ),
            (
                "UPDATE conversations SET title = (SELECT substr(m.content, 1, 80) FROM messages m"
                " WHERE m.conversation_id = conversations.id AND m.role = 'user'"
                " ORDER BY m.seq LIMIT 1)"
            ),
            "CREATE INDEX conversations_by_activity ON conversations (updated_us, seq)",
            (
                "CREATE TABLE conversation_tags ("
                " key TEXT NOT NULL,"
                " value TEXT NOT NULL,"
                " conversation_id TEXT NOT NULL REFERENCES conversations (id),"
                " PRIMARY KEY (key, value, conversation_id)) WITHOUT ROWID"
            ),
            "CREATE INDEX tags_by_conversation ON conversation_tags (conversation_id)",
            (
                "INSERT OR IGNORE INTO conversation_tags (key, value, conversation_id)"
                " SELECT j.key, CASE j.type WHEN 'text' THEN 's' || j.atom"
                " WHEN 'integer' THEN 'i' || j.atom WHEN 'true' THEN 'b1'"
                " WHEN 'false' THEN 'b0' ELSE 'n' END, c.id"
                " FROM conversations c, json_each(c.metadata) j"
                " WHERE j.type IN ('text', 'integer', 'true', 'false', 'null')"
            ),
        ),
    ),
)
SCHEMA_VERSION: Final = MIGRATIONS[-1][0]

_TABLES: Final = {
    "conversations": "conversations",
    "messages": "messages",
    "feedback": "feedback",
    "tags": "conversation_tags",
}


def _translate(exc: sqlite3.Error, path: str) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = f"SQLite database {path!r}"
    cases: tuple[tuple[bool, type[StoreError], str], ...] = (
        (
            isinstance(exc, sqlite3.ProgrammingError) and "closed" in text,
            StoreUnavailableError,
            f"the {where} is closed",
        ),
        (
            name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text,
            StoreUnavailableError,
            f"the {where} is locked by another writer: {text}",
        ),
        (
            name.startswith("SQLITE_READONLY") or "readonly" in text,
            StoreUnavailableError,
            f"the {where} is read-only: {text}",
        ),
        (
            name.startswith("SQLITE_CANTOPEN") or "unable to open" in text,
            StoreUnavailableError,
            f"the {where} cannot be opened: {text}",
        ),
        (
            name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
            or "not a database" in text
            or "malformed" in text,
            StoreCorruptError,
            f"the {where} is corrupt: {text}",
        ),
        (
            "no such table" in text or "no such column" in text,
            StoreCorruptError,
            f"the {where} lacks convguard's tables: {text}",
        ),
    )
    for matches, error, message in cases:
        if matches:
            return error(message)
    return StoreError(f"the {where} failed: {text}")


def _release(
    connections: list[sqlite3.Connection], lock: threading.RLock, conn: sqlite3.Connection
) -> None:
    with lock:
        if conn in connections:
            connections.remove(conn)
    conn.close()


@final
class SQLiteStore(SQLStore):
    """Keep conversations in a SQLite file: survives restarts, no server needed.

    The embedded default for anything that must outlive the process. The file
    runs in WAL mode, so readers never wait for the writer; every write is one
    ``BEGIN IMMEDIATE`` transaction, and writers in other threads or processes
    wait up to *timeout* for the file lock before
    :class:`~convguard.StoreUnavailableError`.

    Each thread gets its own connection (opened on first use, closed when
    the thread ends or by :meth:`close`), so one store can be shared by a
    thread pool. ``":memory:"``
    keeps everything in memory; its single connection is then shared under a
    lock, since every connection to ``":memory:"`` would be its own database.

    The schema is versioned: opening a file written by an older convguard
    applies the missing migration steps in one transaction.

    Args:
        path: The database file (created when missing), or ``":memory:"``.
        timeout: Seconds a write waits for another writer's lock.
        read_only: Open the file read-only; every write raises
            :class:`~convguard.StoreUnavailableError`.
        synchronous: SQLite's ``synchronous`` setting. ``"FULL"`` (default)
            keeps every acknowledged turn through a power loss; ``"NORMAL"``
            is faster and still safe when only the process crashes.

    Raises:
        StoreUnavailableError: When the file cannot be opened or is locked.
        StoreCorruptError: When it is not a convguard database.
        StoreError: When it was written by a newer convguard.
        ConfigurationError: For a bad *timeout* or *synchronous*.
    """

    __slots__ = (
        "_closed",
        "_connections",
        "_local",
        "_lock",
        "_path",
        "_read_only",
        "_shared",
        "_synchronous",
        "_timeout",
    )

    def __init__(
        self,
        path: str | os.PathLike[str] = "convguard.db",
        *,
        timeout: float = 5.0,
        read_only: bool = False,
        synchronous: str = "FULL",
    ) -> None:
        """Open (or create) the database and bring its schema up to date."""
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            msg = f"timeout must be a non-negative number of seconds, not {timeout!r}"
            raise ConfigurationError(msg)
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            msg = f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}"
            raise ConfigurationError(msg)
        self._path = os.fspath(path)
        self._timeout = float(timeout)
        self._read_only = read_only
        self._synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        self._prepare(_TABLES, "?")
        try:
            # Read first, so a read-only or up-to-date file needs no write lock.
            with self._read() as conn:
                current = self._stored_version(conn)
            if current == MIGRATIONS[-1][0]:
                return
            if read_only:
                self._refuse_schema(current)
            with self._write() as conn:
                self._migrate(
                    conn,
                    MIGRATIONS,
                    "schema_version",
                    "?",
                    datetime.now(UTC).isoformat(),
                )
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        """Show the file."""
        return f"<SQLiteStore {self._path!r}>"

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._read() as conn:
            return self._stored_version(conn)

    @staticmethod
    def _stored_version(conn: sqlite3.Connection) -> int:
        known = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if known is None:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return 0 if row[0] is None else int(row[0])

    def _refuse_schema(self, current: int) -> None:
        """Explain why a read-only file cannot be used: nothing may be migrated."""
        where = f"the SQLite database {self._path!r}"
        latest = MIGRATIONS[-1][0]
        if current == 0:
            msg = (
                f"{where} has no convguard tables (is it a convguard database?), and"
                " read_only=True cannot create them"
            )
            raise StoreCorruptError(msg)
        if current < latest:
            msg = (
                f"{where} has schema version {current}, older than the {latest} this"
                " convguard reads; open it once without read_only to migrate it"
            )
            raise StoreUnavailableError(msg)
        msg = (
            f"{where} has schema version {current}, newer than the {latest} this"
            " convguard knows; upgrade convguard"
        )
        raise StoreError(msg)

    def _open_read_only(self) -> sqlite3.Connection:
        path = Path(self._path).absolute()
        target = f"file:{quote(str(path))}?mode=ro"
        conn = sqlite3.connect(
            target, timeout=self._timeout, isolation_level=None, check_same_thread=False, uri=True
        )
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_CANTOPEN" or not path.is_file():
                raise
            wal = path.with_name(path.name + "-wal")
            if wal.is_file() and wal.stat().st_size > 0:
                msg = (
                    f"the SQLite database {self._path!r} is read-only with a WAL file of"
                    " changes, and SQLite cannot create its -shm file beside it to read them;"
                    " copy the files to a writable directory or checkpoint the WAL first"
                )
                raise StoreUnavailableError(msg) from exc
            # A read-only directory, where SQLite cannot make its -shm file,
            # and no WAL pending: the file alone is the whole database.
            conn = sqlite3.connect(
                target + "&immutable=1",
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=True,
            )
        return conn

    @property
    def _in_memory(self) -> bool:
        return self._path in (":memory:", "")

    def _open(self) -> sqlite3.Connection:
        if self._read_only and not self._in_memory:
            conn = self._open_read_only()
        else:
            conn = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        try:
            if not self._read_only:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            # Erased rows are overwritten with zeros, not left in free space.
            conn.execute("PRAGMA secure_delete=ON")
            if self._read_only:
                conn.execute("PRAGMA query_only=ON")
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            msg = f"the SQLite database {self._path!r} is closed"
            raise StoreUnavailableError(msg)
        if self._in_memory:
            if self._shared is None:
                self._shared = self._open()
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
            # A thread that ends takes its connection with it, so a server
            # that starts a thread per request does not pile connections up.
            weakref.finalize(
                threading.current_thread(), _release, self._connections, self._lock, conn
            )
        return conn

    def _serialize(self) -> AbstractContextManager[object]:
        # Only the shared in-memory connection needs a lock: file connections
        # belong to one thread each, and SQLite orders their transactions.
        return self._lock if self._in_memory else nullcontext()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._serialize():
            try:
                yield self._connection()
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc

    @contextmanager
    def _write(self, conversation_id: str | None = None) -> Iterator[sqlite3.Connection]:  # noqa: ARG002 - SQLite orders writers on its lock
        with self._serialize():
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc, self._path) from exc
                raise

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # SQLite may have rolled back already (e.g. after SQLITE_FULL).
        if conn.in_transaction:  # pragma: no branch - the other way needs a full disk
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _erased(self) -> None:
        # The erased rows were zeroed in their pages (secure_delete), but the
        # WAL still holds the pages as they were: copy it into the file and
        # cut it to zero bytes. A reader holding an old snapshot can keep the
        # WAL alive; it is then cut by a later erasure or checkpoint.
        if self._in_memory:
            return
        with self._read() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def close(self) -> None:
        """Close every connection. The store is unusable afterwards."""
        with self._lock:
            self._closed = True
            connections = list(self._connections)
            self._connections.clear()
            self._shared = None
        for conn in connections:
            conn.close()
