"""One behaviour suite for every store: memory, SQLite, and PostgreSQL when reachable."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import attrs
import pytest

import convguard as cg
from convguard.stores import (
    AsyncPostgresStore,
    ConversationInfo,
    Feedback,
    MemoryStore,
    PostgresStore,
    SQLiteStore,
    Store,
    _sqlite,
)
from convguard.testing import ScriptedDetector
from tests.conftest import build_guard
from tests.test_policy import TallyPolicy, play_tally

DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
ENDED = cg.PolicyState(status=cg.Status.ENDED, redirections=3, warned=True)


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


def drop_schema(schema: str) -> None:
    """Remove a test schema and everything in it."""
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


StoreFactory = Callable[[], Store]


class AwaitedStore:
    """A sync ``Store`` over an ``AsyncStore``: each call awaited on a loop of its own.

    So the one behaviour suite below checks ``AsyncPostgresStore`` too, calls
    from many threads included (they run as concurrent tasks on the loop).
    """

    def __init__(self, store: cg.AsyncStore) -> None:
        """Wrap *store* and start its event loop in a thread."""
        self.inner = store
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Return the store's method *name*, called and awaited on the loop."""
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(method(*args, **kwargs), self.loop).result()

        return call

    def close(self) -> None:
        """Close the store, then stop its loop."""
        try:
            self.__getattr__("close")()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


@pytest.fixture(params=["memory", "sqlite", "postgres", "async-postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Open stores of one kind; every one opened on the same backing database."""
    opened: list[Store] = []
    kind = request.param
    schema = f"t_{uuid.uuid4().hex[:16]}"
    memory = MemoryStore()
    if kind.endswith("postgres") and PG_SKIP:
        pytest.skip(PG_SKIP)

    def factory() -> Store:
        store: Store
        if kind == "memory":
            store = memory
        elif kind == "sqlite":
            store = SQLiteStore(tmp_path / "convguard.db")
        elif kind == "postgres":
            store = PostgresStore(DSN, schema=schema, max_size=4)
        else:
            store = cast("Store", AwaitedStore(AsyncPostgresStore(DSN, schema=schema, max_size=4)))
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if kind.endswith("postgres"):
        drop_schema(schema)


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    """Return one store of each kind."""
    return make_store()


def node(  # noqa: PLR0913 - a message has many fields
    message_id: str,
    parent: cg.Message | None = None,
    *,
    role: cg.Role = cg.Role.USER,
    content: str = "hello",
    state: cg.PolicyState | None = None,
    verdict: cg.Verdict | None = None,
    metadata: dict[str, Any] | None = None,
) -> cg.Message:
    """Build a message under *parent*."""
    return cg.Message(
        message_id,
        None if parent is None else parent.id,
        role,
        content,
        T0,
        cg.PolicyState() if state is None else state,
        verdict,
        metadata or {},
        0 if parent is None else parent.depth + 1,
    )


def rich_message(parent: cg.Message) -> cg.Message:
    """Build a message carrying every kind of field a store must keep."""
    state = cg.PolicyState(
        status=cg.Status.REDIRECTING,
        redirections=2,
        warned=True,
        benign_streak=0,
        exempt=True,
        exempt_until=7,
        user_turns=4,
        seen=frozenset({"abuse", "mass_violence"}),
        turn_counted=True,
    )
    verdict = cg.Verdict(
        action=cg.Action.WARN,
        state=state,
        message_id="rich",
        findings=(
            cg.Finding("abuse", 0.75, "scripted", cg.Evidence(0, 4, "jerk")),
            cg.Finding("hate", 0.25, "other"),
        ),
        reasons=("rule 2: warn",),
        guidance="say it plainly",
        errors=(cg.DetectorFailure("broken", "error", "boom"),),
        would_end=True,
    )
    return cg.Message(
        "rich",
        parent.id,
        cg.Role.USER,
        "jerk, ünïcode ✓",
        T0 + timedelta(hours=5),
        state,
        verdict,
        {"nested": {"list": [1, 2.5, None, True]}, "text": "é"},
        parent.depth + 1,
    )


def chain(store: Store, conversation_id: str, length: int) -> list[cg.Message]:
    """Store a conversation that is one branch of *length* messages."""
    out: list[cg.Message] = []
    parent: cg.Message | None = None
    for i in range(length):
        parent = node(f"m{i}", parent, role=cg.Role.USER if i % 2 == 0 else cg.Role.ASSISTANT)
        out.append(parent)
    store.create(conversation_id, created_at=T0, messages=out)
    return out


class TestCreate:
    def test_a_new_conversation_is_empty(self, store: Store) -> None:
        """A new conversation has no tip, version 0 and nothing ended."""
        store.create("c1", created_at=T0, metadata={"title": "hi"})
        head = store.head("c1")
        assert (head.conversation_id, head.version, head.tip, head.ended_branches) == (
            "c1",
            0,
            None,
            0,
        )
        info = store.info("c1")
        assert info == ConversationInfo(
            "c1", T0, {"title": "hi"}, 0, None, 0, 0, updated_at=T0, title="hi"
        )

    def test_a_whole_tree_is_stored_with_its_tip(self, store: Store) -> None:
        """An imported tree keeps every node and the tip it names."""
        root = node("r", role=cg.Role.SYSTEM)
        a = node("a", root)
        b = node("b", root, state=ENDED)
        store.create("c1", created_at=T0, messages=[root, a, b], tip_id="a")
        head = store.head("c1")
        assert head.tip == a
        assert head.ended_branches == 1
        assert store.messages("c1") == [root, a, b]
        assert store.info("c1").message_count == 3

    def test_without_a_tip_the_last_message_is_the_tip(self, store: Store) -> None:
        """A tree given without a tip continues from its last message."""
        messages = chain(store, "c1", 3)
        assert store.head("c1").tip == messages[-1]

    def test_a_taken_id_is_refused(self, store: Store) -> None:
        """Creating a conversation twice raises and keeps the first."""
        chain(store, "c1", 2)
        with pytest.raises(cg.InvalidOperationError, match="already exists"):
            store.create("c1", created_at=T0)
        assert len(store.messages("c1")) == 2

    def test_an_invalid_tree_is_refused_whole(self, store: Store) -> None:
        """A tree with a node under an ended parent stores nothing."""
        root = node("r", state=ENDED)
        with pytest.raises(cg.ConversationEndedError):
            store.create("c1", created_at=T0, messages=[root, node("a", root)])
        with pytest.raises(cg.UnknownConversationError):
            store.head("c1")

    def test_conversations_are_listed_oldest_first(self, store: Store) -> None:
        """Conversations come back in the order they were created."""
        for name in ("b", "a", "c"):
            store.create(name, created_at=T0)
        assert store.conversations() == ["b", "a", "c"]


class TestRead:
    def test_a_message_round_trips_exactly(self, store: Store) -> None:
        """Every field of a message, verdict and state included, reads back equal."""
        root = node("r")
        store.create("c1", created_at=T0, messages=[root])
        rich = rich_message(root)
        store.append("c1", rich, expected_version=0)
        assert store.get("c1", "rich") == rich
        assert store.head("c1").tip == rich
        assert store.get("c1", "rich").verdict == rich.verdict

    def test_a_verdict_with_its_own_state_and_id_round_trips(self, store: Store) -> None:
        """A verdict whose state or id differ from its node's is kept as it was."""
        verdict = cg.Verdict(action=cg.Action.ALLOW, state=ENDED, message_id="other")
        message = node("r", verdict=verdict)
        store.create("c1", created_at=T0, messages=[message])
        assert store.get("c1", "r").verdict == verdict

    def test_ancestors_are_nearest_first_and_bounded(self, store: Store) -> None:
        """ancestors() walks up from a message, at most ``limit`` nodes."""
        messages = chain(store, "c1", 6)
        assert store.ancestors("c1", "m5") == messages[::-1]
        assert store.ancestors("c1", "m5", 2) == [messages[5], messages[4]]
        assert store.ancestors("c1", "m2", 10) == messages[2::-1]
        assert store.ancestors("c1", "m5", 0) == []

    def test_messages_come_parents_first(self, store: Store) -> None:
        """messages() lists every branch, each parent before its children."""
        root = node("r")
        store.create("c1", created_at=T0, messages=[root])
        a = node("a", root)
        b = node("b", root)
        c = node("c", a)
        for version, message in enumerate([a, b, c]):
            store.append("c1", message, expected_version=version)
        assert store.messages("c1") == [root, a, b, c]

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.head("nope"),
            lambda s: s.info("nope"),
            lambda s: s.get("nope", "m0"),
            lambda s: s.ancestors("nope", "m0"),
            lambda s: s.ancestors("nope", "m0", 0),
            lambda s: s.messages("nope"),
            lambda s: s.switch("nope", "m0"),
            lambda s: s.append("nope", node("x"), expected_version=0),
            lambda s: s.add_feedback(Feedback("f", "nope", "kind", None, None, T0)),
        ],
    )
    def test_unknown_conversations_raise(
        self, store: Store, call: Callable[[Store], object]
    ) -> None:
        """Every call naming an unknown conversation raises UnknownConversationError."""
        chain(store, "c1", 1)
        with pytest.raises(cg.UnknownConversationError):
            call(store)

    def test_non_str_ids_are_type_errors(self, store: Store) -> None:
        """An id that is not a str says so, in every store (not "no such id")."""
        chain(store, "c1", 1)
        with pytest.raises(cg.InvalidOperationError, match="must be a str"):
            store.head(42)  # type: ignore[arg-type]
        with pytest.raises(cg.InvalidOperationError, match="must be a str"):
            store.get("c1", 42)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.get("c1", "nope"),
            lambda s: s.ancestors("c1", "nope"),
            lambda s: s.ancestors("c1", "nope", 0),
            lambda s: s.switch("c1", "nope"),
        ],
    )
    def test_unknown_messages_raise(self, store: Store, call: Callable[[Store], object]) -> None:
        """Every call naming an unknown message raises UnknownMessageError."""
        chain(store, "c1", 1)
        with pytest.raises(cg.UnknownMessageError):
            call(store)


