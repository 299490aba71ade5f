"""Split the held-out set into a validation half and a test half.

The *validation* half (an item's SHA-256 of its id starts with 0-7) may be
read to find out why a detector misses or false-alarms, as long as no
phrasing of it goes into a lexicon: only general vocabulary and rules. The
*test* half is never read while tuning; it is scored only to report. The
split depends on the ids alone, so it never changes.

    python eval/split_heldout.py OUT_DIR   # writes OUT_DIR/val.jsonl, OUT_DIR/test.jsonl

The second held-out set, ``heldout2.jsonl``, is split the same way into
``heldout2-val.jsonl`` and ``heldout2-test.jsonl``, and the third,
``heldout3.jsonl``, into ``heldout3-val.jsonl`` and ``heldout3-test.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = "heldout-split"

# An item is in the validation half when the first hex digit of its id's SHA-256
# is one of these: half of the sixteen.
VAL_FIRST_DIGITS = "01234567"

# Each file to split, and the prefix of its halves' names in OUT_DIR.
SPLIT_FILES = (
    ("heldout.jsonl", ""),
    ("heldout_conversations.jsonl", "conversations-"),
    ("heldout2.jsonl", "heldout2-"),
    ("heldout3.jsonl", "heldout3-"),
)


def half(item_id: str) -> str:
    """Return ``"val"`` or ``"test"`` for an item id."""
    return "val" if hashlib.sha256(item_id.encode()).hexdigest()[0] in VAL_FIRST_DIGITS else "test"


def split_lines(path: Path) -> dict[str, list[str]]:
    """Return the non-blank lines of a JSON-lines file, by the half of their ``id``."""
    halves: dict[str, list[str]] = {"val": [], "test": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            halves[half(json.loads(line)["id"])].append(line)
    return halves


def main(argv: list[str]) -> None:
    """Write the two halves of each held-out file."""
    out = Path(argv[1]) if len(argv) > 1 else Path(DEFAULT_OUT)
    out.mkdir(parents=True, exist_ok=True)
    for name, stem in SPLIT_FILES:
        for key, lines in split_lines(HERE / name).items():
            (out / f"{stem}{key}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{out / f'{stem}{key}.jsonl'}: {len(lines)} lines")


if __name__ == "__main__":
    main(sys.argv)
