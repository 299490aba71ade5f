"""Database faults: each gets a clear StoreError subclass and leaves nothing half-written."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard.detectors import DetectionContext
from convguard.stores import PostgresStore, SQLiteStore, Store

DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2025, 1, 2, tzinfo=UTC)


def postgres_reason() -> str | None:
    """Return why PostgreSQL tests cannot run, or ``None`` when they can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'convguard[postgres]')"
    try:
        with psycopg.connect(DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {DSN}: {exc}"


PG_SKIP = postgres_reason()
needs_postgres = pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")


def user(message_id: str, parent: cg.Message | None = None) -> cg.Message:
    """Build a user message under *parent*."""
    return cg.Message(
        message_id,
        None if parent is None else parent.id,
        cg.Role.USER,
        "hello",
        T0,
        cg.PolicyState(),
        depth=0 if parent is None else parent.depth + 1,
    )


def seeded(store: Store) -> cg.Message:
    """Store conversation ``c1`` with one message and return it."""
    root = user("m0")
    store.create("c1", created_at=T0, messages=[root])
    return root


# -- SQLite -------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Return the path of a database holding conversation ``c1``."""
    path = tmp_path / "faults.db"
    store = SQLiteStore(path)
    seeded(store)
    store.close()
    return path


def raw(path: Path) -> sqlite3.Connection:
    """Open the file behind convguard's back, in autocommit mode."""
    return sqlite3.connect(path, isolation_level=None)


def write_once(path: Path) -> None:
    """Open the file and append one message to ``c1``."""
    store = SQLiteStore(path)
    try:
        store.append("c1", user("m1", store.get("c1", "m0")), expected_version=0)
    finally:
        store.close()


def read_all(path: Path) -> None:
    """Open the file and read every message of ``c1``."""
    store = SQLiteStore(path)
    try:
        store.messages("c1")
    finally:
        store.close()


class TestSQLiteLocked:
    def test_a_write_waits_then_reports_the_lock(self, db: Path) -> None:
        """A writer locked out past its timeout gets StoreUnavailableError; reads go on."""
        store = SQLiteStore(db, timeout=0.05)
        other = raw(db)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(cg.StoreUnavailableError, match="locked"):
                store.append("c1", user("m1", store.get("c1", "m0")), expected_version=0)
            assert store.head("c1").version == 0
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.append("c1", user("m1", store.get("c1", "m0")), expected_version=0)
        assert store.head("c1").version == 1
        store.close()

    def test_opening_a_locked_file_reports_the_lock(self, tmp_path: Path) -> None:
        """Opening a file another writer holds exclusively raises StoreUnavailableError."""
        path = tmp_path / "plain.db"
        other = raw(path)
        other.execute("BEGIN EXCLUSIVE")
        other.execute("CREATE TABLE theirs (x INTEGER)")
        try:
            with pytest.raises(cg.StoreUnavailableError, match="locked"):
                SQLiteStore(path, timeout=0)
        finally:
            other.execute("ROLLBACK")
            other.close()


class TestSQLiteReadOnly:
    def test_a_read_only_store_reads_and_refuses_writes(self, db: Path) -> None:
        """read_only=True serves reads; every write raises StoreUnavailableError."""
        store = SQLiteStore(db, read_only=True)
        assert store.head("c1").version == 0
        with pytest.raises(cg.StoreUnavailableError, match="read-only"):
            store.append("c1", user("m1", store.get("c1", "m0")), expected_version=0)
        with pytest.raises(cg.StoreUnavailableError, match="read-only"):
            store.create("c2", created_at=T0)
        assert store.conversations() == ["c1"]
        store.close()

    @pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
    )
    def test_a_read_only_file_refuses_writes(self, db: Path) -> None:  # pragma: no cover
        """A file without write permission raises StoreUnavailableError on write."""
        db.chmod(0o444)
        try:
            with pytest.raises(cg.StoreUnavailableError):
                write_once(db)
        finally:
            db.chmod(0o644)

    def test_a_missing_read_only_file_is_unavailable(self, tmp_path: Path) -> None:
        """A read-only store on a file that does not exist raises StoreUnavailableError."""
        with pytest.raises(cg.StoreUnavailableError, match="cannot be opened"):
            SQLiteStore(tmp_path / "absent.db", read_only=True)

    def test_a_missing_directory_is_unavailable(self, tmp_path: Path) -> None:
        """A path in a directory that does not exist raises StoreUnavailableError."""
        with pytest.raises(cg.StoreUnavailableError, match="cannot be opened"):
            SQLiteStore(tmp_path / "no" / "such" / "dir.db")


