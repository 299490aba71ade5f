"""Measure the built-in detectors against the least work that reads every word.

Run with plain ``python benchmarks/bench_detectors.py [FILE.jsonl]``. Over the
messages of the shared dev set (``../shared/eval/dev.jsonl``; the test
fixtures when it is absent) it measures, interleaved message by message so
the machine's noise falls on all alike:

- the *floor*: casefold the text, split it into words and look each up in a
  set of every lexicon word;
- ``default_detectors()`` with normalization (a fresh context per message);
- the same with the two messages before it in the file as earlier user turns
  of its history, so the built-in window over recent turns reads three
  messages (a first turn, above, has no earlier one to read);
- a whole default ``Guard`` turn (a fresh conversation per message; starting
  it is not timed);
- the default set without its learned n-gram detector
  (``default_detectors(learned=False)``, the lexicons alone), and that
  detector alone on an already normalized view;
- in a second run, the floor and the default set, the lexicons alone, and the
  default set with the n-gram detector ungated (scoring every message, not
  only those holding one of its trigger words), the three sets taking turns
  at reading each message first: the first to read a message pays a few
  microseconds more, so in the first run the default set, always first after
  the floor, pays that and the lexicons alone do not;

and prints median and p99 of each with the ratios to the floor, the median
and p99 of the default set on 5,000-character messages (also as ratios to
the floor on those messages, which a slow or busy machine leaves alone), and
the resident memory of a fresh interpreter after ``import convguard``.
Nothing here asserts.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs

import convguard as cg
from convguard.detectors import (
    DetectionContext,
    NgramDetector,
    normalize,
    packaged_lexicon,
    packaged_ngram_model,
)

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK = ROOT / "tests" / "fixtures" / "eval" / "items.jsonl"
PASSES = 5
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LONG_CHARS = 5000


def load_texts(path: Path) -> list[str]:
    """Return the message texts of a labelled JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which *share* of *values* fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    operations: Sequence[Callable[[str], object]],
    texts: Sequence[str],
    passes: int,
    *,
    rotate: bool = False,
) -> list[list[float]]:
    """Return microseconds per call of each operation, interleaved per message.

    With *rotate*, the operations after the first take turns at going first
    on a message: the first to read a new message pays a few microseconds
    more (measured: about 10 µs a dev message), the others do not.
    """
    samples: list[list[float]] = [[] for _ in operations]
    clock = time.perf_counter_ns
    rest = len(operations) - 1
    for number in range(passes):
        for place, text in enumerate(texts):
            order = list(range(len(operations)))
            if rotate and rest:
                shift = (number + place) % rest
                order = [0, *order[1 + shift :], *order[1 : 1 + shift]]
            for index in order:
                start = clock()
                operations[index](text)
                samples[index].append((clock() - start) / 1000)
    return samples


