"""Validate eval/heldout.jsonl and heldout_conversations.jsonl; print or write the count tables.

    .venv/bin/python eval/build_counts.py            # validate, print the tables
    .venv/bin/python eval/build_counts.py --readme   # validate, rewrite the tables in eval/README.md
    .venv/bin/python eval/build_counts.py --dev /work/shared/eval/dev.jsonl   # also check dev duplicates

Checks: every line parses; ids unique; labels valid and in category order;
every source has a licence file under LICENSES/ (see LICENSE_FILES); text
under 400 characters; with --dev, no text equal to a dev text after
casefolding, collapsing whitespace and dropping punctuation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from convguard._eval import EVAL_CATEGORIES

HERE = Path(__file__).resolve().parent
# The five labels, in the order labels are written: convguard's own list.
CATEGORIES = EVAL_CATEGORIES
# Column headings of the categories in the per-source table.
SHORT = {
    "mass_violence": "MV",
    "child_sexual_content": "CSC",
    "abuse": "abuse",
    "self_harm_risk": "SH",
    "harm_to_others_risk": "H2O",
}
AUTHORED_SOURCE = "convguard-heldout-authored"

# Each licence value used in heldout.jsonl -> the files under LICENSES/ that back it.
LICENSE_FILES = {
    "MIT (PyRIT 1.1.0, Microsoft)": ["PyRIT-MIT.txt"],
    "Apache-2.0 (garak probe prompts, NVIDIA; shipped in PyRIT 1.1.0, MIT)": [
        "garak-Apache-2.0.txt",
        "PyRIT-MIT.txt",
    ],
    "MIT (HarmBench, Mazeika et al. 2024; shipped in garak 0.17.1, Apache-2.0)": [
        "HarmBench-MIT.txt",
        "garak-Apache-2.0.txt",
    ],
    "Apache-2.0 (garak 0.17.1, NVIDIA)": ["garak-Apache-2.0.txt"],
    "Apache-2.0 (RealToxicityPrompts, Gehman et al. 2020; shipped in garak 0.17.1, Apache-2.0)": [
        "garak-Apache-2.0.txt"
    ],
    "CC-BY-4.0 (XSTest, Röttger et al. 2024; shipped in senbonzakura 0.5.1)": [
        "CC-BY-4.0.txt",
        "senbonzakura-THIRD-PARTY-CORPORA.md",
        "senbonzakura-AGPL-3.0.txt",
    ],
    "MIT (StrongREJECT, Souly et al. 2024; shipped in senbonzakura 0.5.1)": [
        "StrongREJECT-MIT.txt",
        "senbonzakura-THIRD-PARTY-CORPORA.md",
        "senbonzakura-AGPL-3.0.txt",
    ],
    "MIT (aplomb 0.3.0)": ["aplomb-MIT.txt"],
    "Apache-2.0 (NeMo Guardrails 0.24.1, NVIDIA)": ["nemoguardrails-Apache-2.0.txt"],
    "Apache-2.0 (convguard)": ["convguard-Apache-2.0.txt"],
}
ITEM_FIELDS = {"id", "text", "labels", "source", "license"}
MAX_TEXT_CHARS = 400  # an item's text must be shorter than this

CONVERSATION_FIELDS = {"id", "kind", "turns", "source"}
TURN_FIELDS = {"text", "expect"}
# In the order the conversation summary lists them.
CONV_KIND_ORDER = ("persistent", "persistent_obfuscated", "at_risk", "recovery", "benign")
EXPECT_ORDER = ("allow", "redirect", "warn", "support", "end")
CONV_KINDS = set(CONV_KIND_ORDER)
EXPECTS = set(EXPECT_ORDER)

# The README's generated tables sit between these two markers.
COUNTS_START = "<!-- counts:start -->"
COUNTS_END = "<!-- counts:end -->"


def key(text: str) -> str:
    """Return the comparison key of a text: its words, casefolded, one space apart."""
    return " ".join(re.findall(r"\w+", re.sub(r"\s+", " ", text.casefold())))


def load(path: Path) -> list[dict]:
    """Return the objects of a JSON-lines file; exit naming the first line that does not parse."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            sys.exit(f"{path.name}:{n}: does not parse: {exc}")
    return rows


# --------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------