class TestSQLiteCorrupt:
    def test_a_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        """Opening a file of garbage raises StoreCorruptError."""
        path = tmp_path / "garbage.db"
        path.write_bytes(b"this is not a database at all" * 200)
        with pytest.raises(cg.StoreCorruptError, match="corrupt"):
            SQLiteStore(path)

    def test_damaged_pages(self, tmp_path: Path) -> None:
        """Reading a file with damaged pages raises StoreCorruptError."""
        path = tmp_path / "damaged.db"
        store = SQLiteStore(path)
        store.create("c1", created_at=T0)
        parent: cg.Message | None = None
        for i in range(200):
            parent = user(f"m{i}", parent)
            store.append("c1", parent, expected_version=i)
        store.close()
        data = bytearray(path.read_bytes())
        page = 4096
        for at in range(2 * page, len(data), page):
            data[at : at + 64] = b"\xff" * 64
        path.write_bytes(bytes(data))
        with pytest.raises(cg.StoreCorruptError):
            read_all(path)

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("state", "{not json"),
            ("state", '{"status": "sideways"}'),
            ("state", "[1, 2]"),
            ("verdict", '{"action": "explode"}'),
            ("metadata", "[]"),
            ("metadata", "{oops"),
            ("created_at", "yesterday"),
            ("created_at", "42"),
            ("role", "narrator"),
        ],
    )
    def test_a_row_convguard_never_wrote(self, db: Path, column: str, value: str) -> None:
        """A message row holding foreign data raises StoreCorruptError when read."""
        conn = raw(db)
        if value == "42":
            conn.execute(f"UPDATE messages SET {column} = 42")  # noqa: S608 - test column
        else:
            conn.execute(f"UPDATE messages SET {column} = ?", (value,))  # noqa: S608 - test column
        conn.close()
        store = SQLiteStore(db)
        with pytest.raises(cg.StoreCorruptError):
            store.get("c1", "m0")
        store.close()

    def test_corrupt_conversation_metadata(self, db: Path) -> None:
        """Conversation bookkeeping holding foreign data raises StoreCorruptError."""
        conn = raw(db)
        conn.execute("UPDATE conversations SET metadata = '7'")
        conn.close()
        store = SQLiteStore(db)
        with pytest.raises(cg.StoreCorruptError):
            store.info("c1")
        store.close()

    def test_missing_tables(self, db: Path) -> None:
        """A file whose tables were dropped raises StoreCorruptError."""
        conn = raw(db)
        conn.execute("DROP TABLE feedback")
        conn.close()
        store = SQLiteStore(db)
        with pytest.raises(cg.StoreCorruptError, match="tables"):
            store.feedback()
        store.close()


