"""Measure the semantic detector against the built-in lexicon detector on the same messages.

Run with ``python benchmarks/bench_semantic.py [FILE.jsonl] --model
HEAD=DIR [--model HEAD=DIR ...] [--threads N]``, where ``HEAD`` is a packaged
head's name (``english``, ``multilingual``) or a head file and ``DIR`` the
ONNX directory that ``eval/semantic/export_onnx.py`` (English) or
``eval/semantic/export_use_onnx.py`` (multilingual) writes; without
``--model``, ``CONVGUARD_SEMANTIC_MODEL=DIR`` with ``CONVGUARD_SEMANTIC_HEAD``
(default ``english``). Over the messages of the shared dev set
(``../shared/eval/dev.jsonl``) it measures, interleaved message by message so
the machine's noise falls on all alike:

- the *baseline*: the built-in ``LexiconDetector`` with normalization (a fresh
  context per message);
- each ``SemanticDetector`` on the same messages (a fresh context per message,
  so it pays for normalization too);

and prints median and p99 per message, by the wall clock and by CPU time (what
the work costs when other jobs share the machine), each with its ratio to the
baseline,
then, for each model in a fresh interpreter, the peak resident memory after
loading the semantic detector and scoring every message (against a fresh
interpreter that only imports convguard), and whether torch was imported.
Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from convguard.detectors import DetectionContext, LexiconDetector
from convguard.detectors.semantic import ENV_VAR, HEAD_ENV_VAR, SemanticDetector

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
PASSES = 3

# Run in a fresh interpreter: peak RSS after the work, as Linux counts it for
# this process alone (VmHWM; ru_maxrss would carry the parent's peak over a fork).
MEMORY_PROBE = """
import json, sys
import convguard
if sys.argv[1] == "semantic":
    from convguard.detectors import DetectionContext
    from convguard.detectors.semantic import SemanticDetector
    detector = SemanticDetector(sys.argv[2], head=sys.argv[5], threads=int(sys.argv[4]))
    with open(sys.argv[3], encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                text = json.loads(line)["text"]
                detector.detect(text, DetectionContext(text))
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"peak_kib": peak, "torch": "torch" in sys.modules}))
"""


def load_texts(path: Path) -> list[str]:
    """Return the message texts of a labelled JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which *share* of *values* fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def interleaved(
    texts: Sequence[str], runs: dict[str, Callable[[str], object]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time each run on each message in turn, ``PASSES`` times.

    Returns the seconds per call by the wall clock and by this process's CPU
    time: on a machine other jobs share, the CPU time is what the work costs.
    """
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(PASSES):
        for text in texts:
            for name, run in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                run(text)
                cpu[name].append(time.process_time() - start_cpu)
                wall[name].append(time.perf_counter() - start)
    return wall, cpu


def memory(kind: str, model: str, head: str, path: Path, threads: int) -> dict[str, object]:
    """Return the peak RSS (KiB) and whether torch was loaded, from a fresh interpreter."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", MEMORY_PROBE, kind, model, str(path), str(threads), head],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def runner(detector: SemanticDetector) -> Callable[[str], object]:
    """Return one timed call: *detector* on a message, with a fresh context."""
    return lambda text: detector.detect(text, DetectionContext(text))


def models(pairs: Sequence[str]) -> list[tuple[str, str]]:
    """Return the (head, model directory) pairs to measure, from ``--model`` or the environment."""
    if not pairs:
        model = os.environ.get(ENV_VAR)
        if not model:
            sys.exit(f"give --model HEAD=DIR, or set {ENV_VAR} to the ONNX model directory")
        return [(os.environ.get(HEAD_ENV_VAR) or "english", model)]
    chosen = []
    for pair in pairs:
        head, _, model = pair.partition("=")
        if not (head and model):
            sys.exit(f"--model takes HEAD=DIR, not {pair!r}")
        chosen.append((head, model))
    return chosen


def main() -> None:
    """Print the timings and the memory."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEV, help="a labelled JSONL file")
    parser.add_argument(
        "--model", action="append", default=[], help="HEAD=DIR: a head and its ONNX directory"
    )
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads")
    args = parser.parse_args()
    chosen = models(args.model)
    texts = load_texts(args.file)
    lexicon = LexiconDetector()
    runs: dict[str, Callable[[str], object]] = {
        "lexicon (baseline)": lambda t: lexicon.detect(t, DetectionContext(t))
    }
    for head, model in chosen:
        semantic = SemanticDetector(model, head=head, threads=args.threads)
        for text in texts[:50]:  # warm up: caches, ONNX Runtime's first runs
            semantic.detect(text, DetectionContext(text))
        runs[f"semantic {head}"] = runner(semantic)
    for text in texts[:50]:
        lexicon.detect(text, DetectionContext(text))
    wall, cpu = interleaved(texts, runs)
    print(f"{len(texts)} messages x {PASSES} passes, {args.threads} ONNX Runtime thread(s)")
    for clock, times in (("wall", wall), ("cpu", cpu)):
        base_median = statistics.median(times["lexicon (baseline)"])
        base_p99 = percentile(times["lexicon (baseline)"], 0.99)
        for name, values in times.items():
            median, p99 = statistics.median(values), percentile(values, 0.99)
            print(
                f"{clock:4} {name:22} median {median * 1e3:7.3f} ms "
                f"({median / max(base_median, 1e-9):6.1f}x)   "
                f"p99 {p99 * 1e3:7.3f} ms ({p99 / max(base_p99, 1e-9):6.1f}x)"
            )
    bare = memory("import", "", "", args.file, args.threads)
    bare_kib = int(str(bare["peak_kib"]))
    print(f"peak RSS: import convguard {bare_kib / 1024:.0f} MB")
    for head, model in chosen:
        loaded = memory("semantic", model, head, args.file, args.threads)
        loaded_kib = int(str(loaded["peak_kib"]))
        print(
            f"peak RSS: semantic {head} after every message {loaded_kib / 1024:.0f} MB "
            f"({loaded_kib / bare_kib:.1f}x); torch imported: {loaded['torch']}"
        )


if __name__ == "__main__":
    main()