POLICY_DATA: dict[str, Any] = {
    "strikes": 2,
    "history": ["abuse", None, 1.5, True, -3],
    "nested": {"ünï": {"empty": [], "text": "✓ \u0000 é"}},
}


class TestPolicyData:
    def test_a_policys_own_data_round_trips(self, make_store: StoreFactory) -> None:
        """A custom policy's data, on a node and on a verdict's own state, reads back equal."""
        store = make_store()
        state = cg.PolicyState(status=cg.Status.REDIRECTING, redirections=1, data=POLICY_DATA)
        other = cg.PolicyState(data={"strikes": 3})
        verdict = cg.Verdict(action=cg.Action.REDIRECT, state=other, message_id="m")
        root = node("r")
        store.create("c1", created_at=T0, messages=[root])
        message = node("m", root, state=state, verdict=verdict)
        store.append("c1", message, expected_version=0)
        for reader in (store, make_store()):  # the same database, opened again
            read = reader.get("c1", "m")
            assert read == message
            assert read.state.data == POLICY_DATA
            assert read.verdict is not None
            assert read.verdict.state.data == {"strikes": 3}

    def test_a_guard_with_a_custom_policy_keeps_its_data(self, make_store: StoreFactory) -> None:
        """Every node a guard stores, or imports as it is, keeps its policy's data."""
        store = make_store()
        conv = build_guard(policy=TallyPolicy(), store=store).start()
        play_tally(conv)
        assert make_store().messages(conv.id) == conv.messages()
        assert conv.messages()[-1].state.data["replies"] == 1
        source = build_guard(policy=TallyPolicy()).start(conversation_id="other")
        play_tally(source)
        imported = build_guard(store=store).import_record(source.export())
        assert make_store().messages("other") == imported.messages() == source.messages()

    def test_a_row_without_data_loads_empty(self, tmp_path: Path) -> None:
        """A row written before states had data reads back with empty data."""
        store = SQLiteStore(tmp_path / "s.db")
        store.create("c1", created_at=T0, messages=[node("r", state=cg.PolicyState(data={"n": 1}))])
        conn = sqlite3.connect(tmp_path / "s.db")
        with conn:
            (raw,) = conn.execute("SELECT state FROM messages").fetchone()
            assert json.loads(raw) == {"status": "active", "data": {"n": 1}}
            conn.execute('UPDATE messages SET state = \'{"status":"redirecting"}\'')
        conn.close()
        read = store.get("c1", "r")
        assert read.state == cg.PolicyState(status=cg.Status.REDIRECTING)
        assert read.state.data == {}
        store.close()

    @pytest.mark.parametrize("data", ["[1]", '{"n":NaN}', '{"n":{"m":Infinity}}'])
    def test_bad_data_in_a_row_is_corrupt(self, tmp_path: Path, data: str) -> None:
        """Data convguard never wrote is a StoreCorruptError naming the message."""
        store = SQLiteStore(tmp_path / "s.db")
        store.create("c1", created_at=T0, messages=[node("r")])
        conn = sqlite3.connect(tmp_path / "s.db")
        with conn:
            conn.execute("UPDATE messages SET state = ?", (f'{{"status":"active","data":{data}}}',))
        conn.close()
        with pytest.raises(cg.StoreCorruptError, match=r"message 'r'.*PolicyState\.data"):
            store.get("c1", "r")
        store.close()