class TestSQLiteAtomic:
    def test_a_failed_create_leaves_nothing(self, db: Path) -> None:
        """A create failing on its third message stores no part of the conversation."""
        conn = raw(db)
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.id = 'x2'"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        conn.close()
        store = SQLiteStore(db)
        messages = [user("x0")]
        messages += [user("x1", messages[0])]
        messages += [user("x2", messages[1])]
        with pytest.raises(cg.StoreError, match="boom"):
            store.create("c2", created_at=T0, messages=messages)
        assert store.conversations() == ["c1"]
        with pytest.raises(cg.StoreError, match="boom"):
            store.append("c1", user("x2", store.get("c1", "m0")), expected_version=0)
        assert store.head("c1").version == 0
        assert len(store.messages("c1")) == 1
        store.close()

    def test_a_closed_store_refuses_calls(self, db: Path) -> None:
        """Any call on a closed store raises StoreUnavailableError."""
        store = SQLiteStore(db)
        store.close()
        with pytest.raises(cg.StoreUnavailableError, match="closed"):
            store.head("c1")
        with pytest.raises(cg.StoreUnavailableError, match="closed"):
            store.create("c2", created_at=T0)

    def test_a_connection_closed_underneath_is_reported(self, db: Path) -> None:
        """A connection closed behind the store's back raises StoreUnavailableError."""
        store = SQLiteStore(db)
        store._connection().close()
        with pytest.raises(cg.StoreUnavailableError, match="closed"):
            store.head("c1")
        store.close()

    def test_metadata_that_is_not_json(self, db: Path) -> None:
        """Metadata JSON cannot hold is refused with InvalidMessageError, nothing stored."""
        store = SQLiteStore(db)
        with pytest.raises(cg.InvalidMessageError, match="JSON"):
            store.create("c2", created_at=T0, metadata={"when": object()})
        assert store.conversations() == ["c1"]
        store.close()

    def test_bad_conversation_ids_are_refused(self, db: Path) -> None:
        """A conversation id that is not a non-empty str is refused on create."""
        store = SQLiteStore(db)
        with pytest.raises(cg.InvalidOperationError):
            store.create("", created_at=T0)
        assert store.feedback(42) == []  # type: ignore[arg-type]
        store.close()


# -- PostgreSQL ---------------------------------------------------------------


