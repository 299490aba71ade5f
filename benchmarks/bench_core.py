"""Measure the core: turn throughput, depth independence, memory per message.

Run with plain ``python benchmarks/bench_core.py``. Every figure is printed
beside a baseline measured in the same run, so the ratios mean something on a
shared, noisy machine. Nothing here asserts: the numbers go into the notes.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence

import convguard as cg

TEXT = "Could you help me plan a three-day trip to Lisbon with a small budget?"
REPEATS = 5


class NoOp:
    """A detector that finds nothing: the cost of the machinery alone."""

    name = "noop"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        return ()


def best_rate(run: Callable[[int], None], n: int) -> float:
    """Return the best operations per second over a few repeats."""
    rates = []
    for _ in range(REPEATS):
        gc.collect()
        start = time.perf_counter()
        run(n)
        rates.append(n / (time.perf_counter() - start))
    return max(rates)


def paired_median_ns(
    ops: Sequence[tuple[Callable[[], object], Callable[[], object]]], n: int
) -> list[float]:
    """Median nanoseconds of each ``(op, untimed_setup)``, interleaved.

    Interleaving the operations puts the machine's noise on all of them
    alike, so their ratio holds on a busy machine.
    """
    samples: list[list[int]] = [[] for _ in ops]
    for _ in range(n):
        for index, (op, before) in enumerate(ops):
            before()
            start = time.perf_counter_ns()
            op()
            samples[index].append(time.perf_counter_ns() - start)
    return [statistics.median(s) for s in samples]


def throughput() -> None:
    pattern = re.compile(r"\b(?:bomb|idiot|suicide)\b")
    lowered = TEXT.casefold()

    def regex(n: int) -> None:
        for _ in range(n):
            pattern.search(lowered)

    def turns(n: int) -> None:
        conv = cg.Guard(detectors=[NoOp()]).start()
        for _ in range(n):
            conv.send(TEXT)

    regex_rate = best_rate(regex, 200_000)
    turn_rate = best_rate(turns, 20_000)
    print(f"user turns per second, no-op detector: {turn_rate:,.0f}")
    print(f"  one compiled regex scan of the same text: {regex_rate:,.0f} per second")
    print(f"  a turn costs {regex_rate / turn_rate:.1f}x one regex scan")


def grow(depth: int) -> tuple[cg.Conversation, str, str]:
    """Return a conversation of *depth* alternating turns, its tip and a deep user message."""
    conv = cg.Guard(detectors=[NoOp()]).start()
    user_id = ""
    for index in range(depth // 2):
        user_id = conv.send(f"{TEXT} {index}").message_id or ""
        conv.reply("Sure, here is a plan.")
    tip = conv.tip()
    if tip is None:  # pragma: no cover - depth > 0 always leaves a tip
        raise RuntimeError
    return conv, tip.id, user_id


def depth_ratio() -> None:
    shallow, shallow_tip, shallow_user = grow(10)
    deep, deep_tip, deep_user = grow(10_000)

    def nothing() -> None:
        return None

    send10, send10k, edit10, edit10k = paired_median_ns(
        [
            (lambda: shallow.send(TEXT), lambda: shallow.switch(shallow_tip)),
            (lambda: deep.send(TEXT), lambda: deep.switch(deep_tip)),
            (lambda: shallow.edit(shallow_user, TEXT), nothing),
            (lambda: deep.edit(deep_user, TEXT), nothing),
        ],
        3000,
    )
    print(f"turn at depth 10: {send10 / 1000:.1f} µs; at depth 10,000: {send10k / 1000:.1f} µs")
    print(f"  ratio depth 10,000 / depth 10: {send10k / send10:.2f}x")
    print(f"edit at depth 10: {edit10 / 1000:.1f} µs; at depth 10,000: {edit10k / 1000:.1f} µs")
    print(f"  ratio depth 10,000 / depth 10: {edit10k / edit10:.2f}x")


def traced_bytes(fill: Callable[[cg.Conversation], None]) -> int:
    """Return the bytes *fill* leaves allocated in a new conversation."""
    conv = cg.Guard(detectors=[NoOp()]).start()
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    fill(conv)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return after - before


def memory() -> None:
    n = 20_000
    # Texts are made before tracing starts, so only what convguard adds counts.
    texts = [f"{TEXT} {i}" for i in range(n)]
    replies = [f"Sure, plan number {i}." for i in range(n)]

    def users(conv: cg.Conversation) -> None:
        for text in texts:
            conv.send(text)

    def mixed(conv: cg.Conversation) -> None:
        for text, reply in zip(texts, replies, strict=True):
            conv.send(text)
            conv.reply(reply)

    print("bytes per stored message beyond its text:")
    print(f"  user messages (state and verdict each): {traced_bytes(users) / n:,.0f}")
    print(f"  user and assistant alternating: {traced_bytes(mixed) / (2 * n):,.0f}")


def main() -> None:
    print(f"convguard {cg.__version__} core benchmark")
    throughput()
    depth_ratio()
    memory()


if __name__ == "__main__":
    main()
