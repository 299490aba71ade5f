"""``convguard feedback DB``: a SQLite file read-only, or a PostgreSQL DSN."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

import convguard as cg
from convguard._cli import main
from convguard._cli.cmd_feedback import is_dsn
from convguard.stores import PostgresStore, SQLiteStore, Store
from convguard.testing import MARKERS, FakeClock, ScriptedDetector
from tests.test_stores import DSN, PG_SKIP, drop_schema


def store_feedback(store: Store) -> str:
    """Store a conversation ended after abuse, with one report; return its id."""
    guard = cg.Guard([ScriptedDetector(MARKERS)], store=store, clock=FakeClock())
    conv = guard.start()
    while not conv.send("[abuse] go away").ended:
        conv.reply("Let's talk about something else.")
    conv.feedback("unexpected_end", comment="I was joking")
    return conv.id


class TestDatabases:
    @pytest.mark.parametrize(
        ("db", "dsn"),
        [
            ("postgresql://postgres@127.0.0.1:5432/test", True),
            ("postgres://u@h/db", True),
            ("host=127.0.0.1 dbname=test user=postgres", True),
            ("chats.db", False),
            ("/var/lib/convguard/chats.db", False),
        ],
    )
    def test_a_dsn_is_told_from_a_path(self, db: str, *, dsn: bool) -> None:
        """URLs and key=value strings are DSNs; anything else is a file."""
        assert is_dsn(db) is dsn

    def test_a_file_named_like_key_value_is_a_file(self, tmp_path: Path) -> None:
        """An existing file whose name holds '=' is read as a file."""
        path = tmp_path / "a=b.db"
        path.touch()
        assert not is_dsn(str(path))

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    @pytest.mark.parametrize("form", ["url", "key=value"])
    def test_reports_are_read_from_postgresql(
        self, form: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A PostgreSQL DSN and --schema list the reports a PostgresStore keeps."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema)
        try:
            conversation_id = store_feedback(store)
            dsn = DSN if form == "url" else "host=127.0.0.1 port=5432 dbname=test user=postgres"
            assert main(["feedback", dsn, "--schema", schema]) == 0
            out = capsys.readouterr().out
            assert f"unexpected_end on conversation {conversation_id}" in out
            assert "comment: I was joking" in out
        finally:
            store.close()
            drop_schema(schema)

    def test_an_unreachable_server_is_an_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A DSN no server answers exits 2 with the store's error."""
        dsn = "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"
        assert main(["feedback", dsn]) == 2
        assert "convguard: error:" in capsys.readouterr().err

    def test_a_sqlite_file_is_read_without_writing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command reads a SQLite file read-only: its bytes do not change."""
        path = tmp_path / "chats.db"
        store = SQLiteStore(path)
        conversation_id = store_feedback(store)
        store.close()
        before = path.read_bytes()
        assert main(["feedback", str(path)]) == 0
        assert f"unexpected_end on conversation {conversation_id}" in capsys.readouterr().out
        assert path.read_bytes() == before

    def test_a_file_without_convguard_tables_is_named(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Another program's SQLite file exits 2, says so, and gets no tables."""
        path = tmp_path / "other.db"
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("CREATE TABLE notes (x TEXT)")
        conn.close()
        assert main(["feedback", str(path)]) == 2
        assert "no convguard tables" in capsys.readouterr().err
        conn = sqlite3.connect(path)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        conn.close()
        assert tables == ["notes"]
