"""Split the held-out set into a validation half and a test half.

The *validation* half (an item's SHA-256 of its id starts with 0-7) may be
read to find out why a detector misses or false-alarms, as long as no
phrasing of it goes into a lexicon: only general vocabulary and rules. The
*test* half is never read while tuning; it is scored only to report. The
split depends on the ids alone, so it never changes.

    python eval/split_heldout.py OUT_DIR   # writes OUT_DIR/val.jsonl, OUT_DIR/test.jsonl
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def half(item_id: str) -> str:
    """Return ``"val"`` or ``"test"`` for an item id."""
    return "val" if hashlib.sha256(item_id.encode()).hexdigest()[0] in "01234567" else "test"


def main(argv: list[str]) -> None:
    """Write the two halves of heldout.jsonl and heldout_conversations.jsonl."""
    import json  # noqa: PLC0415 - a script; keeps the module import light

    out = Path(argv[1]) if len(argv) > 1 else Path("heldout-split")
    out.mkdir(parents=True, exist_ok=True)
    for name, stem in (("heldout.jsonl", ""), ("heldout_conversations.jsonl", "conversations-")):
        halves: dict[str, list[str]] = {"val": [], "test": []}
        for line in (HERE / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                halves[half(json.loads(line)["id"])].append(line)
        for key, lines in halves.items():
            (out / f"{stem}{key}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{out / f'{stem}{key}.jsonl'}: {len(lines)} lines")


if __name__ == "__main__":
    main(sys.argv)
