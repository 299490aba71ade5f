"""AsyncPostgresStore: the PostgreSQL store awaited, on psycopg's asyncio connections.

The whole store contract also runs against it in ``test_stores.py`` (the
``async-postgres`` stores, through ``AwaitedStore``); here are the calls as
an asyncio program makes them, what opening and closing look like, tasks
racing on one conversation, whole turns through ``AsyncGuard``, and the
program ``docs/async.md`` shows.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

import convguard as cg
from convguard.stores import AsyncPostgresStore, AsyncStore, PostgresStore
from tests.test_stores import DSN, ENDED, PG_SKIP, T0, drop_schema, node

pytestmark = pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")

_T = TypeVar("_T")


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run *coro* on a new event loop."""
    return asyncio.run(coro)


@pytest.fixture
def schema() -> Iterator[str]:
    """Return a fresh schema name, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    drop_schema(name)


def unreachable() -> str:
    """Return a DSN where no server listens."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(DSN, port=1)


class TestContract:
    def test_crud(self, schema: str) -> None:
        """Create, read, append, switch, feedback, list: each call awaited."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                root = node("m0")
                await store.create("c1", created_at=T0, metadata={"user_id": "u1"})
                assert (await store.head("c1")).tip is None
                assert await store.append("c1", root, expected_version=0) == 1
                child = node("m1", root, role=cg.Role.ASSISTANT, content="hi")
                assert await store.append("c1", child, expected_version=1) == 2
                head = await store.head("c1")
                assert (head.version, head.tip) == (2, child)
                assert await store.get("c1", "m0") == root
                assert await store.ancestors("c1", "m1") == [child, root]
                assert await store.ancestors("c1", "m1", limit=1) == [child]
                assert await store.messages("c1") == [root, child]
                assert await store.switch("c1", "m0") == 3
                assert (await store.head("c1")).tip == root
                info = await store.info("c1")
                assert (info.message_count, info.title) == (2, "hello")
                feedback = cg.Feedback("f1", "c1", "unexpected_end", "why?", "m0", T0)
                await store.add_feedback(feedback)
                assert await store.feedback("c1") == [feedback]
                assert await store.conversations() == ["c1"]
                page = await store.list_conversations(metadata={"user_id": "u1"}, limit=5)
                assert page.ids == ["c1"]

        run(main())

    def test_a_stale_version_loses(self, schema: str) -> None:
        """An append on a version that moved on raises StoreConflictError; nothing lands."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                root = node("m0")
                await store.create("c1", created_at=T0, messages=[root])
                await store.append("c1", node("a", root), expected_version=0)
                with pytest.raises(cg.StoreConflictError, match="expected version 0, found 1"):
                    await store.append("c1", node("b", root), expected_version=0)
                assert [m.id for m in await store.messages("c1")] == ["m0", "a"]

        run(main())

    def test_nothing_goes_under_an_ended_parent(self, schema: str) -> None:
        """A child of an ended node raises ConversationEndedError; nothing lands."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                root = node("m0")
                ended = node("end", root, state=ENDED)
                await store.create("c1", created_at=T0, messages=[root, ended])
                with pytest.raises(cg.ConversationEndedError):
                    await store.append("c1", node("x", ended), expected_version=0)
                assert (await store.head("c1")).version == 0

        run(main())

    def test_unknown_ids_raise(self, schema: str) -> None:
        """Unknown conversations and messages raise the lookup errors."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                await store.create("c1", created_at=T0, messages=[node("m0")])
                with pytest.raises(cg.UnknownConversationError):
                    await store.head("nope")
                with pytest.raises(cg.UnknownConversationError):
                    await store.get("nope", "m0")
                with pytest.raises(cg.UnknownMessageError):
                    await store.get("c1", "nope")
                with pytest.raises(cg.UnknownMessageError):
                    await store.append("c1", node("x", node("nope")), expected_version=0)
                with pytest.raises(cg.UnknownConversationError):
                    await store.delete("nope")

        run(main())

    def test_delete_and_purge(self, schema: str) -> None:
        """delete() erases one conversation; purge() the idle ones, oldest first."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                for n, cid in enumerate(["old", "older", "kept"]):
                    await store.create(cid, created_at=T0 + timedelta(days=[1, 0, 9][n]))
                await store.delete("kept")
                with pytest.raises(cg.UnknownConversationError):
                    await store.head("kept")
                assert await store.purge(T0 + timedelta(days=5), limit=1) == 1
                assert await store.conversations() == ["old"]
                assert await store.purge(T0 + timedelta(days=5), limit=10) == 1
                assert await store.conversations() == []

        run(main())

    def test_it_is_an_async_store(self) -> None:
        """Every protocol method is a coroutine function, so AsyncGuard awaits it directly."""
        store = AsyncPostgresStore(DSN)  # no I/O yet
        assert isinstance(store, AsyncStore)
        for name, _ in inspect.getmembers(AsyncStore, inspect.isfunction):
            if not name.startswith("_"):
                assert inspect.iscoroutinefunction(getattr(store, name)), name
        assert repr(store) == "<AsyncPostgresStore schema='convguard'>"
        assert repr(AsyncPostgresStore) == "<class 'convguard.AsyncPostgresStore'>"
        assert cg.AsyncPostgresStore is AsyncPostgresStore


class TestOpening:
    def test_the_constructor_does_no_io(self) -> None:
        """A store on a server that is down builds; the first call raises StoreUnavailableError."""

        async def main() -> None:
            store = AsyncPostgresStore(unreachable(), connect_timeout=2)
            with pytest.raises(cg.StoreUnavailableError, match="cannot be reached"):
                await store.head("c1")
            with pytest.raises(cg.StoreUnavailableError, match="cannot be reached"):
                await AsyncPostgresStore.open(unreachable(), connect_timeout=2)
            with pytest.raises(cg.StoreUnavailableError, match="cannot be reached"):
                async with AsyncPostgresStore(unreachable(), connect_timeout=2):
                    pass  # pragma: no cover - never entered
            await store.close()

        run(main())

    @pytest.mark.parametrize("dsn", ["not a dsn", "postgres://[bad"])
    def test_a_dsn_that_is_not_one_is_a_configuration_error(self, dsn: str) -> None:
        """A string that is no connection string raises ConfigurationError at once."""
        with pytest.raises(cg.ConfigurationError, match="not a PostgreSQL connection string"):
            AsyncPostgresStore(dsn)

    @pytest.mark.parametrize(
        "options",
        [
            {"schema": "Robert'); DROP"},
            {"lock_timeout": 0},
            {"statement_timeout": -1},
            {"lock_timeout": True},
        ],
    )
    def test_bad_options_are_refused(self, options: dict[str, Any]) -> None:
        """A bad option raises ConfigurationError before any I/O."""
        with pytest.raises(cg.ConfigurationError):
            AsyncPostgresStore(DSN, **options)

    def test_a_sync_pool_is_refused(self) -> None:
        """A psycopg_pool.ConnectionPool (not an AsyncConnectionPool) is a ConfigurationError."""
        from psycopg_pool import ConnectionPool

        pool: ConnectionPool[Any] = ConnectionPool(DSN, open=False)
        with pytest.raises(cg.ConfigurationError, match="dsn must be"):
            AsyncPostgresStore(pool)  # type: ignore[arg-type]

    def test_open_brings_the_schema_up(self, schema: str) -> None:
        """open() creates the tables; the sync store reads what the async one wrote."""

        async def main() -> None:
            store = await AsyncPostgresStore.open(DSN, schema=schema)
            assert await store.schema_version() == 4
            await store.create("c1", created_at=T0, messages=[node("m0")])
            await store.close()

        run(main())
        sync = PostgresStore(DSN, schema=schema)
        try:
            assert [m.id for m in sync.messages("c1")] == ["m0"]
        finally:
            sync.close()

    def test_tasks_racing_to_open_open_it_once(self, schema: str) -> None:
        """Many tasks making the first call together share one pool."""

        async def main() -> None:
            store = AsyncPostgresStore(DSN, schema=schema)
            await asyncio.gather(*(store.conversations() for _ in range(20)))
            pool = store._pool
            assert pool is not None
            await store.conversations()
            assert store._pool is pool
            await store.close()

        run(main())

    def test_a_closed_store_refuses_calls(self, schema: str) -> None:
        """Any call on a closed store raises StoreUnavailableError, opened or not."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                await store.create("c1", created_at=T0)
            with pytest.raises(cg.StoreUnavailableError, match="AsyncPostgresStore is closed"):
                await store.head("c1")
            never = AsyncPostgresStore(DSN, schema=schema)
            await never.close()
            with pytest.raises(cg.StoreUnavailableError, match="closed"):
                await never.switch("c1", "m0")

        run(main())

    def test_your_own_pool_is_used_and_left_open(self, schema: str) -> None:
        """A store built on your AsyncConnectionPool uses it and leaves it open."""
        from psycopg_pool import AsyncConnectionPool

        async def main() -> None:
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                DSN, min_size=1, max_size=2, open=False
            )
            await pool.open()
            try:
                async with AsyncPostgresStore(pool, schema=schema) as store:
                    root = node("m0")
                    await store.create("c1", created_at=T0, messages=[root])
                    assert await store.append("c1", node("m1", root), expected_version=0) == 1
                assert not pool.closed
                async with pool.connection() as conn:
                    cursor = await conn.execute(
                        f'SELECT count(*) FROM "{schema}".messages'  # noqa: S608 - test schema
                    )
                    assert await cursor.fetchone() == (2,)
            finally:
                await pool.close()

        run(main())

    def test_a_newer_schema_is_refused(self, schema: str) -> None:
        """A schema written by a newer convguard raises StoreError naming the versions."""
        import psycopg

        PostgresStore(DSN, schema=schema).close()
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO \"{schema}\".schema_version VALUES (99, 'later')"  # noqa: S608 - test schema
            )

        async def main() -> None:
            with pytest.raises(cg.StoreError, match="schema version 99"):
                await AsyncPostgresStore.open(DSN, schema=schema)

        run(main())


