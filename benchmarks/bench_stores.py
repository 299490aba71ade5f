"""Measure the stores: turns per second with 1 and 8 workers, and cost at depth.

Run with plain ``python benchmarks/bench_stores.py`` (``--quick`` for a short
run). Every store that can be reached is measured: memory, a SQLite file in a
temporary directory, and PostgreSQL at ``CONVGUARD_TEST_POSTGRES_DSN`` (or
127.0.0.1:5432, database ``test``) on a throw-away schema.

- Throughput: each worker sends user turns on its own conversation, as a
  backend serving many chats does; 8 threads share one store object, and 8
  processes each open their own store on the same database.
- Depth: one turn (reading the tip and a 20-message history window, as a
  multi-turn detector does) on a conversation 10,000 messages deep against
  one 10 deep, interleaved so the machine's noise falls on both alike; the ratio is
  what matters (1.0 means a turn does not grow with the conversation).

- Writes (``--writes`` runs only these): against a bare floor measured in
  the same run on the same database (SQLite: one ``INSERT`` and ``COMMIT``
  of a row of the same size with the same ``synchronous`` setting;
  PostgreSQL: the same ``INSERT`` over the store's own pool), one
  ``store.append`` and one whole turn (``send`` then ``reply``) at depth 10
  and 10,000, each as a ratio to the floor; then PostgreSQL turns per
  second with 1, 2, 4 and 8 worker processes.
- Reads (``--reads`` runs only these): ``conv.path(limit=40)``, the window a
  model's prompt needs, at depth 100 and 10,000, beside the whole ``path()``
  at depth 200 and 4,000; and ``guard.conversations(...)`` pages over
  100,000 conversations (1,000 users of 100 each, one tenant of all):
  the newest page, a page 500 pages deep through the cursor, one user's
  newest page, and the tenant's. Each figure is shown as a ratio to
  ``store.info()`` (one primary-key read) measured in the same run.

Nothing here asserts: the numbers go into the notes.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import convguard as cg
from convguard.stores import MemoryStore, PostgresStore, SQLiteStore, Store
from convguard.testing import ScriptedDetector

DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
QUICK = "--quick" in sys.argv
TURNS = 150 if QUICK else 600  # per worker
DEPTH_SAMPLES = 100 if QUICK else 400
WORKERS = 8
TEXT = "Could you help me plan a three-day trip to Lisbon with a small budget?"

# How a process opens the shared store: ("sqlite", path) or ("postgres", schema).
Spec = tuple[str, str]


def open_store(spec: Spec) -> Store:
    """Open the store a spec names."""
    kind, where = spec
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(where, timeout=60)
    return PostgresStore(DSN, schema=where, max_size=WORKERS + 2)


class HistoryReader:
    """A multi-turn detector's access pattern: read the history window, find nothing."""

    name = "history"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        """Read the branch history (``history_window`` messages from the store)."""
        assert len(context.history) <= 20  # noqa: S101 - the guard bounds it
        return ()


def guard_on(store: Store) -> cg.Guard:
    """Return a guard with cheap detectors, one reading history, so the store dominates."""
    return cg.Guard(
        detectors=[ScriptedDetector({"[abuse]": "abuse"}), HistoryReader()],
        store=store,
        history_window=20,
    )


def run_turns(guard: cg.Guard, turns: int) -> None:
    """Send *turns* user messages on a new conversation."""
    conv = guard.start()
    for _ in range(turns):
        conv.send(TEXT)


def threads_rate(store: Store, workers: int, turns: int) -> float:
    """Return turns per second of *workers* threads sharing *store*."""
    guard = guard_on(store)
    barrier = threading.Barrier(workers + 1)

    def work() -> None:
        barrier.wait()
        run_turns(guard, turns)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return workers * turns / (time.perf_counter() - start)


def process_worker(spec: Spec, turns: int, start_at: float) -> float:
    """Open the store, wait for the common start, run the turns; return the end time."""
    store = open_store(spec)
    guard = guard_on(store)
    guard.start()  # warm the connection before the clock starts
    while time.time() < start_at:
        time.sleep(0.001)
    run_turns(guard, turns)
    store.close()
    return time.time()


