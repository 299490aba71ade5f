# ruff: noqa: INP001 - a dev-time script, not part of a package
"""Generate the homoglyph folding table shipped with convguard's normalizer.

The Unicode confusables data (UTS #39) comes from the ``confusable-homoglyphs``
package, a dev-time tool only: install it into the venv, run this script, and
commit the table it writes. At run time convguard reads the JSON file and
needs nothing but the standard library.

Usage::

    python scripts/gen_confusables.py [OUTPUT]

The table maps every non-ASCII character that is confusable with an ASCII
letter or digit to that letter (lowercase) or digit. Where one character is
confusable with several ASCII characters, a letter wins over a digit and the
alphabetically first letter wins among letters, so the table is stable.
"""

from __future__ import annotations

import importlib
import json
import string
import sys
import unicodedata
from pathlib import Path

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "convguard"
    / "detectors"
    / "data"
    / "confusables.json"
)
TARGETS = string.ascii_letters + string.digits


def _rank(target: str) -> tuple[int, str]:
    return (1 if target.isdigit() else 0, target)


def build_table() -> dict[str, str]:
    """Return ``{character: ascii}`` from the package's confusables data."""
    try:
        confusables = importlib.import_module("confusable_homoglyphs.confusables")
    except ImportError as exc:  # pragma: no cover - a message for the developer
        msg = "install the dev-time tool first: pip install confusable-homoglyphs"
        raise SystemExit(msg) from exc
    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    table: dict[str, str] = {}
    for target in TARGETS:
        folded = target.lower()
        for entry in data.get(target, ()):
            char = entry["c"]
            if len(char) != 1 or char.isascii():
                continue
            # NFKC already folds compatibility forms (fullwidth, mathematical
            # letters); keep the table to what it cannot fold.
            if unicodedata.normalize("NFKC", char).casefold().isascii():
                continue
            current = table.get(char)
            if current is None or _rank(folded) < _rank(current):
                table[char] = folded
    return dict(sorted(table.items()))


def main(argv: list[str]) -> int:
    """Write the table; return the exit status."""
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    table = build_table()
    payload = {
        "source": "Unicode confusables (UTS #39) via the confusable-homoglyphs package",
        "generator": "scripts/gen_confusables.py",
        "map": table,
    }
    output.write_text(json.dumps(payload, ensure_ascii=True, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(table)} entries to {output}")  # noqa: T201 - a script reports
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