class TestRaces:
    def test_two_tasks_racing_one_conversation(self, schema: str) -> None:
        """Tasks appending on the same version: exactly one wins, the rest conflict."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema, max_size=8) as store:
                root = node("m0")
                await store.create("c1", created_at=T0, messages=[root])
                for round_ in range(10):
                    version = (await store.head("c1")).version
                    tip = (await store.head("c1")).tip
                    assert tip is not None
                    outcomes = await asyncio.gather(
                        *(
                            store.append(
                                "c1", node(f"r{round_}-{i}", tip), expected_version=version
                            )
                            for i in range(2 if round_ % 2 else 8)
                        ),
                        return_exceptions=True,
                    )
                    won = [o for o in outcomes if isinstance(o, int)]
                    assert won == [version + 1]
                    lost = [o for o in outcomes if not isinstance(o, int)]
                    assert all(isinstance(o, cg.StoreConflictError) for o in lost)
                assert len(await store.messages("c1")) == 11

        run(main())

    def test_an_end_and_a_racing_append_never_both_land(self, schema: str) -> None:
        """An ending node and a sibling's child racing: no node sits under an ended parent."""

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema, max_size=4) as store:
                root = node("m0")
                await store.create("c1", created_at=T0, messages=[root])
                for n in range(10):
                    head = await store.head("c1")
                    tip = head.tip
                    assert tip is not None
                    ending = node(f"e{n}", tip, state=ENDED)
                    other = node(f"o{n}", tip)
                    await asyncio.gather(
                        store.append("c1", ending, expected_version=head.version),
                        store.append("c1", other, expected_version=head.version),
                        return_exceptions=True,
                    )
                    if (await store.head("c1")).tip == ending:
                        await store.switch("c1", tip.id)
                messages = await store.messages("c1")
                ended = {m.id for m in messages if m.ended}
                assert not [m for m in messages if m.parent_id in ended]

        run(main())