class TestAppend:
    def test_append_moves_the_tip_and_bumps_the_version(self, store: Store) -> None:
        """A landed append returns the new version and becomes the tip."""
        messages = chain(store, "c1", 1)
        child = node("m1", messages[0])
        assert store.append("c1", child, expected_version=0) == 1
        head = store.head("c1")
        assert (head.version, head.tip) == (1, child)
        assert store.info("c1").message_count == 2

    def test_append_can_leave_the_tip(self, store: Store) -> None:
        """With move_tip=False the node is stored and the tip stays."""
        messages = chain(store, "c1", 1)
        store.append("c1", node("m1", messages[0]), expected_version=0, move_tip=False)
        assert store.head("c1").tip == messages[0]
        assert store.get("c1", "m1").parent_id == "m0"

    def test_a_stale_version_loses(self, store: Store) -> None:
        """Compare-and-set: an append on an old version raises and stores nothing."""
        messages = chain(store, "c1", 1)
        store.append("c1", node("a", messages[0]), expected_version=0)
        with pytest.raises(cg.StoreConflictError, match="expected version 0"):
            store.append("c1", node("b", messages[0]), expected_version=0)
        assert [m.id for m in store.messages("c1")] == ["m0", "a"]
        assert store.head("c1").version == 1

    def test_nothing_goes_under_an_ended_parent(self, store: Store) -> None:
        """An append under an ended node raises ConversationEndedError, stores nothing."""
        root = node("r", state=ENDED)
        store.create("c1", created_at=T0, messages=[root])
        with pytest.raises(cg.ConversationEndedError) as caught:
            store.append("c1", node("x", root), expected_version=0)
        assert caught.value.message_id == "r"
        assert store.head("c1").version == 0
        assert store.info("c1").message_count == 1

    def test_an_ending_node_counts_an_ended_branch(self, store: Store) -> None:
        """Appending an ended node raises the ended-branch count."""
        messages = chain(store, "c1", 1)
        store.append("c1", node("e", messages[0], state=ENDED), expected_version=0)
        assert store.head("c1").ended_branches == 1
        assert store.head("c1").tip is not None

    @pytest.mark.parametrize(
        ("make", "error"),
        [
            (lambda m: node("m0", m), cg.InvalidOperationError),
            (lambda m: node("x", node("ghost", m)), cg.UnknownMessageError),
            (lambda m: attrs.evolve(node("x", m), depth=5), cg.InvalidOperationError),
        ],
    )
    def test_bad_nodes_are_refused_whole(
        self,
        store: Store,
        make: Callable[[cg.Message], cg.Message],
        error: type[Exception],
    ) -> None:
        """A duplicate id, a missing parent or a wrong depth stores nothing."""
        messages = chain(store, "c1", 1)
        with pytest.raises(error):
            store.append("c1", make(messages[0]), expected_version=0)
        assert store.head("c1").version == 0
        assert store.messages("c1") == messages


class TestSwitch:
    def test_switch_moves_the_tip_and_bumps_the_version(self, store: Store) -> None:
        """switch() makes any message the tip and returns the new version."""
        messages = chain(store, "c1", 3)
        assert store.switch("c1", "m0") == 1
        assert store.head("c1").tip == messages[0]
        assert store.info("c1").tip_id == "m0"


class TestFeedback:
    def test_feedback_is_kept_per_conversation_oldest_first(self, store: Store) -> None:
        """Feedback records come back in order, for one or every conversation."""
        chain(store, "c1", 1)
        chain(store, "c2", 1)
        first = Feedback("f1", "c1", "unexpected_end", "why?", "m0", T0, {"k": 1})
        second = Feedback("f2", "c2", "other", None, None, T0 + timedelta(seconds=1))
        third = Feedback("f3", "c1", "other", "", None, T0 + timedelta(seconds=2))
        for record in (first, second, third):
            store.add_feedback(record)
        assert store.feedback() == [first, second, third]
        assert store.feedback("c1") == [first, third]
        assert store.feedback("nope") == []


class TestGuard:
    def guard(self, store: Store) -> cg.Guard:
        """Return a guard whose verdicts are known from the text."""
        return cg.Guard(
            detectors=[ScriptedDetector({"[abuse]": "abuse", "[risk]": "self_harm_risk"})],
            store=store,
        )

    def test_a_whole_conversation_flows_through_the_store(self, store: Store) -> None:
        """send, reply, edit, regenerate, switch, request_end and feedback all land."""
        guard = self.guard(store)
        conv = guard.start(system="be kind", metadata={"user": "u1"}, locale="en")
        first = conv.send("hello")
        answer = conv.reply("hi there")
        again = conv.regenerate(answer.id, "hello again")
        assert conv.tip() == again
        for expected in ("redirect", "redirect", "warn", "end"):
            assert conv.send("[abuse] stop").action == expected
        assert conv.ended()
        with pytest.raises(cg.ConversationEndedError):
            conv.send("more")
        with pytest.raises(cg.ConversationEndedError):
            conv.reply("more")
        edited = conv.edit(first.message_id or "", "a fresh start")
        assert edited.action is cg.Action.ALLOW
        assert not conv.ended()
        granted = conv.request_end(by="user", reason="done", confirmed=True)
        assert granted.action is cg.Action.END
        conv.switch(answer.id)
        assert conv.tip() == answer
        feedback = conv.feedback("unexpected_end", comment="hm")
        assert guard.feedback(conv.id) == [feedback]
        branches = conv.branches()
        assert sum(b.ended for b in branches) == 2
        assert store.head(conv.id).ended_branches == 2
        reopened = guard.open(conv.id)
        assert reopened.path() == conv.path()
        assert guard.conversations().ids == [conv.id]

    def test_detectors_see_a_bounded_history_window(self, store: Store) -> None:
        """A detector reads the last ``history_window`` messages of its branch, oldest first."""
        seen: list[list[str]] = []

        class Recorder:
            name = "recorder"

            def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
                seen.append([m.content for m in context.history])
                return ()

        guard = cg.Guard(detectors=[Recorder()], store=store, history_window=3)
        conv = guard.start(system="sys")
        for i in range(4):
            conv.send(f"q{i}")
            conv.reply(f"a{i}")
        assert seen[0] == ["sys"]
        assert seen[-1] == ["a1", "q2", "a2"]

    def test_export_and_import_round_trip(self, store: Store) -> None:
        """A conversation exported from any store imports back identically."""
        source = self.guard(MemoryStore())
        conv = source.start(system="sys")
        conv.send("[risk] help")
        conv.reply("here is support", redirect=True)
        conv.send("[abuse] x", metadata={"k": [1, 2]})
        conv.feedback("note", comment="c")
        record = conv.export()
        guard = self.guard(store)
        imported = guard.import_record(record)
        assert imported.export() == record
        assert cg.ConversationRecord.from_json(imported.export().to_json()) == record

    def test_a_closed_conversation_refuses_edits(self, store: Store) -> None:
        """max_ended_branches is enforced from the store's ended-branch count."""
        guard = cg.Guard(
            detectors=[ScriptedDetector({"[abuse]": "abuse"})],
            policy=cg.LastResortPolicy(cg.PolicyConfig(max_redirections=0, max_ended_branches=1)),
            store=store,
        )
        conv = guard.start()
        verdict = conv.send("[abuse] x")
        assert verdict.action is cg.Action.END
        with pytest.raises(cg.ConversationEndedError) as caught:
            conv.edit(verdict.message_id or "", "sorry")
        assert caught.value.closed