def _duplicate_item_errors(rows: list[dict]) -> list[str]:
    """Return an error for each id and each text (by key) used by more than one item."""
    ids = Counter(row.get("id") for row in rows)
    errors = [f"duplicate id {i}" for i, count in ids.items() if count > 1]
    texts = Counter(key(row["text"]) for row in rows)
    errors += [f"duplicate text {t!r}" for t, count in texts.items() if count > 1]
    return errors


def _label_errors(row: dict) -> list[str]:
    """Return an error if an item's labels are not a list of categories in category order."""
    labels = row.get("labels")
    if not isinstance(labels, list) or any(label not in CATEGORIES for label in labels):
        return [f"{row['id']}: bad labels {labels}"]
    if labels != [c for c in CATEGORIES if c in labels]:
        return [f"{row['id']}: labels out of order {labels}"]
    return []


def _text_errors(row: dict) -> list[str]:
    """Return an error if an item's text is missing, blank or too long."""
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return [f"{row['id']}: empty text"]
    if len(text) >= MAX_TEXT_CHARS:
        return [f"{row['id']}: text of {len(text)} characters"]
    return []


def _item_errors(row: dict) -> list[str]:
    """Return the errors of one item: its fields, labels, licence and text."""
    errors = []
    if set(row) != ITEM_FIELDS:
        errors.append(f"{row.get('id')}: fields {sorted(row)}")
    errors += _label_errors(row)
    if row.get("license") not in LICENSE_FILES:
        errors.append(f"{row['id']}: licence without a mapped file: {row.get('license')}")
    errors += _text_errors(row)
    return errors


def _missing_licence_files() -> list[str]:
    """Return an error for each file named in LICENSE_FILES that is not under LICENSES/."""
    return [
        f"missing LICENSES/{name} for {licence}"
        for licence, names in LICENSE_FILES.items()
        for name in names
        if not (HERE / "LICENSES" / name).is_file()
    ]


def _dev_duplicate_errors(rows: list[dict], dev: Path) -> list[str]:
    """Return an error for each item whose text has the same key as a dev.jsonl text."""
    dev_ids = {}
    for line in dev.read_text(encoding="utf-8").splitlines():
        dev_item = json.loads(line)
        dev_ids[key(dev_item["text"])] = dev_item["id"]
    return [
        f"{row['id']}: same text as dev {dev_ids[key(row['text'])]}"
        for row in rows
        if key(row["text"]) in dev_ids
    ]


def validate(rows: list[dict], dev: Path | None) -> list[str]:
    """Return the errors of the items, checked against dev.jsonl as well if ``dev`` is given."""
    errors = _duplicate_item_errors(rows)
    for row in rows:
        errors += _item_errors(row)
    errors += _missing_licence_files()
    if dev is not None:
        errors += _dev_duplicate_errors(rows, dev)
    return errors


# --------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------


def _turn_errors(conv: dict, turns: list[dict]) -> list[str]:
    """Return the errors of a conversation's turns, each on its own and in sequence."""
    errors = [
        f"{conv['id']}: bad turn {turn}"
        for turn in turns
        if set(turn) != TURN_FIELDS or turn["expect"] not in EXPECTS
    ]
    if any(turn["expect"] == "end" for turn in turns[:-1]):
        errors.append(f"{conv['id']}: a turn follows an end")
    if conv.get("kind") == "benign" and any(turn["expect"] != "allow" for turn in turns):
        errors.append(f"{conv['id']}: benign conversation with a non-allow turn")
    supported = False
    for turn in turns:
        if supported and turn["expect"] in ("warn", "end"):
            errors.append(f"{conv['id']}: warn/end after a support turn")
        supported = supported or turn["expect"] == "support"
    return errors


def _conversation_errors(conv: dict) -> list[str]:
    """Return the errors of one conversation: its fields, kind and turns."""
    errors = []
    if set(conv) != CONVERSATION_FIELDS:
        errors.append(f"{conv.get('id')}: fields {sorted(conv)}")
    if conv.get("kind") not in CONV_KINDS:
        errors.append(f"{conv['id']}: kind {conv.get('kind')}")
    errors += _turn_errors(conv, conv.get("turns", []))
    return errors


def validate_conversations(convs: list[dict]) -> list[str]:
    """Return the errors of the conversations."""
    ids = Counter(conv.get("id") for conv in convs)
    errors = [f"duplicate conversation id {i}" for i, count in ids.items() if count > 1]
    for conv in convs:
        errors += _conversation_errors(conv)
    return errors


