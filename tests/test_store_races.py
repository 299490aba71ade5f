"""Real threads and real processes racing on shared conversations.

Every worker counts each turn it tries and each message the guard
acknowledged. Afterwards the store must hold exactly the acknowledged
messages, no node may sit under an ended parent, and each conversation's
version must equal the number of acknowledged writes to it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, cast

import pytest

import convguard as cg
from convguard.stores import AsyncPostgresStore, MemoryStore, PostgresStore, SQLiteStore, Store
from convguard.testing import ScriptedDetector

DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
WORKERS = 8


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

# What a process needs to open the shared store: ("sqlite", path) or
# ("postgres", schema).
Spec = tuple[str, str]


class Tally(TypedDict):
    """What one worker did."""

    attempts: int
    acked: dict[str, list[str]]
    writes: dict[str, int]
    refused: int
    gave_up: int
    ended: int
    conflicts: int


class CountingStore:
    """Pass every call through to a store, counting lost compare-and-sets."""

    def __init__(self, store: Store) -> None:
        """Wrap *store*."""
        self.store = store
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        """Delegate everything else."""
        return getattr(self.store, name)

    def append(self, *args: Any, **kwargs: Any) -> int:
        """Append, counting the times another writer got in first."""
        try:
            return self.store.append(*args, **kwargs)
        except cg.StoreConflictError:
            self.conflicts += 1
            raise


def open_store(spec: Spec) -> Store:
    """Open the store a spec names."""
    kind, where = spec
    if kind == "sqlite":
        return SQLiteStore(where, timeout=60)
    return PostgresStore(DSN, schema=where, max_size=2)


def make_guard(store: Store) -> cg.Guard:
    """Return a guard whose verdicts are known from the text."""
    return cg.Guard(
        detectors=[ScriptedDetector({"[abuse]": "abuse"})],
        store=store,
        max_retries=1000,
    )


def _nearest_user(store: Store, conversation_id: str, message_id: str) -> str | None:
    for message in store.ancestors(conversation_id, message_id, 8):
        if message.role is cg.Role.USER:
            return message.id
    return None


def hammer(  # noqa: C901 - one loop, one branch per kind of turn
    target: Store | Spec, conversation_ids: list[str], turns: int, seed: int
) -> Tally:
    """Run *turns* random turns on the given conversations and count them."""
    store = open_store(target) if isinstance(target, tuple) else target
    counting = CountingStore(store)
    guard = make_guard(cast("Store", counting))
    rng = random.Random(seed)  # noqa: S311 - a workload, not a secret
    tally: Tally = {
        "attempts": 0,
        "acked": {},
        "writes": {},
        "refused": 0,
        "gave_up": 0,
        "ended": 0,
        "conflicts": 0,
    }

    def ack(conversation_id: str, message_id: str | None) -> None:
        assert message_id is not None
        tally["acked"].setdefault(conversation_id, []).append(message_id)
        tally["writes"][conversation_id] = tally["writes"].get(conversation_id, 0) + 1

    try:
        conversations = {cid: guard.open(cid) for cid in conversation_ids}
        for _ in range(turns):
            cid = rng.choice(conversation_ids)
            conv = conversations[cid]
            roll = rng.random()
            tally["attempts"] += 1
            try:
                if roll < 0.15:
                    ack(cid, conv.reply("sure").id)
                elif roll < 0.17:
                    verdict = conv.request_end(by="user", confirmed=True)
                    if verdict.message_id is not None:
                        ack(cid, verdict.message_id)
                        tally["ended"] += 1
                else:
                    verdict = conv.send("[abuse] stop it" if roll < 0.45 else "hello there")
                    ack(cid, verdict.message_id)
                    tally["ended"] += verdict.action is cg.Action.END
            except cg.ConversationEndedError as exc:
                # Nothing was stored; reopen the branch by editing, as a user would.
                tally["refused"] += 1
                user = None if exc.message_id is None else _nearest_user(store, cid, exc.message_id)
                if user is not None:
                    try:
                        ack(cid, conv.edit(user, "sorry, hello").message_id)
                    except cg.StoreConflictError:
                        tally["gave_up"] += 1
            except cg.StoreConflictError:
                tally["gave_up"] += 1
    finally:
        tally["conflicts"] = counting.conflicts
        if isinstance(target, tuple):
            store.close()
    return tally


def check(store: Store, conversation_ids: list[str], tallies: list[Tally], turns: int) -> int:
    """Check every invariant after a race; return the acknowledged writes."""
    assert sum(t["attempts"] for t in tallies) == turns
    acked: dict[str, list[str]] = {}
    writes: Counter[str] = Counter()
    for tally in tallies:
        for cid, ids in tally["acked"].items():
            acked.setdefault(cid, []).extend(ids)
        writes.update(tally["writes"])
    assert sum(t["ended"] for t in tallies) > 0, "no branch ended: the race proves nothing"
    # Under the GIL, memory-store threads rarely interleave inside a turn.
    if len(conversation_ids) == 1 and not isinstance(store, MemoryStore):
        assert sum(t["conflicts"] for t in tallies) > 0, "no writer ever lost: no race happened"
    for cid in conversation_ids:
        messages = store.messages(cid)
        by_id = {m.id: m for m in messages}
        # Every acknowledged message is stored, once; nothing else is.
        assert len(by_id) == len(messages)
        assert sorted(by_id) == sorted(acked.get(cid, []))
        for message in messages:
            if message.parent_id is not None:
                parent = by_id[message.parent_id]
                assert not parent.ended, f"{message.id} sits under ended {parent.id}"
                assert message.depth == parent.depth + 1
        info = store.info(cid)
        assert info.version == writes[cid]
        assert info.message_count == len(messages)
        assert info.ended_branches == sum(m.ended for m in messages)
        assert info.tip_id in by_id
    return sum(writes.values())


def start(store: Store, count: int) -> list[str]:
    """Create *count* empty conversations."""
    ids = [f"race-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    for cid in ids:
        store.create(cid, created_at=datetime.now(UTC))
    return ids


def race_threads(store: Store, conversations: int, turns: int) -> int:
    """Race WORKERS threads sharing one store object."""
    ids = start(store, conversations)
    per = turns // WORKERS
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(hammer, store, ids, per, seed) for seed in range(WORKERS)]
        tallies = [f.result() for f in futures]
    return check(store, ids, tallies, per * WORKERS)


def race_processes(store: Store, spec: Spec, conversations: int, turns: int) -> int:
    """Race WORKERS processes, each with its own store on the same database."""
    ids = start(store, conversations)
    per = turns // WORKERS
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        futures = [pool.submit(hammer, spec, ids, per, seed) for seed in range(WORKERS)]
        tallies = [f.result() for f in futures]
    return check(store, ids, tallies, per * WORKERS)


@pytest.fixture
def sqlite_spec(tmp_path: Path) -> Iterator[tuple[Store, Spec]]:
    """A SQLite file and the spec processes open it with."""
    spec: Spec = ("sqlite", str(tmp_path / "race.db"))
    store = open_store(spec)
    yield store, spec
    store.close()


@pytest.fixture
def postgres_spec() -> Iterator[tuple[Store, Spec]]:
    """A fresh PostgreSQL schema and the spec processes open it with."""
    if PG_SKIP:
        pytest.skip(PG_SKIP)
    import psycopg

    spec: Spec = ("postgres", f"t_{uuid.uuid4().hex[:16]}")
    store = PostgresStore(DSN, schema=spec[1], max_size=WORKERS + 2)
    yield store, spec
    store.close()
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{spec[1]}" CASCADE')


@pytest.fixture
def async_postgres_store() -> Iterator[Store]:
    """A fresh schema behind an AsyncPostgresStore, called from threads through its loop."""
    if PG_SKIP:
        pytest.skip(PG_SKIP)
    import psycopg

    from tests.test_stores import AwaitedStore

    schema = f"t_{uuid.uuid4().hex[:16]}"
    store = AwaitedStore(AsyncPostgresStore(DSN, schema=schema, max_size=WORKERS + 2))
    yield cast("Store", store)
    store.close()
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# (conversations, turns): one hot conversation, and many quieter ones. The ten
# races add up to 10,000 turns; TestLongRace adds 4,000 more on one hot file.
SHAPES = [pytest.param(1, 1000, id="one-conversation"), pytest.param(16, 1000, id="many")]


class TestThreads:
    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_memory(self, conversations: int, turns: int) -> None:
        """Threads on a MemoryStore lose nothing and never write under an end."""
        assert race_threads(MemoryStore(), conversations, turns) > 0

    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_sqlite(self, sqlite_spec: tuple[Store, Spec], conversations: int, turns: int) -> None:
        """Threads sharing one SQLiteStore lose nothing and never write under an end."""
        assert race_threads(sqlite_spec[0], conversations, turns) > 0

    @pytest.mark.postgres
    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_postgres(
        self, postgres_spec: tuple[Store, Spec], conversations: int, turns: int
    ) -> None:
        """Threads sharing one PostgresStore lose nothing and never write under an end."""
        assert race_threads(postgres_spec[0], conversations, turns) > 0

    @pytest.mark.postgres
    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_async_postgres(
        self, async_postgres_store: Store, conversations: int, turns: int
    ) -> None:
        """Threads on one AsyncPostgresStore (concurrent tasks on its loop) lose nothing."""
        assert race_threads(async_postgres_store, conversations, turns) > 0


class TestProcesses:
    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_sqlite(self, sqlite_spec: tuple[Store, Spec], conversations: int, turns: int) -> None:
        """Processes on one SQLite file lose nothing and never write under an end."""
        store, spec = sqlite_spec
        assert race_processes(store, spec, conversations, turns) > 0

    @pytest.mark.postgres
    @pytest.mark.parametrize(("conversations", "turns"), SHAPES)
    def test_postgres(
        self, postgres_spec: tuple[Store, Spec], conversations: int, turns: int
    ) -> None:
        """Processes on one PostgreSQL schema lose nothing and never write under an end."""
        store, spec = postgres_spec
        assert race_processes(store, spec, conversations, turns) > 0


class TestLongRace:
    def test_sqlite(self, sqlite_spec: tuple[Store, Spec]) -> None:
        """A long race of processes on one hot SQLite conversation loses nothing."""
        store, spec = sqlite_spec
        assert race_processes(store, spec, 1, 4000) > 0