def processes_rate(spec: Spec, workers: int, turns: int) -> float:
    """Return turns per second of *workers* processes on the same database."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        start_at = time.time() + 5.0  # past every process's start-up
        futures = [pool.submit(process_worker, spec, turns, start_at) for _ in range(workers)]
        end = max(f.result() for f in futures)
    return workers * turns / (end - start_at)


def deep_conversation(store: Store, depth: int) -> cg.Conversation:
    """Store one branch *depth* messages deep, user and assistant in turn."""
    guard = guard_on(store)
    messages: list[cg.Message] = []
    parent: cg.Message | None = None
    now = datetime.now(UTC)
    for i in range(depth):
        parent = cg.Message(
            f"m{i}",
            None if parent is None else parent.id,
            cg.Role.USER if i % 2 == 0 else cg.Role.ASSISTANT,
            TEXT,
            now,
            cg.PolicyState(user_turns=i // 2),
            depth=i,
        )
        messages.append(parent)
    conversation_id = uuid.uuid4().hex
    store.create(conversation_id, created_at=now, messages=messages)
    return guard.open(conversation_id)


def depth_ratio(store: Store) -> tuple[float, float]:
    """Return the median turn time at depth 10 and at depth 10,000, in µs."""
    shallow = deep_conversation(store, 10)
    deep = deep_conversation(store, 10_000)
    samples: dict[str, list[int]] = {"shallow": [], "deep": []}
    pair = [("shallow", shallow), ("deep", deep)]
    for _ in range(DEPTH_SAMPLES):
        pair.reverse()  # ABBA: whichever goes second gains nothing from it
        for name, conv in pair:
            start = time.perf_counter_ns()
            conv.send(TEXT)
            samples[name].append(time.perf_counter_ns() - start)
    return (
        statistics.median(samples["shallow"]) / 1000,
        statistics.median(samples["deep"]) / 1000,
    )


def postgres_reachable() -> str | None:
    """Return why PostgreSQL is skipped, or ``None``."""
    try:
        import psycopg  # noqa: PLC0415 - the extra is optional
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


@contextmanager
def specs() -> Iterator[list[Spec]]:
    """Yield the stores to measure, and clean up after them."""
    out: list[Spec] = [("memory", "")]
    with tempfile.TemporaryDirectory() as tmp:
        out.append(("sqlite", str(Path(tmp) / "bench.db")))
        why = postgres_reachable()
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        if why is None:
            out.append(("postgres", schema))
        else:
            print(f"postgres: skipped ({why})")
        try:
            yield out
        finally:
            if why is None:
                import psycopg  # noqa: PLC0415 - the extra is optional

                with psycopg.connect(DSN, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def timed(call: Callable[[], object], samples: int) -> float:
    """Return the median µs of *call*."""
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        call()
        out.append(time.perf_counter_ns() - start)
    return statistics.median(out) / 1000


CONVERSATIONS = 20_000 if QUICK else 100_000
USERS = CONVERSATIONS // 100


def bulk_conversations(spec: Spec, store: Store) -> None:
    """Load the listing's conversations in one statement each, as create() stores them.

    Conversation ``c{n}`` belongs to user ``u{n % USERS}`` and tenant ``t1``;
    its last activity is ``n`` seconds after a fixed start.
    """
    base = 1_750_000_000_000_000
    kind, where = spec
    if kind == "memory":
        for n in range(CONVERSATIONS):
            store.create(
                f"c{n}",
                created_at=datetime.fromtimestamp((base + n * 1_000_000) / 1e6, UTC),
                metadata={"user_id": f"u{n % USERS}", "tenant": "t1"},
            )
        return
    if kind == "sqlite":
        import sqlite3  # noqa: PLC0415 - only here

        conn = sqlite3.connect(where)
        series = (
            "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g"  # noqa: S608
            f" WHERE n < {CONVERSATIONS - 1}) "
        )
        with conn:
            conn.execute(
                series + "INSERT INTO conversations (id, created_at, metadata, version, tip_id,"  # noqa: S608
                " ended_branches, message_count, at_risk, updated_us, title)"
                " SELECT 'c' || n, '2025-06-15T00:00:00+00:00',"
                f" json_object('user_id', 'u' || (n % {USERS}), 'tenant', 't1'), 0, NULL, 0, 0, 0,"
                f" {base} + n * 1000000, NULL FROM g"
            )
            conn.execute(
                series + "INSERT INTO conversation_tags (key, value, conversation_id)"  # noqa: S608
                f" SELECT 'user_id', 'su' || (n % {USERS}), 'c' || n FROM g"
                " UNION ALL SELECT 'tenant', 'st1', 'c' || n FROM g"
            )
        conn.close()
        return
    import psycopg  # noqa: PLC0415 - the extra is optional

    s = f'"{where}"'
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {s}.conversations (id, created_at, metadata, version, tip_id,"  # noqa: S608
            " ended_branches, message_count, at_risk, updated_us, title)"
            " SELECT 'c' || n, '2025-06-15T00:00:00+00:00',"
            f" json_build_object('user_id', 'u' || (n % {USERS}), 'tenant', 't1'), 0, NULL,"
            f" 0, 0, false, {base} + n::bigint * 1000000, NULL"
            f" FROM generate_series(0, {CONVERSATIONS - 1}) n"
        )
        conn.execute(
            f"INSERT INTO {s}.conversation_tags (key, value, conversation_id)"  # noqa: S608
            f" SELECT 'user_id', 'su' || (n % {USERS}), 'c' || n"
            f" FROM generate_series(0, {CONVERSATIONS - 1}) n"
            f" UNION ALL SELECT 'tenant', 'st1', 'c' || n"
            f" FROM generate_series(0, {CONVERSATIONS - 1}) n"
        )
        conn.execute(f"ANALYZE {s}.conversations")
        conn.execute(f"ANALYZE {s}.conversation_tags")


def reads(spec: Spec) -> None:
    """Print the read figures of one store, as ratios to a primary-key read."""
    store = open_store(spec)
    samples = 50 if QUICK else 200
    try:
        guard = guard_on(store)
        convs = {depth: deep_conversation(store, depth) for depth in (100, 200, 4_000, 10_000)}
        floor = timed(lambda: store.info(convs[100].id), samples)
        figures = {
            "path(limit=40) d=100": timed(lambda: convs[100].path(limit=40), samples),
            "path(limit=40) d=10k": timed(lambda: convs[10_000].path(limit=40), samples),
            "path() d=200": timed(convs[200].path, samples // 4),
            "path() d=4000": timed(convs[4_000].path, max(3, samples // 20)),
        }
        bulk_conversations(spec, store)
        cursor = None
        for _ in range(500):
            cursor = guard.conversations(limit=20, after=cursor).next
        figures |= {
            "list newest 20": timed(lambda: guard.conversations(limit=20), samples),
            "list page 501": timed(lambda: guard.conversations(limit=20, after=cursor), samples),
            "list 1 user's 20": timed(
                lambda: guard.conversations(metadata={"user_id": "u7"}, limit=20), samples
            ),
            "list tenant's 20": timed(
                lambda: guard.conversations(metadata={"tenant": "t1"}, limit=20),
                max(3, samples // 20),
            ),
        }
        floor_after = timed(lambda: store.info("c7"), samples)
    finally:
        store.close()
    print(f"\n{spec[0]}: store.info() {floor:,.0f} µs ({floor_after:,.0f} µs at {CONVERSATIONS:,})")
    for name, value in figures.items():
        base = floor if name.startswith("path") else floor_after
        print(f"  {name:<22}{value:>12,.0f} µs{value / base:>10.1f}x info()")


FLOOR_ROW = "x" * 300  # about a stored message row: text, state, metadata


def floor_writer(spec: Spec, store: Store) -> Callable[[], object]:
    """Return a bare durable write of one row the size of a message, on *spec*'s database."""
    kind, where = spec
    numbers = iter(range(10**9))
    if kind == "sqlite":
        import sqlite3  # noqa: PLC0415 - only here

        conn = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=FULL")  # the store's default
        conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id TEXT PRIMARY KEY, body TEXT)")

        def sqlite_write() -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_floor VALUES (?, ?)", (f"r{next(numbers)}", FLOOR_ROW))
            conn.execute("COMMIT")

        return sqlite_write
    assert isinstance(store, PostgresStore)  # noqa: S101 - the bench's own pairing
    pool = store._pool  # noqa: SLF001 - the floor runs over the store's own pool
    table = f'"{where}".bench_floor'
    with pool.connection() as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, body TEXT)")

    def postgres_write() -> None:
        with pool.connection() as conn:
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (f"r{next(numbers)}", FLOOR_ROW))  # noqa: S608

    return postgres_write