def conninfo(**extra: Any) -> str:
    """Return the test DSN with extra parameters."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(DSN, **extra)


@pytest.fixture
def pg() -> Iterator[tuple[PostgresStore, str]]:
    """A PostgresStore on a fresh schema, and the application name of its connections."""
    if PG_SKIP:
        pytest.skip(PG_SKIP)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    app = f"cg_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(conninfo(application_name=app), schema=schema, max_size=2)
    seeded(store)
    yield store, app
    store.close()
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def terminate(app: str, *, waiting: bool = False) -> int:
    """Kill the server processes of every connection named *app*; return how many.

    Returns once they are gone (PostgreSQL 14's wait), so the kill has
    happened, not merely been asked for, by the time the test goes on.
    """
    import psycopg

    query = (
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = %s"
    )
    if waiting:
        query += " AND wait_event_type = 'Lock'"
    with psycopg.connect(DSN, autocommit=True) as conn:
        return len(conn.execute(query, (app,)).fetchall())


class KillingDetector:
    """A detector that kills the store's connections mid-turn, once."""

    name = "killer"

    def __init__(self, app: str) -> None:
        """Remember whose connections to kill."""
        self.app = app
        self.killed = 0

    def detect(self, text: str, context: DetectionContext) -> Sequence[cg.Finding]:
        """Kill the connections between the turn's read and its write."""
        if not self.killed:
            self.killed = terminate(self.app)
        return ()


class TestPostgresKilled:
    def test_a_connection_killed_mid_turn_is_replaced(self, pg: tuple[PostgresStore, str]) -> None:
        """Connections killed between a turn's read and write are replaced; the turn lands.

        The write borrows a connection lent a moment before, which the pool
        lends without a check round trip, unless its socket already says the
        server hung up, as it does here.
        """
        store, app = pg
        killer = KillingDetector(app)
        guard = cg.Guard(detectors=[killer], store=store)
        conv = guard.open("c1")
        verdict = conv.send("hello")
        assert killer.killed >= 1
        assert store.get("c1", verdict.message_id or "").content == "hello"
        assert store.head("c1").version == 1

    def test_a_connection_killed_inside_a_write(self, pg: tuple[PostgresStore, str]) -> None:
        """A write whose connection dies raises StoreUnavailableError; nothing lands; next works."""
        import psycopg

        store, app = pg
        outcome: list[BaseException] = []
        locker = psycopg.connect(DSN)
        # Hold the conversation row so the store's write waits inside its transaction.
        locker.execute(
            f'SELECT * FROM "{store.schema}".conversations WHERE id = %s FOR UPDATE',  # noqa: S608 - test schema
            ("c1",),
        )

        def write() -> None:
            try:
                store.append("c1", user("m1", user("m0")), expected_version=0)
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        thread = threading.Thread(target=write)
        thread.start()
        deadline = time.monotonic() + 30
        while not terminate(app, waiting=True):
            assert time.monotonic() < deadline, "the write never waited for the lock"
        thread.join()
        locker.rollback()
        locker.close()
        assert len(outcome) == 1
        assert isinstance(outcome[0], cg.StoreUnavailableError)
        assert store.head("c1").version == 0
        assert [m.id for m in store.messages("c1")] == ["m0"]
        store.append("c1", user("m1", user("m0")), expected_version=0)
        assert store.head("c1").version == 1


def hold_row(store: PostgresStore) -> Any:
    """Open a second session holding conversation c1's row lock; roll it back to release."""
    import psycopg

    locker = psycopg.connect(DSN)
    locker.execute(
        f'SELECT * FROM "{store.schema}".conversations WHERE id = %s FOR UPDATE',  # noqa: S608 - test schema
        ("c1",),
    )
    return locker


class TestPostgresTimeouts:
    def test_a_held_row_lock_times_out_with_nothing_written(self) -> None:
        """A write behind another session's row lock gives up after lock_timeout: nothing lands."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, lock_timeout=0.2)
        try:
            root = seeded(store)
            locker = hold_row(store)
            try:
                with pytest.raises(cg.StoreUnavailableError, match="lock_timeout") as caught:
                    store.append("c1", user("m1", root), expected_version=0)
                assert "'c1'" in str(caught.value)
            finally:
                locker.rollback()
                locker.close()
            assert store.head("c1").version == 0
            assert [m.id for m in store.messages("c1")] == ["m0"]
            store.append("c1", user("m1", root), expected_version=0)
            assert store.head("c1").version == 1
        finally:
            store.close()
            drop(schema)

    def test_a_turn_behind_a_held_lock_fails_cleanly(self) -> None:
        """send() behind a held lock raises StoreUnavailableError; the turn is not stored."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, lock_timeout=0.2)
        try:
            seeded(store)
            conv = cg.Guard(store=store).open("c1")
            locker = hold_row(store)
            try:
                with pytest.raises(cg.StoreUnavailableError):
                    conv.send("hello there")
            finally:
                locker.rollback()
                locker.close()
            assert [m.id for m in store.messages("c1")] == ["m0"]
            assert conv.send("hello there").message_id is not None
        finally:
            store.close()
            drop(schema)

    def test_a_long_statement_is_cancelled(self) -> None:
        """statement_timeout reaches every statement of the store's connections."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, statement_timeout=0.1)
        try:
            with store._read() as conn:
                row = conn.execute("SHOW statement_timeout").fetchone()
                assert row == ("100ms",)
            with (
                pytest.raises(cg.StoreUnavailableError, match="statement_timeout"),
                store._write() as conn,
            ):
                conn.execute("SELECT pg_sleep(5)")  # slower than the limit
        finally:
            store.close()
            drop(schema)

    def test_the_defaults_are_on_and_none_turns_them_off(self) -> None:
        """By default locks wait 5 s and statements run 30 s at most; None lifts either limit."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        schema = f"t_{uuid.uuid4().hex[:16]}"
        shown = "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        for limits, expected in [((5.0, 30.0), ("5s", "30s")), ((None, None), ("0", "0"))]:
            if limits == (5.0, 30.0):
                store = PostgresStore(DSN, schema=schema)  # the defaults
            else:
                store = PostgresStore(
                    DSN, schema=schema, lock_timeout=limits[0], statement_timeout=limits[1]
                )
            try:
                with store._read() as conn:
                    assert conn.execute(shown).fetchone() == expected
            finally:
                store.close()
        drop(schema)

    def test_your_own_pool_gets_the_limits_on_writes(self) -> None:
        """With a ConnectionPool you manage, each write sets the limits for its transaction."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        from psycopg_pool import ConnectionPool

        schema = f"t_{uuid.uuid4().hex[:16]}"
        pool: ConnectionPool[Any] = ConnectionPool(DSN, min_size=1, max_size=2, open=True)
        try:
            store = PostgresStore(pool, schema=schema, lock_timeout=0.2)
            root = seeded(store)
            locker = hold_row(store)
            try:
                with pytest.raises(cg.StoreUnavailableError, match="lock_timeout"):
                    store.append("c1", user("m1", root), expected_version=0)
            finally:
                locker.rollback()
                locker.close()
            assert store.head("c1").version == 0
            store.close()
        finally:
            pool.close()
            drop(schema)

    @pytest.mark.parametrize("value", [0, -1, "5", True, float("nan"), float("inf"), 10**7])
    @pytest.mark.parametrize("name", ["lock_timeout", "statement_timeout"])
    def test_bad_limits_are_refused(self, name: str, value: object) -> None:
        """A limit must be a positive number of seconds or None."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        with pytest.raises(cg.ConfigurationError, match=name):
            PostgresStore(DSN, **{name: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("dsn", ["not a dsn", "postgres://[bad"])
    def test_a_dsn_that_is_not_one_is_a_configuration_error(self, dsn: str) -> None:
        """A string that is no connection string raises ConfigurationError before connecting."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        with pytest.raises(cg.ConfigurationError, match="not a PostgreSQL connection string"):
            PostgresStore(dsn)


def drop(schema: str) -> None:
    """Drop a test schema."""
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class TestPostgresFaults:
    def test_a_server_that_is_down_at_start(self) -> None:
        """A store on a port where nothing listens raises StoreUnavailableError at once."""
        if PG_SKIP:
            pytest.skip(PG_SKIP)
        with pytest.raises(cg.StoreUnavailableError, match="cannot be reached"):
            PostgresStore(conninfo(port=1), connect_timeout=2)

    def test_an_exhausted_pool(self, pg: tuple[PostgresStore, str]) -> None:
        """A call that waits too long for a connection raises StoreUnavailableError."""
        store, _ = pg
        from psycopg_pool import ConnectionPool

        pool: ConnectionPool[Any] | None = store._pool
        assert pool is not None
        held = [pool.getconn(), pool.getconn()]
        try:
            pool.timeout = 0.1
            with pytest.raises(cg.StoreUnavailableError):
                store.head("c1")
        finally:
            for conn in held:
                pool.putconn(conn)
        assert store.head("c1").version == 0

    def test_a_value_postgres_refuses(self, pg: tuple[PostgresStore, str]) -> None:
        """Text PostgreSQL cannot hold (NUL) raises InvalidMessageError, nothing stored."""
        store, _ = pg
        bad = cg.Message("m1", "m0", cg.Role.USER, "a\x00b", T0, cg.PolicyState(), depth=1)
        with pytest.raises(cg.InvalidMessageError, match="refused"):
            store.append("c1", bad, expected_version=0)
        assert store.head("c1").version == 0

    def test_a_failed_create_leaves_nothing(self, pg: tuple[PostgresStore, str]) -> None:
        """A create failing on its third message stores no part of it."""
        import psycopg

        store, _ = pg
        s = f'"{store.schema}"'
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(
                f"CREATE FUNCTION {s}.boom() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN IF NEW.id = 'x2' THEN RAISE EXCEPTION 'boom'; END IF;"
                " RETURN NEW; END $$"
            )
            conn.execute(
                f"CREATE TRIGGER boom BEFORE INSERT ON {s}.messages"
                f" FOR EACH ROW EXECUTE FUNCTION {s}.boom()"
            )
        messages = [user("x0")]
        messages += [user("x1", messages[0])]
        messages += [user("x2", messages[1])]
        with pytest.raises(cg.StoreError, match="boom"):
            store.create("c2", created_at=T0, messages=messages)
        assert store.conversations() == ["c1"]

    def test_a_write_postgres_cannot_order_is_a_conflict(
        self, pg: tuple[PostgresStore, str]
    ) -> None:
        """A serialization failure is a StoreConflictError naming the conversation."""
        import psycopg

        store, _ = pg
        s = f'"{store.schema}"'
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(
                f"CREATE FUNCTION {s}.clash() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'clash' USING ERRCODE = 'serialization_failure';"
                " END $$"
            )
            conn.execute(
                f"CREATE TRIGGER clash BEFORE INSERT ON {s}.messages"
                f" FOR EACH ROW EXECUTE FUNCTION {s}.clash()"
            )
        with pytest.raises(cg.StoreConflictError) as caught:
            store.append("c1", user("m1", user("m0")), expected_version=0)
        assert caught.value.conversation_id == "c1"
        assert store.head("c1").version == 0

    def test_missing_tables(self, pg: tuple[PostgresStore, str]) -> None:
        """A schema whose tables were dropped raises StoreCorruptError."""
        import psycopg

        store, _ = pg
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP TABLE "{store.schema}".feedback')
        with pytest.raises(cg.StoreCorruptError, match="tables"):
            store.feedback()

    def test_a_closed_store_refuses_calls(self, pg: tuple[PostgresStore, str]) -> None:
        """Any call on a closed store raises StoreUnavailableError."""
        store, _ = pg
        store.close()
        with pytest.raises(cg.StoreUnavailableError, match="closed"):
            store.head("c1")
        with pytest.raises(cg.StoreUnavailableError, match="closed"):
            store.switch("c1", "m0")

    def test_a_newer_schema_is_refused(self, pg: tuple[PostgresStore, str]) -> None:
        """A schema written by a newer convguard raises StoreError naming the versions."""
        import psycopg

        store, _ = pg
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO \"{store.schema}\".schema_version VALUES (99, 'later')"  # noqa: S608 - test schema
            )
        with pytest.raises(cg.StoreError, match="schema version 99"):
            PostgresStore(DSN, schema=store.schema)


class TestPostgresRacingStarts:
    """Two workers starting one conversation id: one wins, the other is told so."""

    def test_a_unique_violation_is_an_invalid_operation(self) -> None:
        """The driver's duplicate-key error maps to InvalidOperationError, not StoreError."""
        psycopg = pytest.importorskip("psycopg")
        from convguard.stores._pg import translate

        error = translate(psycopg, psycopg.errors.UniqueViolation("duplicate key"), "c1")
        assert isinstance(error, cg.InvalidOperationError)
        assert "'c1' already exists" in str(error)

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_racing_starts_of_one_id(self, pg: tuple[PostgresStore, str]) -> None:
        """Threads racing start(conversation_id=same): exactly one wins per id."""
        store, _ = pg
        guard = cg.Guard(store=store)
        ids = [f"race-{uuid.uuid4().hex[:8]}" for _ in range(10)]
        outcomes: list[tuple[str, str]] = []
        barrier = threading.Barrier(4)

        def worker() -> None:
            barrier.wait()
            for cid in ids:
                try:
                    guard.start(conversation_id=cid)
                    outcomes.append((cid, "won"))
                except cg.InvalidOperationError:
                    outcomes.append((cid, "refused"))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for cid in ids:
            results = sorted(kind for c, kind in outcomes if c == cid)
            assert results == ["refused", "refused", "refused", "won"]
