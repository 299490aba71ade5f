"""Measure ``import convguard``: wall time, peak RSS and which heavy modules it loads.

Run with plain ``python benchmarks/bench_import.py [runs]``. Each figure is
taken in fresh interpreters (``python -X importtime`` would measure one run
only) and printed beside baselines measured in the same run, interleaved, so
the ratios hold on a shared, noisy machine: ``python -c pass`` (the
interpreter alone) and ``import json`` (a small stdlib package). Nothing here
asserts: the numbers go into the notes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 40

# What a turn does not need: each is loaded on first use only.
HEAVY = (
    "pydantic",
    "asyncio",
    "convguard.formats",
    "convguard.detectors.moderation",
    "convguard.testing",
    "convguard._records",
    "convguard._tools",
)

# Each case prints its peak RSS (KiB on Linux), module count and heavy modules.
_REPORT = (
    "import json as _j, resource as _r, sys as _s; "
    "print(_j.dumps([_r.getrusage(_r.RUSAGE_SELF).ru_maxrss, len(_s.modules), "
    f"[m for m in {HEAVY!r} if m in _s.modules]]))"
)

CASES = {
    "python -c pass": "pass",
    "import json": "import json",
    "import convguard": "import convguard",
    "import convguard + one turn": (
        "import convguard as cg; cg.Guard().start().send('Hello there, how are you?')"
    ),
}


def run_once(code: str) -> tuple[float, list[object]]:
    """Return the wall time of a fresh interpreter running *code*, and its report."""
    start = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", f"{code}\n{_REPORT}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    elapsed = time.perf_counter() - start
    report: list[object] = json.loads(out.splitlines()[-1])
    return elapsed, report


def main() -> None:
    """Print median wall time, RSS and loaded heavy modules of each case, with ratios."""
    times: dict[str, list[float]] = {name: [] for name in CASES}
    reports: dict[str, list[object]] = {}
    for code in CASES.values():  # warm the file cache and .pyc files
        run_once(code)
    for _ in range(RUNS):
        # Interleaved, so the machine's noise falls on every case alike.
        for name, code in CASES.items():
            elapsed, reports[name] = run_once(code)
            times[name].append(elapsed)
    base = statistics.median(times["python -c pass"])
    base_json = statistics.median(times["import json"])
    base_rss = float(reports["python -c pass"][0])  # type: ignore[arg-type]
    print(f"{RUNS} fresh interpreters per case, interleaved; medians")
    print(
        f"{'case':<30}{'wall ms':>9}{'/ pass':>8}{'/ json':>8}{'RSS MiB':>9}{'/ pass':>8}"
        f"{'modules':>9}  heavy modules loaded"
    )
    for name in CASES:
        wall = statistics.median(times[name])
        rss, modules, heavy = reports[name]
        rss_kib = float(rss)  # type: ignore[arg-type]
        print(
            f"{name:<30}{wall * 1000:>9.1f}{wall / base:>8.2f}{wall / base_json:>8.2f}"
            f"{rss_kib / 1024:>9.1f}{rss_kib / base_rss:>8.2f}{modules:>9}  "
            f"{', '.join(heavy) or '-'}"  # type: ignore[arg-type]
        )
    own = statistics.median(times["import convguard"]) - base
    print(f"import convguard alone (minus the interpreter): {own * 1000:.1f} ms")


if __name__ == "__main__":
    main()