def interleaved(
    calls: list[tuple[str, Callable[[], object]]], samples: int, timings: dict[str, list[int]]
) -> None:
    """Time each call *samples* times, in ABBA order so noise falls on all alike."""
    for _ in range(samples):
        calls.reverse()
        for name, call in calls:
            start = time.perf_counter_ns()
            call()
            timings.setdefault(name, []).append(time.perf_counter_ns() - start)


def writes(spec: Spec) -> None:
    """Print one write's and one turn's cost at depth 10 and 10,000 as ratios to the floor."""
    store = open_store(spec)
    samples = 60 if QUICK else 300
    try:
        floor = floor_writer(spec, store)
        convs = {depth: deep_conversation(store, depth) for depth in (10, 10_000)}
        versions = {depth: store.head(conv.id).version for depth, conv in convs.items()}
        tips = {depth: store.head(conv.id).tip for depth, conv in convs.items()}

        def append(depth: int) -> None:
            tip = tips[depth]
            assert tip is not None  # noqa: S101 - the bench's own conversation
            message = cg.Message(
                uuid.uuid4().hex, tip.id, cg.Role.ASSISTANT, TEXT, tip.created_at,
                tip.state, depth=tip.depth + 1,
            )  # fmt: skip
            versions[depth] = store.append(
                convs[depth].id, message, expected_version=versions[depth], move_tip=True
            )
            tips[depth] = message

        def turn(depth: int) -> None:
            convs[depth].send(TEXT)
            convs[depth].reply("Sure: here is a plan.")

        timings: dict[str, list[int]] = {}
        interleaved(
            [
                ("floor", floor),
                ("write d=10", lambda: append(10)),
                ("write d=10k", lambda: append(10_000)),
            ],
            samples,
            timings,
        )
        writes_floor = list(timings["floor"])
        interleaved(
            [
                ("floor", floor),
                ("turn d=10", lambda: turn(10)),
                ("turn d=10k", lambda: turn(10_000)),
            ],
            samples // 2,
            timings,
        )
    finally:
        store.close()
    medians = {name: statistics.median(values) / 1000 for name, values in timings.items()}
    base = medians.pop("floor")
    # Each phase's own floor: far apart, the disk changed pace mid-run (a
    # shared machine's does), and the run's ratios mislead.
    phases = (
        statistics.median(writes_floor) / 1000,
        statistics.median(timings["floor"][len(writes_floor) :]) / 1000,
    )
    print(
        f"\n{spec[0]}: bare write (floor) {base:,.0f} µs"
        f" (writes {phases[0]:,.0f} µs, turns {phases[1]:,.0f} µs)"
    )
    for name, value in medians.items():
        print(f"  {name:<14}{value:>10,.0f} µs{value / base:>8.2f}x floor")
    if spec[0] == "postgres":
        one = processes_rate(spec, 1, TURNS)
        for workers in (1, 2, 4, 8):
            rate = one if workers == 1 else processes_rate(spec, workers, TURNS)
            print(f"  {workers} worker processes: {rate:,.0f} turns/s ({rate / one:.2f}x 1)")