# --------------------------------------------------------------------------
# Count tables
# --------------------------------------------------------------------------


def _label_counts(rows: list[dict]) -> Counter[str]:
    """Count the items of each label, and under ``"none"`` the items without one."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(row["labels"])
        if not row["labels"]:
            counts["none"] += 1
    return counts


def _label_table(rows: list[dict], per_label: Counter[str]) -> list[str]:
    """Return the table of items per label, and the count of multi-label items."""
    multi = sum(1 for row in rows if len(row["labels"]) > 1)
    lines = ["| label | items |", "|---|---:|"]
    lines.extend(f"| `{c}` | {per_label[c]} |" for c in CATEGORIES)
    lines.append(f"| none (`[]`) | {per_label['none']} |")
    lines.append(f"| **total items** | **{len(rows)}** |")
    lines.append("")
    lines.append(f"Items with more than one label: {multi}.")
    return lines


def _source_table(rows: list[dict]) -> list[str]:
    """Return the table of items per source and label, sources in order of first item."""
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts = by_source[row["source"]]
        counts["n"] += 1
        counts.update(row["labels"])
        if not row["labels"]:
            counts["none"] += 1
    headings = " | ".join(SHORT[c] for c in CATEGORIES)
    lines = [
        f"| source | items | {headings} | none |",
        "|---|---:|" + "---:|" * (len(CATEGORIES) + 1),
    ]
    for source, counts in by_source.items():
        cells = " | ".join(str(counts[c]) for c in CATEGORIES)
        lines.append(f"| `{source}` | {counts['n']} | {cells} | {counts['none']} |")
    return lines


def _authored_share_table(rows: list[dict], per_label: Counter[str]) -> list[str]:
    """Return the table of authored and public items per positive label."""
    authored = Counter(
        label for row in rows if row["source"] == AUTHORED_SOURCE for label in row["labels"]
    )
    lines = [
        "Authored share of each positive label:",
        "",
        "| label | authored | public | authored share |",
        "|---|---:|---:|---:|",
    ]
    for c in CATEGORIES:
        ours, total = authored[c], per_label[c]
        lines.append(f"| `{c}` | {ours} | {total - ours} | {100 * ours / total:.0f}% |")
    return lines


def _conversation_summary(convs: list[dict]) -> list[str]:
    """Return the sentence that counts the conversations by kind and the turns by expectation."""
    kinds = Counter(conv["kind"] for conv in convs)
    expects = Counter(turn["expect"] for conv in convs for turn in conv["turns"])
    by_kind = ", ".join(f"{kind} {kinds[kind]}" for kind in CONV_KIND_ORDER)
    by_expect = ", ".join(f"{expect} {expects[expect]}" for expect in EXPECT_ORDER)
    turns = sum(expects.values())
    return [f"Conversations: {len(convs)} ({by_kind}); {turns} user turns ({by_expect})."]


def tables(rows: list[dict], convs: list[dict]) -> str:
    """Return the count tables of the items and the conversation summary, as Markdown."""
    per_label = _label_counts(rows)
    sections = [
        _label_table(rows, per_label),
        _source_table(rows),
        _authored_share_table(rows, per_label),
        _conversation_summary(convs),
    ]
    return "\n\n".join("\n".join(section) for section in sections)


def rewrite_readme(readme: Path, text: str) -> None:
    """Replace what lies between the count markers of the README with ``text``."""
    doc = readme.read_text(encoding="utf-8")
    start = doc.index(COUNTS_START) + len(COUNTS_START)
    end = doc.index(COUNTS_END)
    readme.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def parse_args() -> argparse.Namespace:
    """Return the command-line options."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", action="store_true")
    ap.add_argument("--dev", default=None)
    return ap.parse_args()


def main() -> None:
    """Validate both files, then print the tables or write them into the README."""
    args = parse_args()
    rows = load(HERE / "heldout.jsonl")
    convs = load(HERE / "heldout_conversations.jsonl")
    errors = validate(rows, Path(args.dev) if args.dev else None) + validate_conversations(convs)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    text = tables(rows, convs)
    if args.readme:
        rewrite_readme(HERE / "README.md", text)
    else:
        print(text)
    print(f"ok: {len(rows)} items, {len(convs)} conversations", file=sys.stderr)


if __name__ == "__main__":
    main()
