"""Measure AsyncGuard on PostgreSQL: a blocking store in threads against AsyncPostgresStore.

Run with plain ``python benchmarks/bench_async.py`` (``--chats 200 --turns 5``
by default). PostgreSQL is at ``CONVGUARD_TEST_POSTGRES_DSN`` (or
127.0.0.1:5432, database ``test``); the figures go on a throw-away schema,
and the script says so and stops when the server cannot be reached.

Many chats at once on one ``AsyncGuard``, as an asyncio chat backend serves
them: each chat is a task doing ``--turns`` turns, a turn being a user
``send`` and the assistant's ``reply``. Two ways of reaching the database are
measured in the same run, in alternating rounds so the machine's noise falls
on both alike:

- threads: ``AsyncGuard(store=PostgresStore(...))``, the path before
  ``AsyncPostgresStore``: every store call goes to a worker thread
  (``asyncio.to_thread``, whose default pool has ``min(32, CPUs + 4)``
  threads);
- native: ``AsyncGuard(store=AsyncPostgresStore(...))``: every call is
  awaited on the event loop, no thread.

Both stores get the same connection pool size (``--pool``). For each the
script prints turns per second and the 50th and 99th percentile of one
turn's latency (send + reply, as its chat sees it), then the ratios native /
threads. Nothing here asserts: the numbers go into the notes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import convguard as cg
from convguard.stores import AsyncPostgresStore, PostgresStore

DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "Could you help me plan a three-day trip to Lisbon with a small budget?"
ANSWER = "Sure: day one, the old town; day two, Belém; day three, Sintra."


def unreachable() -> str | None:
    """Return why PostgreSQL cannot be used, or ``None`` when it can."""
    try:
        import psycopg  # noqa: PLC0415 - the extra is optional
    except ImportError:
        return "psycopg is not installed (pip install 'convguard[postgres]')"
    try:
        with psycopg.connect(DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {DSN}: {str(exc).strip()}"


async def chats(guard: cg.AsyncGuard, count: int, turns: int) -> tuple[float, list[float]]:
    """Run *count* chats of *turns* turns at once; return the wall time and each turn's seconds."""
    convs = [await guard.start() for _ in range(count)]  # not timed
    latencies: list[float] = []

    async def chat(conv: cg.AsyncConversation) -> None:
        for _ in range(turns):
            start = time.perf_counter()
            verdict = await conv.send(TEXT)
            await conv.reply(ANSWER, to=verdict.message_id)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(chat(conv) for conv in convs))
    return time.perf_counter() - start, latencies


def percentile(values: list[float], share: float) -> float:
    """Return the *share* quantile of *values* (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(args: argparse.Namespace, schema: str) -> dict[str, tuple[float, list[float]]]:
    """Run the rounds of both ways; return each one's total wall time and turn latencies."""
    blocking = PostgresStore(DSN, schema=schema, min_size=args.pool, max_size=args.pool)
    native = await AsyncPostgresStore.open(
        DSN, schema=schema, min_size=args.pool, max_size=args.pool
    )
    guards: dict[str, Callable[[], cg.AsyncGuard]] = {
        "threads": lambda: cg.AsyncGuard(store=blocking),
        "native": lambda: cg.AsyncGuard(store=native),
    }
    totals: dict[str, tuple[float, list[float]]] = {name: (0.0, []) for name in guards}
    order = list(guards)
    try:
        await chats(guards["native"](), 4, 2)  # warm both pools and the code paths
        await chats(guards["threads"](), 4, 2)
        for _ in range(args.rounds):
            for name in order:
                wall, latencies = await chats(guards[name](), args.chats, args.turns)
                total, seen = totals[name]
                totals[name] = (total + wall, seen + latencies)
            order.reverse()  # ABBA
    finally:
        blocking.close()
        await native.close()
    return totals


def drop(schema: str) -> None:
    """Drop the benchmark's schema."""
    import psycopg  # noqa: PLC0415 - the extra is optional

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    """Measure both ways and print their figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=200, help="chats at once (default 200)")
    parser.add_argument("--turns", type=int, default=5, help="turns per chat (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each way (default 2)")
    parser.add_argument("--pool", type=int, default=10, help="connections per store (default 10)")
    args = parser.parse_args(argv)
    why = unreachable()
    if why is not None:
        print(f"skipped: {why}")
        return 0
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        totals = asyncio.run(measure(args, schema))
    finally:
        drop(schema)
    threads = min(32, (os.cpu_count() or 1) + 4)
    print(
        f"{args.chats} chats at once x {args.turns} turns (send + reply), {args.rounds} rounds"
        f" each; pool {args.pool} connections; to_thread pool {threads} threads;"
        f" Python {sys.version.split()[0]}"
    )
    print(f"{'':<10}{'turns/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    figures: dict[str, tuple[float, float, float]] = {}
    for name, (wall, latencies) in totals.items():
        rate = len(latencies) / wall
        p50 = statistics.median(latencies) * 1000
        p99 = percentile(latencies, 0.99) * 1000
        figures[name] = (rate, p50, p99)
        print(f"{name:<10}{rate:>10,.0f}{p50:>10,.1f}{p99:>10,.1f}")
    (rate_a, p50_a, p99_a), (rate_b, p50_b, p99_b) = figures["threads"], figures["native"]
    print(
        f"native / threads: turns/s {rate_b / rate_a:.2f}x,"
        f" p50 {p50_b / p50_a:.2f}x, p99 {p99_b / p99_a:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