def row(label: str, *cells: str) -> None:
    """Print one line of the results table."""
    print(f"{label:<10}" + "".join(f"{c:>16}" for c in cells))


def main() -> None:
    """Measure every reachable store and print the figures and their ratios."""
    if "--reads" in sys.argv:
        with specs() as stores:
            for spec in stores:
                reads(spec)
        return
    if "--writes" in sys.argv:
        with specs() as stores:
            for spec in stores[1:]:
                writes(spec)
        return
    print(f"turns per worker: {TURNS}; depth samples: {DEPTH_SAMPLES}\n")
    row("store", "1 worker/s", "8 threads/s", "8 procs/s", "d=10 µs", "d=10k µs", "10k/10")
    with specs() as stores:
        for spec in stores:
            kind = spec[0]
            store = open_store(spec)
            try:
                one = threads_rate(store, 1, TURNS)
                eight = threads_rate(store, WORKERS, TURNS)
                shallow, deep = depth_ratio(store)
            finally:
                store.close()
            procs = processes_rate(spec, WORKERS, TURNS) if kind != "memory" else float("nan")
            row(
                kind,
                f"{one:,.0f}",
                f"{eight:,.0f} ({eight / one:.2f}x)",
                "-" if kind == "memory" else f"{procs:,.0f} ({procs / one:.2f}x)",
                f"{shallow:,.0f}",
                f"{deep:,.0f}",
                f"{deep / shallow:.2f}x",
            )
    print(
        "\n8-worker figures are shown with their ratio to 1 worker; "
        "10k/10 is the turn cost at depth 10,000 over depth 10."
    )
    with specs() as stores:
        for spec in stores[1:]:
            writes(spec)
        for spec in stores:
            reads(spec)


if __name__ == "__main__":
    main()