class TestRoundTrips:
    def test_a_write_is_one_statement(self, schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """append() sends one statement; a connection lent a moment ago is not checked again.

        A refused one sends a second, to say why.
        """
        import psycopg

        sent: list[str] = []
        execute = psycopg.AsyncConnection.execute

        async def counting(conn: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(str(query))
            return await execute(conn, query, *args, **kwargs)

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema, max_size=1) as store:
                root = node("m0")
                await store.create("c1", created_at=T0, messages=[root])
                monkeypatch.setattr(psycopg.AsyncConnection, "execute", counting)
                await store.append("c1", node("m1", root), expected_version=0)
                assert len(sent) == 1  # not even the pool's empty check
                with pytest.raises(cg.StoreConflictError):
                    await store.append("c1", node("m2", root), expected_version=0)
                assert len(sent) == 3
                monkeypatch.undo()

        run(main())


def no_threads(*args: object, **kwargs: object) -> None:
    """Stand in for asyncio.to_thread: nothing here may go to a worker thread."""
    msg = f"a call went to a thread: {args!r}"
    raise AssertionError(msg)


class TestWithAsyncGuard:
    def test_a_whole_conversation(self, schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """send, reply, edit, end through AsyncGuard, awaited on the store with no thread."""
        from convguard.testing import ScriptedDetector

        monkeypatch.setattr(asyncio, "to_thread", no_threads)

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema) as store:
                guard = cg.AsyncGuard(
                    detectors=[ScriptedDetector({"[abuse]": "abuse"})],
                    policy=cg.LastResortPolicy(cg.PolicyConfig(max_redirections=1)),
                    store=store,
                )
                assert guard.store is store
                conv = await guard.start()
                first = await conv.send("hello there")
                assert first.action is cg.Action.ALLOW
                await conv.reply("hi! how can I help?", to=first.message_id)
                warned = await conv.send("[abuse] you are useless")
                assert warned.action is cg.Action.WARN
                await conv.reply("let us keep it civil")
                ended = await conv.send("[abuse] still useless")
                assert ended.action is cg.Action.END
                assert await conv.ended()
                with pytest.raises(cg.ConversationEndedError):
                    await conv.send("anything")
                assert ended.message_id is not None
                edited = await conv.edit(ended.message_id, "sorry, let us go on")
                assert edited.action is cg.Action.ALLOW
                assert not await conv.ended()
                path = [m.content for m in await conv.path()]
                assert path[-1] == "sorry, let us go on"
                assert len(await store.messages(conv.id)) == 6
                again = await guard.open(conv.id)
                tip = await again.tip()
                assert tip is not None
                assert tip.content == "sorry, let us go on"

        run(main())

    def test_tasks_racing_in_one_conversation(self, schema: str) -> None:
        """Tasks sending into one conversation: each acknowledged turn stored, none under an end."""
        from convguard.testing import ScriptedDetector

        async def main() -> None:
            async with AsyncPostgresStore(DSN, schema=schema, max_size=4) as store:
                guard = cg.AsyncGuard(
                    detectors=[ScriptedDetector({"[abuse]": "abuse"})],
                    policy=cg.LastResortPolicy(cg.PolicyConfig(max_redirections=1)),
                    store=store,
                    max_retries=50,
                )
                conv_id = (await guard.start()).id
                acked: list[str] = []
                refused = 0

                async def user(n: int) -> None:
                    nonlocal refused
                    conv = await guard.open(conv_id)
                    for turn in range(6):
                        text = "[abuse] go away" if (n + turn) % 2 == 0 else "hello"
                        try:
                            verdict = await conv.send(text)
                        except cg.ConversationEndedError:
                            refused += 1
                            continue
                        assert verdict.message_id is not None
                        acked.append(verdict.message_id)

                await asyncio.gather(*(user(n) for n in range(8)))
                messages = await store.messages(conv_id)
                assert sorted(m.id for m in messages) == sorted(acked)
                ended = {m.id for m in messages if m.ended}
                assert ended  # the race did reach an end
                assert not [m for m in messages if m.parent_id in ended]
                assert refused > 0
                assert (await store.head(conv_id)).version == len(acked)

        run(main())


class TestDocs:
    def test_the_program_in_docs_async_md_runs(
        self, schema: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The AsyncPostgresStore program of docs/async.md runs as written, on the test database."""
        page = (Path(__file__).parent.parent / "docs" / "async.md").read_text(encoding="utf-8")
        blocks = re.findall(r"```text\n(.*?)```", page, flags=re.DOTALL)
        [program] = [b for b in blocks if "AsyncPostgresStore.open(" in b]
        program = program.replace('"postgresql://app@db.internal:5432/chat"', repr(DSN))
        program = program.replace('schema="convguard"', f"schema={schema!r}")
        assert repr(DSN) in program
        exec(compile(program, "docs/async.md", "exec"), {"__name__": "__main__"})  # noqa: S102 - the docs' program
        assert "Of course. What is the job?" in capsys.readouterr().out