class TestPersistence:
    def test_sqlite_keeps_everything_across_reopen(self, tmp_path: Path) -> None:
        """A reopened SQLite file holds every message, tip, version and feedback."""
        path = tmp_path / "keep.db"
        store = SQLiteStore(path)
        guard = cg.Guard(detectors=[ScriptedDetector({"[abuse]": "abuse"})], store=store)
        conv = guard.start(metadata={"title": "kept"})
        conv.send("hello")
        conv.reply("hi")
        conv.feedback("praise", comment="nice")
        record = conv.export()
        version = store.head(conv.id).version
        store.close()
        again = SQLiteStore(path)
        assert again.head(conv.id).version == version
        reopened = cg.Guard(store=again).open(conv.id)
        assert reopened.export() == record
        assert again.feedback()[0].comment == "nice"
        again.close()

    def test_in_memory_sqlite_works_across_threads(self) -> None:
        """ ":memory:" is one database shared by every thread of the store."""
        store = SQLiteStore(":memory:")
        chain(store, "c1", 1)
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(store.head("c1").version))
        thread.start()
        thread.join()
        assert seen == [0]
        assert store.path == ":memory:"
        assert "memory" in repr(store)
        store.close()

    def test_a_finished_thread_releases_its_connection(self, tmp_path: Path) -> None:
        """Connections of threads that ended are closed, so they do not pile up."""
        store = SQLiteStore(tmp_path / "threads.db")
        chain(store, "c1", 1)
        for _ in range(5):
            thread = threading.Thread(target=store.head, args=("c1",))
            thread.start()
            thread.join()
            del thread
        gc.collect()
        assert len(store._connections) == 1  # the main thread's
        assert store.head("c1").version == 0
        store.close()

    def test_threads_may_end_after_the_store_closed(self, tmp_path: Path) -> None:
        """A thread ending after close() releases nothing twice and raises nothing."""
        store = SQLiteStore(tmp_path / "threads.db")
        chain(store, "c1", 1)
        thread = threading.Thread(target=store.head, args=("c1",))
        thread.start()
        thread.join()
        store.close()
        del thread
        gc.collect()
        assert store._connections == []


class TestMigrations:
    def test_a_new_file_gets_the_latest_schema(self, tmp_path: Path) -> None:
        """A new database is created at the current schema version."""
        store = SQLiteStore(tmp_path / "s.db")
        assert store.schema_version == _sqlite.SCHEMA_VERSION
        store.close()

    def test_missing_steps_are_applied_on_open(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Opening an older file applies each later step once, in order."""
        path = tmp_path / "s.db"
        SQLiteStore(path).close()
        later = _sqlite.SCHEMA_VERSION + 1
        step = (later, ("CREATE TABLE extra (x INTEGER)",))
        monkeypatch.setattr(_sqlite, "MIGRATIONS", (*_sqlite.MIGRATIONS, step))
        store = SQLiteStore(path)
        assert store.schema_version == later
        store.close()
        SQLiteStore(path).close()  # applying again would fail: the table exists
        conn = sqlite3.connect(path)
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        conn.close()
        assert versions == list(range(1, later + 1))

    def test_a_newer_file_is_refused(self, tmp_path: Path) -> None:
        """A file written by a newer convguard raises StoreError naming the versions."""
        path = tmp_path / "s.db"
        SQLiteStore(path).close()
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("INSERT INTO schema_version VALUES (99, 'later')")
        conn.close()
        with pytest.raises(cg.StoreError, match="schema version 99"):
            SQLiteStore(path)

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_postgres_workers_share_one_schema(self) -> None:
        """Two PostgreSQL stores on one schema migrate once and see each other's writes."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        first = PostgresStore(DSN, schema=schema)
        second = PostgresStore(DSN, schema=schema)
        try:
            chain(first, "c1", 2)
            assert second.head("c1").version == 0
            assert second.schema_version == 4  # SQLite stays at 3: its listing needs no step 4
            assert first.schema == schema
            assert schema in repr(first)
        finally:
            first.close()
            second.close()
            drop_schema(schema)

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_postgres_takes_a_pool_it_does_not_own(self) -> None:
        """A PostgresStore built on your pool uses it and leaves it open."""
        from psycopg_pool import ConnectionPool

        schema = f"t_{uuid.uuid4().hex[:16]}"
        with ConnectionPool(DSN, min_size=1, max_size=2, open=True) as pool:
            store = PostgresStore(pool, schema=schema)
            chain(store, "c1", 1)
            store.close()
            assert not pool.closed
            with pool.connection() as conn:
                sql = f'SELECT count(*) FROM "{schema}".messages'  # noqa: S608 - test schema
                row = conn.execute(sql).fetchone()
            assert row == (1,)
        drop_schema(schema)


class TestConfiguration:
    @pytest.mark.parametrize("kwargs", [{"timeout": -1}, {"synchronous": "SOMETIMES"}])
    def test_bad_sqlite_options_are_refused(self, tmp_path: Path, kwargs: dict[str, Any]) -> None:
        """A bad SQLite option raises ConfigurationError."""
        with pytest.raises(cg.ConfigurationError):
            SQLiteStore(tmp_path / "x.db", **kwargs)

    def test_bad_postgres_options_are_refused(self) -> None:
        """A bad schema name or DSN type raises ConfigurationError before connecting."""
        with pytest.raises(cg.ConfigurationError, match="schema"):
            PostgresStore(DSN, schema="Robert'); DROP")
        with pytest.raises(cg.ConfigurationError, match="dsn"):
            PostgresStore(42)  # type: ignore[arg-type]

    def test_a_missing_driver_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without psycopg, PostgresStore says which extra to install."""
        import sys

        monkeypatch.setitem(sys.modules, "psycopg", None)
        with pytest.raises(cg.ConfigurationError, match=r"convguard\[postgres\]"):
            PostgresStore(DSN)

    def test_import_convguard_does_not_import_psycopg(self) -> None:
        """``import convguard`` leaves psycopg unloaded."""
        import subprocess
        import sys

        code = "import sys, convguard; print('psycopg' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False"

    def test_every_store_fits_the_protocol(self, store: Store) -> None:
        """Each store implements the Store protocol, so a Guard accepts it."""
        assert isinstance(store, Store)
        assert cg.Guard(store=store).store is store
        assert type(store).__name__ in repr(store)


def stamp(minutes: int) -> datetime:
    """Return T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


class TestListing:
    def test_newest_activity_comes_first(self, store: Store) -> None:
        """A conversation's last message, not its start, orders the listing."""
        store.create("a", created_at=stamp(0))
        store.create("b", created_at=stamp(1))
        store.create("c", created_at=stamp(2))
        assert store.list_conversations().ids == ["c", "b", "a"]
        message = attrs.evolve(node("m0"), created_at=stamp(5), content="x" * 100)
        store.append("a", message, expected_version=0)
        page = store.list_conversations()
        assert page.ids == ["a", "c", "b"]
        first = page.items[0]
        assert (first.updated_at, first.title, first.message_count) == (stamp(5), "x" * 80, 1)
        assert page.items[1].updated_at == stamp(2)
        assert page.items[1].title is None

    def test_activity_hours_apart_pages_and_purges_in_order(self, store: Store) -> None:
        """Order, cursors and purges hold across hours, ties and times before 1970."""
        early = datetime(1969, 12, 31, 22, 10, tzinfo=UTC)
        times = {
            "pre2": early,
            "pre1": early + timedelta(minutes=80),  # 23:30, before the epoch
            "post": early + timedelta(minutes=140),  # 00:30, after it
            "t0": T0,
            "tie": T0,
            "t59": stamp(59),
            "t60": stamp(60),
            "t61": stamp(61),
            "t185": stamp(185),
        }
        for conversation_id, when in times.items():
            store.create(conversation_id, created_at=when)
        # "tie" was made after "t0" at the same time: it is newer.
        newest = ["t185", "t61", "t60", "t59", "tie", "t0", "post", "pre1", "pre2"]
        assert store.list_conversations().ids == newest
        seen: list[str] = []
        cursor = None
        while True:
            page = store.list_conversations(limit=2, after=cursor)
            seen += page.ids
            if page.next is None:
                break
            cursor = page.next
        assert seen == newest
        assert store.purge(stamp(60), limit=2) == 2
        assert store.purge(stamp(60), limit=10) == 4
        assert store.conversations() == ["t60", "t61", "t185"]

    def test_a_naive_time_counts_as_utc(self, store: Store) -> None:
        """A clock without a timezone is read as UTC, not as the machine's local time."""
        store.create("a", created_at=datetime(2025, 1, 2, 3, 4, 5))  # noqa: DTZ001 - the point
        assert store.info("a").updated_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def test_the_title_is_the_first_user_message_or_the_metadata_title(self, store: Store) -> None:
        """The first user message titles a chat; metadata["title"] wins when it is a string."""
        root = node("s", role=cg.Role.SYSTEM, content="system text")
        store.create("c1", created_at=T0, messages=[root, node("u", root, content="first")])
        store.append("c1", node("u2", None, content="second"), expected_version=0)
        store.create("c2", created_at=T0, metadata={"title": "Named"})
        store.append("c2", node("u"), expected_version=0)
        assert store.info("c1").title == "first"
        assert store.info("c2").title == "Named"

    def test_a_metadata_filter_needs_every_entry(self, store: Store) -> None:
        """Only conversations holding every filter entry, with the same type, are listed."""
        store.create("a", created_at=stamp(0), metadata={"user_id": "u1", "tier": 1})
        store.create("b", created_at=stamp(1), metadata={"user_id": "u1", "tier": "1"})
        store.create("c", created_at=stamp(2), metadata={"user_id": "u2", "beta": True})
        store.create("d", created_at=stamp(3), metadata={"user_id": None, "nested": {"x": 1}})
        assert store.list_conversations(metadata={"user_id": "u1"}).ids == ["b", "a"]
        assert store.list_conversations(metadata={"user_id": "u1", "tier": 1}).ids == ["a"]
        assert store.list_conversations(metadata={"beta": True}).ids == ["c"]
        assert store.list_conversations(metadata={"beta": False}).ids == []
        assert store.list_conversations(metadata={"user_id": None}).ids == ["d"]
        assert store.list_conversations(metadata={}).ids == ["d", "c", "b", "a"]

    def test_pages_follow_the_cursor_through_ties(self, store: Store) -> None:
        """Pages of one size visit every conversation once, even at equal times."""
        names = [f"c{i:02}" for i in range(7)]
        for name in names:
            store.create(name, created_at=T0, metadata={"user_id": "u1"})
        for metadata in (None, {"user_id": "u1"}):
            seen: list[str] = []
            after: str | None = None
            pages = 0
            while True:
                page = store.list_conversations(metadata=metadata, limit=3, after=after)
                pages += 1
                seen.extend(page.ids)
                if page.next is None:
                    break
                after = page.next
            assert seen == names[::-1]
            assert pages == 3

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"metadata": {"score": 0.5}}, "metadata filter"),
            ({"metadata": {"tags": ["a"]}}, "metadata filter"),
            ({"metadata": ["user_id"]}, "mapping"),
            ({"limit": 0}, "limit"),
            ({"limit": True}, "limit"),
            ({"after": "x"}, "cursor"),
            ({"after": 5}, "cursor"),
        ],
    )
    def test_bad_arguments_are_refused(
        self, store: Store, kwargs: dict[str, Any], match: str
    ) -> None:
        """A filter, page size or cursor that cannot work raises InvalidOperationError."""
        store.create("a", created_at=T0)
        with pytest.raises(cg.InvalidOperationError, match=match):
            store.list_conversations(**kwargs)