def resident_mb(code: str) -> float:
    """Return VmRSS in MB of a fresh interpreter after running *code*."""
    script = (
        f"{code}\n"
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith('VmRSS:'):\n"
        "        print(int(line.split()[1]) / 1024)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip() or "nan")


def main(argv: Sequence[str]) -> None:  # noqa: C901, PLR0915 - one run, top to bottom
    """Run the benchmark and print the figures."""
    path = Path(argv[1]) if len(argv) > 1 else DEV if DEV.exists() else FALLBACK
    texts = load_texts(path)
    words = frozenset(packaged_lexicon().vocabulary())
    detectors = cg.default_detectors()
    ngram = NgramDetector()
    lexicons = cg.default_detectors(learned=False)
    ungated = [*lexicons, NgramDetector(attrs.evolve(packaged_ngram_model(), gate=None))]
    guard = cg.Guard()

    def floor(text: str) -> object:
        return [word in words for word in text.casefold().split()]

    def default_set(text: str) -> object:
        context = DetectionContext(text, normalizer=normalize)
        return [detector.detect(text, context) for detector in detectors]

    def lexicons_alone(text: str) -> object:
        context = DetectionContext(text, normalizer=normalize)
        return [detector.detect(text, context) for detector in lexicons]

    def default_set_ungated(text: str) -> object:
        context = DetectionContext(text, normalizer=normalize)
        return [detector.detect(text, context) for detector in ungated]

    normalized = {text: DetectionContext(text, normalizer=normalize) for text in texts}
    for context in normalized.values():
        _ = context.normalized

    def ngram_alone(text: str) -> object:
        return ngram.detect(text, normalized[text])

    earlier = {
        text: tuple(
            cg.Message(f"h{n}", None, cg.Role.USER, texts[n], EPOCH, cg.PolicyState())
            for n in (index - 2, index - 1)
        )
        for index, text in enumerate(texts)
    }
    ids = itertools.count()

    def default_set_in_a_chat(text: str) -> object:
        # A new id each call: the window's memo would answer a repeated one.
        context = DetectionContext(
            text, message_id=f"m{next(ids)}", history=earlier[text], normalizer=normalize
        )
        return [detector.detect(text, context) for detector in detectors]

    conversations: Iterator[cg.Conversation] = iter(())

    def guard_turn(text: str) -> object:
        return next(conversations).send(text)

    # Warm the caches (lexicon, normalizer, character table) before timing.
    for text in texts:
        floor(text)
        default_set(text)
    conversations = iter([guard.start() for _ in range(len(texts) * PASSES)])
    gc.collect()
    floor_us, default_us, chat_us, guard_us, lexicons_us, ngram_us = measure(
        [
            floor,
            default_set,
            default_set_in_a_chat,
            guard_turn,
            lexicons_alone,
            ngram_alone,
        ],
        texts,
        PASSES,
    )
    gc.collect()
    fair_floor_us, *fair_us = measure(
        [floor, default_set, lexicons_alone, default_set_ungated],
        texts,
        PASSES,
        rotate=True,
    )

    long_texts: list[str] = []
    current = ""
    for text in texts * 4:
        current += text + " "
        if len(current) >= LONG_CHARS:
            long_texts.append(current[:LONG_CHARS])
            current = ""
    gc.collect()
    for text in long_texts:
        normalized[text] = DetectionContext(text, normalizer=normalize)
        _ = normalized[text].normalized
    long_floor_us, long_default_us, long_lexicons_us, long_ngram_us = measure(
        [floor, default_set, lexicons_alone, ngram_alone], long_texts, PASSES
    )

    print(f"convguard {cg.__version__}: {len(texts)} messages from {path} x {PASSES} passes")
    print(f"{'':34}{'median µs':>10}{'p99 µs':>10}{'median/floor':>14}")
    base = statistics.median(floor_us)
    for label, values in (
        ("floor (casefold, split, set)", floor_us),
        ("default_detectors + normalize", default_us),
        ("  the same, two earlier user turns", chat_us),
        ("whole Guard turn (fresh chat)", guard_us),
        ("the lexicons alone (learned=False)", lexicons_us),
        ("  n-gram detector alone", ngram_us),
    ):
        median = statistics.median(values)
        print(f"{label:34}{median:>10.1f}{percentile(values, 0.99):>10.1f}{median / base:>13.1f}x")
    fair_base = statistics.median(fair_floor_us)
    print(
        "taking turns at going first: "
        + ", ".join(
            f"{label} {statistics.median(values) / fair_base:.1f}x"
            for label, values in zip(
                ("default set", "lexicons alone", "default set, n-gram ungated"),
                fair_us,
                strict=True,
            )
        )
        + f" (floor {fair_base:.1f} µs)"
    )
    long_median = statistics.median(long_default_us)
    long_p99 = percentile(long_default_us, 0.99)
    # Each message's median over the passes, then the p99 over messages: the
    # slowest messages' own cost, without the machine's one-off interruptions.
    count = len(long_texts)
    typical = [statistics.median(long_default_us[j::count]) for j in range(count)]
    long_base = statistics.median(long_floor_us)
    typical_p99 = percentile(typical, 0.99)
    print(
        f"5,000-char messages ({count}): default set median {long_median:.0f} µs, "
        f"p99 {long_p99:.0f} µs; floor median {long_base:.0f} µs"
    )
    print(f"  p99 over messages of each message's median of {PASSES} passes: {typical_p99:.0f} µs")
    # The same three against the floor: what a slower or busier machine leaves alone.
    print(
        f"  per floor median: median {long_median / long_base:.1f}x, p99 "
        f"{long_p99 / long_base:.1f}x, p99 of medians {typical_p99 / long_base:.1f}x"
    )
    print(
        f"  the lexicons alone: median {statistics.median(long_lexicons_us):.0f} µs "
        f"({statistics.median(long_lexicons_us) / long_base:.1f}x), p99 "
        f"{percentile(long_lexicons_us, 0.99):.0f} µs; the n-gram detector alone: median "
        f"{statistics.median(long_ngram_us):.0f} µs"
    )
    bare = resident_mb("pass")
    loaded = resident_mb("import convguard")
    warm = resident_mb(
        "import convguard\nfor d in convguard.default_detectors(): d.detect('x', "
        "convguard.DetectionContext('x'))"
    )
    print(
        f"resident memory: bare interpreter {bare:.1f} MB, after import convguard "
        f"{loaded:.1f} MB, with the default detectors built {warm:.1f} MB"
    )


if __name__ == "__main__":
    main(sys.argv)