def sqlite_bytes(path: Path) -> bytes:
    """Return the bytes of a SQLite database with its WAL and shared-memory files."""
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def pg_rows(schema: str, conversation_id: str) -> dict[str, int]:
    """Count, table by table, the rows that mention *conversation_id*."""
    import psycopg

    counts = {}
    with psycopg.connect(DSN, autocommit=True) as conn:
        for table, column in (
            ("conversations", "id"),
            ("messages", "conversation_id"),
            ("feedback", "conversation_id"),
            ("conversation_tags", "conversation_id"),
        ):
            sql = f'SELECT count(*) FROM "{schema}".{table} WHERE {column} = %s'  # noqa: S608 - test
            row = conn.execute(sql, (conversation_id,)).fetchone()
            counts[table] = 0 if row is None else int(row[0])
    return counts


def secret_conversation(store: Store, conversation_id: str, secret: str) -> None:
    """Store a conversation whose every field holds *secret*, with feedback."""
    root = node("m0", content=f"{secret} in a message", metadata={"note": secret})
    store.create(
        conversation_id,
        created_at=T0,
        metadata={"user_id": f"{secret}-user"},
        messages=[root, node("m1", root, role=cg.Role.ASSISTANT, content=f"{secret} again")],
    )
    store.add_feedback(
        Feedback(f"{secret}-fb", conversation_id, "unexpected_end", f"{secret} said", "m0", T0)
    )


class TestErasure:
    def test_delete_leaves_every_other_conversation(self, store: Store) -> None:
        """delete() erases one conversation, its feedback and its listing entry."""
        secret_conversation(store, "gone", "zebra")
        secret_conversation(store, "kept", "otter")
        store.delete("gone")
        for read in (store.head, store.info, store.messages, store.delete):
            with pytest.raises(cg.UnknownConversationError):
                read("gone")
        assert store.list_conversations().ids == ["kept"]
        assert store.list_conversations(metadata={"user_id": "zebra-user"}).ids == []
        assert [f.conversation_id for f in store.feedback()] == ["kept"]
        assert store.conversations() == ["kept"]
        assert len(store.messages("kept")) == 2
        store.create("gone", created_at=T0)  # the id is free again
        assert store.messages("gone") == []

    def test_an_in_memory_sqlite_database_erases_too(self) -> None:
        """ ":memory:" has no files to scrub; delete and purge still erase."""
        store = SQLiteStore(":memory:")
        try:
            chain(store, "a", 2)
            chain(store, "b", 2)
            store.delete("a")
            assert store.purge(stamp(60), limit=5) == 1
            assert store.conversations() == []
        finally:
            store.close()

    def test_a_write_after_delete_is_refused(self, store: Store) -> None:
        """A worker still holding the head cannot write into an erased conversation."""
        chain(store, "c1", 2)
        store.delete("c1")
        with pytest.raises(cg.UnknownConversationError):
            store.append("c1", node("m9"), expected_version=0)
        with pytest.raises(cg.UnknownConversationError):
            store.add_feedback(Feedback("f", "c1", "kind", None, None, T0))

    def test_sqlite_files_hold_no_trace_after_delete(self, tmp_path: Path) -> None:
        """The SQLite file and its WAL hold none of an erased conversation's bytes."""
        path = tmp_path / "erase.db"
        store = SQLiteStore(path)
        try:
            secret_conversation(store, "c-zebra-id", "zebra")
            secret_conversation(store, "kept", "otter")
            assert b"zebra" in sqlite_bytes(path)
            store.delete("c-zebra-id")
            data = sqlite_bytes(path)
            assert b"zebra" not in data
            assert b"otter" in data
        finally:
            store.close()

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_postgres_tables_hold_no_row_after_delete(self) -> None:
        """Every convguard table in PostgreSQL has no row of an erased conversation."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema)
        try:
            secret_conversation(store, "gone", "zebra")
            secret_conversation(store, "kept", "otter")
            assert pg_rows(schema, "gone") == {
                "conversations": 1,
                "messages": 2,
                "feedback": 1,
                "conversation_tags": 1,
            }
            store.delete("gone")
            assert set(pg_rows(schema, "gone").values()) == {0}
            assert set(pg_rows(schema, "kept").values()) == {1, 2}
        finally:
            store.close()
            drop_schema(schema)

    def test_purge_takes_the_idle_oldest_first_in_bounded_batches(self, store: Store) -> None:
        """purge() erases at most limit idle conversations per call, oldest first."""
        for i in range(5):
            secret_conversation(store, f"old{i}", f"s{i}")
            store.append(
                f"old{i}", attrs.evolve(node("u", None), created_at=stamp(i)), expected_version=0
            )
        store.create("fresh", created_at=stamp(10))
        assert store.purge(stamp(4), limit=3) == 3
        assert sorted(store.list_conversations().ids) == ["fresh", "old3", "old4"]
        assert store.purge(stamp(4), limit=3) == 1
        assert store.purge(stamp(4), limit=3) == 0
        assert sorted(store.list_conversations().ids) == ["fresh", "old4"]
        assert [f.conversation_id for f in store.feedback()] == ["old4"]

    def test_sqlite_files_hold_no_trace_after_purge(self, tmp_path: Path) -> None:
        """Purged conversations leave no bytes in the SQLite file or its WAL."""
        path = tmp_path / "purge.db"
        store = SQLiteStore(path)
        try:
            for i in range(20):
                secret_conversation(store, f"c{i}", f"walrus{i:02}")
            secret_conversation(store, "kept", "otter")
            store.append("kept", attrs.evolve(node("u"), created_at=stamp(9)), expected_version=0)
            assert store.purge(stamp(1), limit=8) == 8
            assert store.purge(stamp(1), limit=8) == 8
            assert store.purge(stamp(1), limit=8) == 4
            data = sqlite_bytes(path)
            assert b"walrus" not in data
            assert b"otter" in data
        finally:
            store.close()


class TestListingMigration:
    def _old_sqlite(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(_sqlite, "MIGRATIONS", _sqlite.MIGRATIONS[:2])
            old = SQLiteStore(path)
            try:
                assert old.schema_version == 2
                conn = sqlite3.connect(path)
                with conn:
                    meta = '{"user_id":"u1","n":7,"ok":true,"no":false,"x":null,"f":0.5,"l":[1]}'
                    conn.execute(
                        "INSERT INTO conversations (id, created_at, metadata, version, tip_id,"
                        " ended_branches, message_count) VALUES"
                        " ('c1', '2025-01-02T03:04:05+01:00', ?, 2, 'm1', 0, 2),"
                        " ('c2', '2025-01-02T03:04:05.250000+00:00', '{\"user_id\":\"u2\"}',"
                        " 0, NULL, 0, 0)",
                        (meta,),
                    )
                    conn.execute(
                        "INSERT INTO messages (conversation_id, id, parent_id, role, content,"
                        " created_at, state, verdict, metadata, depth, ended) VALUES"
                        " ('c1', 'm0', NULL, 'user', 'hello there', '2025-01-02T03:04:05+01:00',"
                        " '{\"status\":\"active\"}', NULL, '{}', 0, 0),"
                        " ('c1', 'm1', 'm0', 'assistant', 'hi', '2025-01-02T03:10:00.000123+01:00',"
                        " '{\"status\":\"active\"}', NULL, '{}', 1, 0)"
                    )
                conn.close()
            finally:
                old.close()

    def test_a_schema_2_sqlite_file_learns_activity_titles_and_tags(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Step 3 backfills updated_at, title and the metadata tags from what the file holds."""
        path = tmp_path / "old.db"
        self._old_sqlite(path, monkeypatch)
        store = SQLiteStore(path)
        try:
            assert store.schema_version == 3
            c1 = store.info("c1")
            assert c1.updated_at == datetime(2025, 1, 2, 2, 10, 0, 123, tzinfo=UTC)
            assert c1.title == "hello there"
            c2 = store.info("c2")
            assert c2.updated_at == datetime(2025, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
            assert c2.title is None
            assert store.list_conversations().ids == ["c2", "c1"]
            for metadata in (
                {"user_id": "u1"},
                {"n": 7},
                {"ok": True},
                {"no": False},
                {"x": None},
                {"user_id": "u1", "n": 7},
            ):
                assert store.list_conversations(metadata=metadata).ids == ["c1"], metadata
            assert store.list_conversations(metadata={"n": "7"}).ids == []
            assert store.list_conversations(metadata={"user_id": "u2"}).ids == ["c2"]
        finally:
            store.close()

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_a_schema_2_postgres_schema_learns_activity_titles_and_tags(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Step 3 backfills PostgreSQL tables the same way."""
        import psycopg

        from convguard.stores import _pg, _postgres_sync  # the store's body migrates

        schema = f"t_{uuid.uuid4().hex[:16]}"
        full = _pg.migrations
        try:
            with monkeypatch.context() as patch:
                patch.setattr(_postgres_sync, "migrations", lambda s: full(s)[:2])
                PostgresStore(DSN, schema=schema).close()
            meta = '{"user_id":"u1","n":7,"ok":true,"no":false,"x":null,"f":0.5,"big":1e3}'
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(
                    f'INSERT INTO "{schema}".conversations (id, created_at, metadata, version,'  # noqa: S608
                    " tip_id, ended_branches, message_count) VALUES"
                    " ('c1', '2025-01-02T03:04:05+01:00', %s, 2, 'm1', 0, 2),"
                    " ('c2', '2025-01-02T03:04:05.250000+00:00', '{\"user_id\":\"u2\"}',"
                    " 0, NULL, 0, 0)",
                    (meta,),
                )
                conn.execute(
                    f'INSERT INTO "{schema}".messages (conversation_id, id, parent_id, role,'  # noqa: S608
                    " content, created_at, state, verdict, metadata, depth, ended) VALUES"
                    " ('c1', 'm0', NULL, 'user', 'hello there', '2025-01-02T03:04:05+01:00',"
                    " '{\"status\":\"active\"}', NULL, '{}', 0, false),"
                    " ('c1', 'm1', 'm0', 'assistant', 'hi', '2025-01-02T03:10:00.000123+01:00',"
                    " '{\"status\":\"active\"}', NULL, '{}', 1, false)"
                )
            store = PostgresStore(DSN, schema=schema)
            try:
                assert store.schema_version == 4
                c1 = store.info("c1")
                assert c1.updated_at == datetime(2025, 1, 2, 2, 10, 0, 123, tzinfo=UTC)
                assert c1.title == "hello there"
                assert store.info("c2").updated_at == datetime(
                    2025, 1, 2, 3, 4, 5, 250000, tzinfo=UTC
                )
                assert store.list_conversations().ids == ["c2", "c1"]
                for metadata in ({"user_id": "u1"}, {"n": 7}, {"ok": True}, {"no": False}):
                    assert store.list_conversations(metadata=metadata).ids == ["c1"], metadata
                assert store.list_conversations(metadata={"x": None}).ids == ["c1"]
            finally:
                store.close()
        finally:
            drop_schema(schema)

    @pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
    def test_a_schema_3_postgres_schema_lists_by_the_slot(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Step 4 keeps every conversation, message and order; writes land as before."""
        import psycopg

        from convguard.stores import _pg, _postgres_sync  # the store's body migrates

        schema = f"t_{uuid.uuid4().hex[:16]}"
        full = _pg.migrations
        try:
            with monkeypatch.context() as patch:
                patch.setattr(_postgres_sync, "migrations", lambda s: full(s)[:3])
                old = PostgresStore(DSN, schema=schema)
                assert old.schema_version == 3
                for n, minutes in enumerate((0, 200, 59, 61)):
                    root = attrs.evolve(node(f"m{n}"), created_at=stamp(minutes))
                    old.create(f"c{n}", created_at=T0, messages=[root], metadata={"u": n % 2})
                old.append("c0", node("z", old.get("c0", "m0")), expected_version=0)
                old.append("c0", node("a", old.get("c0", "z")), expected_version=1)
                old.close()
            store = PostgresStore(DSN, schema=schema)
            try:
                assert store.schema_version == 4
                assert store.list_conversations().ids == ["c1", "c3", "c2", "c0"]
                assert store.list_conversations(metadata={"u": 1}, limit=1).ids == ["c1"]
                assert [m.id for m in store.messages("c0")] == ["m0", "z", "a"]
                later = attrs.evolve(node("x", store.get("c2", "m2")), created_at=stamp(300))
                assert store.append("c2", later, expected_version=0) == 1
                assert store.list_conversations().ids[0] == "c2"
                assert store.purge(stamp(100), limit=5) == 2
                assert sorted(store.conversations()) == ["c1", "c2"]
            finally:
                store.close()
            with psycopg.connect(DSN) as conn:
                cursor = conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 1", (schema,)
                )
                indexes = [row[0] for row in cursor]
            assert "conversations_by_activity" not in indexes
            assert "messages_in_order" not in indexes
            assert "conversations_by_slot" in indexes
        finally:
            drop_schema(schema)


@contextmanager
def read_only_directory(directory: Path) -> Iterator[Path]:
    """Yield *directory* seen read-only: a read-only bind mount as root, else its mode."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield directory
        finally:
            directory.chmod(0o755)
        return
    target = directory.with_name(directory.name + "-ro")
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "--bind", str(directory), str(target)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip("root ignores file modes and cannot bind-mount here: no read-only directory")
    try:
        remount = ["mount", "-o", "remount,bind,ro", str(target)]
        if subprocess.run(remount, capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount read-only here")  # pragma: no cover - mount allowed above
        yield target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True, check=False)


class TestReadOnlyCopies:
    def test_a_wal_file_in_a_read_only_directory_opens(self, tmp_path: Path) -> None:
        """read_only=True reads a copy where SQLite cannot create its -shm file."""
        directory = tmp_path / "copy"
        directory.mkdir()
        store = SQLiteStore(directory / "chats.db")
        chain(store, "c1", 3)
        store.close()
        with read_only_directory(directory) as ro:
            reader = SQLiteStore(ro / "chats.db", read_only=True)
            try:
                assert [m.id for m in reader.messages("c1")] == ["m0", "m1", "m2"]
                assert reader.list_conversations().ids == ["c1"]
                with pytest.raises(cg.StoreUnavailableError):
                    reader.append("c1", node("x", None), expected_version=0)
            finally:
                reader.close()
            assert sorted(p.name for p in ro.iterdir()) == ["chats.db"]

    def test_a_pending_wal_without_shared_memory_is_named(self, tmp_path: Path) -> None:
        """A WAL whose -shm file cannot be made is refused with what to do, not misread."""
        live = tmp_path / "live"
        live.mkdir()
        store = SQLiteStore(live / "chats.db")
        chain(store, "c1", 3)
        conn = sqlite3.connect(live / "chats.db")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        with conn:
            conn.execute("UPDATE conversations SET version = 7")
        directory = tmp_path / "copy"
        directory.mkdir()
        for name in ("chats.db", "chats.db-wal"):
            (directory / name).write_bytes((live / name).read_bytes())
        conn.close()
        store.close()
        assert (directory / "chats.db-wal").stat().st_size > 0
        with (
            read_only_directory(directory) as ro,
            pytest.raises(cg.StoreUnavailableError, match="WAL file"),
        ):
            SQLiteStore(ro / "chats.db", read_only=True)

    def test_a_read_only_file_without_convguard_tables_says_so(self, tmp_path: Path) -> None:
        """Opening another program's SQLite file read-only names the missing tables."""
        path = tmp_path / "other.db"
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("CREATE TABLE notes (x TEXT)")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(cg.StoreCorruptError, match="no convguard tables"):
            SQLiteStore(path, read_only=True)
        assert path.read_bytes() == before

    def test_a_read_only_file_of_an_older_schema_says_how_to_migrate(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A read-only file one step behind asks to be opened writable once."""
        path = tmp_path / "old.db"
        with monkeypatch.context() as patch:
            patch.setattr(_sqlite, "MIGRATIONS", _sqlite.MIGRATIONS[:2])
            SQLiteStore(path).close()
        with pytest.raises(cg.StoreUnavailableError, match="without read_only to migrate"):
            SQLiteStore(path, read_only=True)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("INSERT INTO schema_version VALUES (99, 'later')")
        conn.close()
        with pytest.raises(cg.StoreError, match="newer"):
            SQLiteStore(path, read_only=True)

    def test_a_locked_file_is_not_mistaken_for_a_read_only_directory(self, tmp_path: Path) -> None:
        """Another writer's exclusive lock is reported as a lock, not retried immutable."""
        path = tmp_path / "journal.db"
        SQLiteStore(path).close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA journal_mode=DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(cg.StoreUnavailableError, match="locked"):
                SQLiteStore(path, read_only=True, timeout=0)
        finally:
            holder.execute("ROLLBACK")
            holder.close()


@pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
class TestPostgresRoundTrips:
    def _count(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        import psycopg

        sent: list[str] = []
        execute = psycopg.Connection.execute

        def counting(conn: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(str(query))
            return execute(conn, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Connection, "execute", counting)
        return sent

    def test_a_write_is_one_statement(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """append() sends one statement: no BEGIN/COMMIT, no check of a connection just used.

        A refused one sends a second, to say why.
        """
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, max_size=1)
        transactions: list[object] = []
        try:
            root = node("m0")
            store.create("c1", created_at=T0, messages=[root])
            monkeypatch.setattr(
                psycopg.Connection, "transaction", lambda *a, **_: transactions.append(a)
            )
            sent = self._count(monkeypatch)
            store.append("c1", node("m1", root), expected_version=0)
            assert len(sent) == 1
            assert store.head("c1").version == 1
            with pytest.raises(cg.StoreConflictError):
                store.append("c1", node("m2", root), expected_version=0)
            assert len(sent) == 4
            assert transactions == []
        finally:
            monkeypatch.undo()
            store.close()
            drop_schema(schema)

    def test_a_new_conversation_is_one_statement(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """create() of an empty conversation, tags and all, is one statement; a taken id, none."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, max_size=1)
        try:
            store.conversations()  # the connection was just used: no check below
            sent = self._count(monkeypatch)
            store.create("c1", created_at=T0, metadata={"user_id": "u1", "n": 7, "x": [1]})
            assert len(sent) == 1
            with pytest.raises(cg.InvalidOperationError, match="'c1' already exists"):
                store.create("c1", created_at=T0, metadata={"user_id": "u2"})
            monkeypatch.undo()
            assert store.list_conversations(metadata={"user_id": "u1", "n": 7}).ids == ["c1"]
            assert store.list_conversations(metadata={"user_id": "u2"}).ids == []
            assert store.info("c1").metadata == {"user_id": "u1", "n": 7, "x": [1]}
        finally:
            monkeypatch.undo()
            store.close()
            drop_schema(schema)

    def test_switch_and_feedback_are_one_statement_each(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """switch() and add_feedback() send one statement; an unknown id costs one more."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, max_size=1)
        try:
            root = node("m0")
            store.create("c1", created_at=T0, messages=[root, node("m1", root)])
            sent = self._count(monkeypatch)
            assert store.switch("c1", "m0") == 1
            feedback = Feedback("f1", "c1", "unexpected_end", "hm", "m0", T0, {"ui": "web"})
            store.add_feedback(feedback)
            assert len(sent) == 2
            with pytest.raises(cg.UnknownMessageError):
                store.switch("c1", "nope")
            with pytest.raises(cg.UnknownConversationError):
                store.switch("c9", "m0")
            with pytest.raises(cg.UnknownConversationError):
                store.add_feedback(attrs.evolve(feedback, conversation_id="c9"))
            monkeypatch.undo()
            assert store.feedback("c1") == [feedback]
            head = store.head("c1")
            assert (head.version, head.tip) == (1, root)
        finally:
            monkeypatch.undo()
            store.close()
            drop_schema(schema)

    def test_a_connection_idle_for_a_while_is_checked_first(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A connection lent longer ago than FRESH_SECONDS gets the pool's empty check first."""
        from convguard.stores import _postgres_sync

        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, max_size=1)
        try:
            store.create("c1", created_at=T0)
            monkeypatch.setattr(_postgres_sync, "FRESH_SECONDS", 0.0)  # every lending is late
            sent = self._count(monkeypatch)
            store.head("c1")
            assert sent[0] == ""
            assert len(sent) == 2
        finally:
            monkeypatch.undo()
            store.close()
            drop_schema(schema)

    def test_a_connection_the_server_closed_is_checked_and_replaced(self) -> None:
        """A connection lent a moment ago whose server hung up is seen and replaced."""
        import psycopg
        from psycopg.conninfo import make_conninfo

        schema = f"t_{uuid.uuid4().hex[:16]}"
        app = f"cg_{uuid.uuid4().hex[:12]}"
        store = PostgresStore(make_conninfo(DSN, application_name=app), schema=schema, max_size=1)
        try:
            store.create("c1", created_at=T0)
            with psycopg.connect(DSN, autocommit=True) as conn:
                killed = conn.execute(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (app,),
                ).fetchall()
            assert killed == [(True,)]
            assert store.head("c1").version == 0
        finally:
            store.close()
            drop_schema(schema)

    def test_a_write_on_your_own_pool_is_one_statement_in_a_transaction(self) -> None:
        """On a pool you made, the statement runs in a transaction that sets the limits."""
        from psycopg_pool import ConnectionPool

        schema = f"t_{uuid.uuid4().hex[:16]}"
        with ConnectionPool(DSN, min_size=1, max_size=1, open=True) as pool:
            store = PostgresStore(pool, schema=schema)
            try:
                root = node("m0")
                store.create("c1", created_at=T0, messages=[root])
                assert store.append("c1", node("m1", root), expected_version=0) == 1
                ended = node("m2", root, state=ENDED)
                store.append("c1", ended, expected_version=1)
                with pytest.raises(cg.ConversationEndedError):
                    store.append("c1", node("m3", ended), expected_version=2)
                assert [m.id for m in store.messages("c1")] == ["m0", "m1", "m2"]
            finally:
                store.close()
                drop_schema(schema)


class TestAppendRefusal:
    def test_a_refusal_whose_checks_all_hold_now_is_a_conflict(self) -> None:
        """When the later read finds nothing wrong, another writer got there first: retry."""
        from convguard.stores._pg import append_refusal

        root = node("m0")
        refusal = append_refusal("c1", node("m1", root), 3, (3, False, 0, False))
        assert isinstance(refusal, cg.StoreConflictError)
        assert "another writer" in str(refusal)


@pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")
class TestPreparedAppend:
    def _prepared(self, pool: Any) -> list[str]:
        with pool.connection() as conn:
            rows = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        return [row[0] for row in rows]

    def test_only_the_append_is_prepared_on_the_store_s_own_pool(self) -> None:
        """The append is a server-side prepared statement; reads and listings are not."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = PostgresStore(DSN, schema=schema, max_size=1)
        try:
            root = node("m0")
            store.create("c1", created_at=T0, messages=[root])
            for _ in range(6):  # past psycopg's usual threshold of five
                store.list_conversations(metadata={"user_id": "u1"})
                store.head("c1")
            store.append("c1", node("m1", root), expected_version=0)
            prepared = self._prepared(store._pool)
            assert len(prepared) == 1
            assert "UPDATE" in prepared[0]
            assert "INSERT" in prepared[0]
        finally:
            store.close()
            drop_schema(schema)

    def test_a_pool_without_prepared_statements_is_obeyed(self) -> None:
        """A pool made with prepare_threshold=None (for PgBouncer) gets no prepared statement."""
        from psycopg_pool import ConnectionPool

        schema = f"t_{uuid.uuid4().hex[:16]}"
        kwargs = {"prepare_threshold": None}
        with ConnectionPool(DSN, min_size=1, max_size=1, kwargs=kwargs, open=True) as pool:
            store = PostgresStore(pool, schema=schema)
            try:
                root = node("m0")
                store.create("c1", created_at=T0, messages=[root])
                assert store.append("c1", node("m1", root), expected_version=0) == 1
                assert self._prepared(pool) == []
            finally:
                store.close()
                drop_schema(schema)
