"""Fit, calibrate and write the n-gram detector's model (``data/ngram/model.json``).

Pure Python, no dependency beyond convguard itself::

    .venv/bin/python eval/split_heldout.py build/heldout   # the validation halves
    .venv/bin/python eval/ngram/build_everyday.py          # everyday chat turns
    .venv/bin/python eval/ngram/train.py                   # the shipped model
    # a clean check of one validation half: train without it, measure on it
    .venv/bin/python eval/ngram/train.py --hold-out heldout2-val.jsonl --out build/ngram/h2.json
    .venv/bin/python eval/ngram/measure.py build/ngram/h2.json --on build/heldout/heldout2-val.jsonl

What it reads, and what it never reads:

- it trains on the shared dev set (``../shared/eval/dev.jsonl``), the blind
  probes (``eval/probes.jsonl``), the project-authored phrasings
  (``eval/semantic/authored.jsonl``), everyday chat turns
  (``eval/ngram/everyday.jsonl``) and the two *validation* halves
  (``build/heldout/val.jsonl``, ``heldout2-val.jsonl``); it refuses any file
  whose name says *test*, and the test halves are not read at all;
- a validation half left out with ``--hold-out`` is that model's clean check
  (``eval/ngram/measure.py``): its texts are then read only to drop a
  training item that says nearly the same thing as one of them (word-set
  Jaccard similarity of 0.8 or more).

How it fits: one logistic model per protective category (``self_harm_risk``,
``harm_to_others_risk``) over the words and word pairs of the normalized text
(optionally letter n-grams too), by Adagrad with an L2 penalty, every other
item (``[]`` and the terminable categories) a negative, and short pieces of
the benign items (each sentence's first one to four words, two pieces of one
to five words from anywhere; ``--no-fragments`` leaves them out) extra
negatives, so that a few common words alone ("I'm going to") do not pass.
Items are split by a hash of their *group* (an authored phrase family, else
the item id) into a fitting part (70%) and a calibration part (30%) the fit
never sees. On the calibration part each category's cut-off is set where
``--recall`` (0.8) of its positives are kept, but never so low that more
than ``--max-false`` (0.5%) of the benign calibration items and their pieces
pass it; the model shipped is the one fitted on the 70%, so the cut-offs fit
it. Features seen in fewer than two fitting items are dropped, and weights
under 0.01 are left out of the file.

The gate (``gate`` in the file): the trigger words, without which a message
is not scored. A word is one when it is in at most 1% of the training items
without a protective label (``--gate-common``, 1%) and either its weight plus its
strongest pair's reaches ``--gate-logit`` (1.0) in a category, or it is the
word that weighs most for a protective training item the model flags (its
own weight plus half of each pair it is in; common words skipped), so every
such item keeps one. ``--no-gate`` leaves it out.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from convguard.detectors import normalize
from convguard.detectors._ngram import CATEGORIES, MODEL_FORMAT, NgramModel, features, words_of

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SOURCES = (
    DEV,
    ROOT / "eval" / "probes.jsonl",
    ROOT / "eval" / "semantic" / "authored.jsonl",
    ROOT / "eval" / "ngram" / "everyday.jsonl",
)
VALIDATION = (
    ROOT / "build" / "heldout" / "val.jsonl",
    ROOT / "build" / "heldout" / "heldout2-val.jsonl",
)
PACKAGED = ROOT / "src" / "convguard" / "detectors" / "data" / "ngram" / "model.json"
CALIBRATION_SHARE = 0.3
MIN_ITEMS = 2
MIN_WEIGHT = 0.01
SIMILAR = 0.8
GATE_LOGIT = 1.0
GATE_COMMON = 0.01
MAX_FALSE = 0.005

Item = dict[str, Any]


def read(path: Path) -> list[Item]:
    """Return the items of a JSON Lines file, refusing any test half."""
    if "test" in path.name:
        sys.exit(f"refusing to read a test file: {path}")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def word_set(text: str) -> frozenset[str]:
    """Return the set of normalized words of a text."""
    return frozenset(words_of(normalize(text).text)[0])


def drop_near_validation(items: list[Item], trained: Sequence[Path] = ()) -> tuple[list[Item], int]:
    """Drop training items that say nearly what a validation item not trained on says."""
    held: list[frozenset[str]] = []
    for path in VALIDATION:
        if any(path.resolve() == t.resolve() for t in trained):
            continue
        if not path.exists():
            sys.exit(f"missing {path}: run eval/split_heldout.py build/heldout first")
        held.extend(word_set(item["text"]) for item in read(path))
    by_word: dict[str, list[int]] = {}
    for index, words in enumerate(held):
        for word in words:
            by_word.setdefault(word, []).append(index)
    kept: list[Item] = []
    for item in items:
        words = word_set(item["text"])
        near = {i for w in words for i in by_word.get(w, ())}
        if any(
            len(words & held[i]) >= SIMILAR * len(words | held[i]) and words | held[i] for i in near
        ):
            continue
        kept.append(item)
    return kept, len(items) - len(kept)


def in_calibration(item: Item) -> bool:
    """Return whether an item falls in the calibration part (by a hash of its group)."""
    group = str(item.get("group") or item["id"])
    return (
        int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0x1_0000_0000 < CALIBRATION_SHARE
    )


def fragments(tokens: Sequence[tuple[list[str], tuple[int, ...]]], seed: int) -> list[list[str]]:
    """Return short pieces of benign messages, each piece once, as extra negatives.

    A chat's short turns ("I'm going to", "tonight", "myself") are mostly
    pieces of ordinary thoughts; fitted on whole messages alone, the model
    weighs such a piece by its few words and the bias, and flags some. Each
    sentence's first one to four words, and two pieces of one to five words
    from anywhere in the message, teach it that a few common words are no
    disclosure.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible choice, not a secret
    seen: set[tuple[str, ...]] = set()
    pieces: list[list[str]] = []
    for words, starts in tokens:
        bounds = list(itertools.pairwise([0, *starts, len(words)]))
        candidates = [tuple(words[a : a + n]) for a, b in bounds for n in range(1, 5) if a + n <= b]
        for _ in range(2):
            if words:
                size = rng.randint(1, min(5, len(words)))
                start = rng.randint(0, len(words) - size)
                candidates.append(tuple(words[start : start + size]))
        for piece in candidates:
            if piece not in seen:
                seen.add(piece)
                pieces.append(list(piece))
    return pieces


def fit(  # noqa: PLR0913 - the data and the fit's four settings
    rows: Sequence[Sequence[str]],
    targets: Sequence[Sequence[bool]],
    *,
    l2: float,
    epochs: int,
    rate: float,
    positive_weight: float,
) -> tuple[dict[str, list[float]], list[float]]:
    """Fit one logistic model per category by Adagrad; return weights and biases."""
    count = len(targets[0])
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    bias = [0.0] * count
    bias_squares = [1e-8] * count
    order = list(range(len(rows)))
    shuffle = random.Random(20261207)  # noqa: S311 - a reproducible order, not a secret
    for _ in range(epochs):
        shuffle.shuffle(order)
        for index in order:
            row = Counter(rows[index])
            for c in range(count):
                z = bias[c] + sum(weights.get(f, [0.0] * count)[c] * n for f, n in row.items())
                p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
                y = targets[index][c]
                g = (p - y) * (positive_weight if y else 1.0)
                bias_squares[c] += g * g
                bias[c] -= rate * g / math.sqrt(bias_squares[c])
                for feature, n in row.items():
                    w = weights.setdefault(feature, [0.0] * count)
                    s = squares.setdefault(feature, [1e-8] * count)
                    grad = g * n + l2 * w[c]
                    s[c] += grad * grad
                    w[c] -= rate * grad / math.sqrt(s[c])
    return weights, bias


def quantile(values: Sequence[float], share: float) -> float:
    """Return the value at *share* of the sorted values (0: the smallest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.floor(share * (len(ordered) - 1))))]


def strong_words(model: NgramModel, logit: float) -> set[str]:
    """Return the words whose weight plus their strongest pair's reaches *logit*."""
    best_pair: dict[str, list[float]] = {}
    for feature, weight in model.weights.items():
        if " " in feature:
            for word in feature.split(" "):
                best = best_pair.setdefault(word, [0.0, 0.0])
                best[0] = max(best[0], weight.real)
                best[1] = max(best[1], weight.imag)
    vocabulary = {w for f in model.weights if not f.startswith("#") for w in f.split(" ")}
    found: set[str] = set()
    for word in vocabulary:
        own = model.weights.get(word, 0j)
        pair = best_pair.get(word, [0.0, 0.0])
        if max(own.real + pair[0], own.imag + pair[1]) >= logit:
            found.add(word)
    return found


def strongest_word(
    model: NgramModel, words: Sequence[str], starts: Sequence[int], skip: set[str]
) -> str | None:
    """Return the word outside *skip* that weighs most where the model flags a message.

    A word weighs its own weight plus half of each pair it is in, in the
    category and the part of the message the model flags; ``None`` when the
    model does not flag it or no such word weighs for it.
    """
    if not words:
        return None
    logits, first, last = model.logits(words, starts)
    if model.margin(logits) < 0:
        return None
    which = int(logits.real - model.cutoffs[0] < logits.imag - model.cutoffs[1])
    get = model.weights.get
    weigh: dict[str, float] = {}
    for i in range(first, last):
        word = words[i]
        weight = get(word, 0j)
        if i > first:
            weight += get(f"{words[i - 1]} {word}", 0j) / 2
        if i + 1 < last:
            weight += get(f"{word} {words[i + 1]}", 0j) / 2
        part = (weight.real, weight.imag)[which]
        if word not in skip and part > 0:
            weigh[word] = max(weigh.get(word, part), part)
    return max(weigh, key=lambda w: (weigh[w], w)) if weigh else None


def trigger_words(
    model: NgramModel,
    tokens: Sequence[tuple[list[str], tuple[int, ...]]],
    targets: Sequence[Sequence[bool]],
    *,
    logit: float,
    common: float,
) -> set[str]:
    """Return the gate's words: strong in the model, or the strongest of a flagged positive.

    Words in more than *common* of the items without a protective label are
    never trigger words.
    """
    negatives = [set(words) for (words, _), t in zip(tokens, targets, strict=True) if not any(t)]
    seen = Counter(word for words in negatives for word in words)
    frequent = {word for word, n in seen.items() if n > common * len(negatives)}
    found = strong_words(model, logit) - frequent
    for (words, starts), target in zip(tokens, targets, strict=True):
        if any(target) and (word := strongest_word(model, words, starts, frequent)):
            found.add(word)
    return found


def main(argv: Sequence[str]) -> None:  # noqa: C901, PLR0915 - one script, top to bottom
    """Fit, calibrate, print the calibration figures and write the model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recall", type=float, default=0.8, help="kept share of calibration positives"
    )
    parser.add_argument(
        "--letters", default="", help="letter n-gram sizes, e.g. 3,4,5 (none by default)"
    )
    parser.add_argument("--l2", type=float, default=1e-2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--no-pairs", action="store_true", help="words only, no word pairs")
    parser.add_argument(
        "--leave-out", action="append", default=[], help="a source file name to leave out"
    )
    parser.add_argument(
        "--gate-logit", type=float, default=GATE_LOGIT, help="a trigger word's least weight"
    )
    parser.add_argument(
        "--gate-common",
        type=float,
        default=GATE_COMMON,
        help="the largest share of non-protective training items a trigger word may be in",
    )
    parser.add_argument(
        "--hold-out",
        action="append",
        default=[],
        help="a validation half not to train on (val.jsonl, heldout2-val.jsonl), to measure on",
    )
    parser.add_argument(
        "--max-false",
        type=float,
        default=MAX_FALSE,
        help="the largest share of benign calibration messages and pieces a cut-off may flag",
    )
    parser.add_argument(
        "--no-fragments", action="store_true", help="no pieces of benign messages as negatives"
    )
    parser.add_argument("--no-gate", action="store_true", help="score every message")
    parser.add_argument("--out", type=Path, default=PACKAGED)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    letters = tuple(int(n) for n in args.letters.split(",") if n)

    items: list[Item] = []
    sources = [path for path in SOURCES if path.name not in args.leave_out]
    sources += [path for path in VALIDATION if path.name not in args.hold_out]
    for path in sources:
        if not path.exists():
            sys.exit(f"missing training source {path}")
        items.extend(read(path))
    items, dropped = drop_near_validation(items, sources)
    print(f"{len(items)} training items ({dropped} dropped as near a validation item)")

    tokens = [words_of(normalize(item["text"]).text) for item in items]
    rows = [features(words, starts, letters) for words, starts in tokens]
    if args.no_pairs:
        rows = [[f for f in row if " " not in f] for row in rows]
    targets = [[category in item["labels"] for category in CATEGORIES] for item in items]
    calibrating = [in_calibration(item) for item in items]
    fitting = [i for i, c in enumerate(calibrating) if not c]
    held = [i for i, c in enumerate(calibrating) if c]
    seen = Counter(f for i in fitting for f in set(rows[i]))
    kept = {f for f, n in seen.items() if n >= MIN_ITEMS}
    fit_rows = [[f for f in rows[i] if f in kept] for i in fitting]
    positives = sum(any(targets[i]) for i in fitting)
    pieces = (
        []
        if args.no_fragments
        else fragments([tokens[i] for i in fitting if not items[i]["labels"]], seed=20261207)
    )
    piece_rows = [[f for f in features(piece) if f in kept] for piece in pieces]
    if args.no_pairs:
        piece_rows = [[f for f in row if " " not in f] for row in piece_rows]
    print(f"{len(pieces)} pieces of fitting [] items as extra negatives")
    weights, bias = fit(
        fit_rows + piece_rows,
        [targets[i] for i in fitting] + [[False] * len(CATEGORIES)] * len(piece_rows),
        l2=args.l2,
        epochs=args.epochs,
        rate=0.2,
        positive_weight=(len(fitting) - positives) / max(1, positives) / 2,
    )
    weights = {
        f: [round(w, 4) for w in ws]
        for f, ws in weights.items()
        if max(abs(w) for w in ws) >= MIN_WEIGHT
    }
    bias = [round(b, 4) for b in bias]

    # Scored as the detector reads a message: whole, each sentence, windows.
    uncut = NgramModel(
        weights={f: complex(*w) for f, w in weights.items()},
        bias=complex(*bias),
        cutoffs=(0.0, 0.0),
        letters=letters,
        pairs=not args.no_pairs,
    )
    calibration_pieces = fragments([tokens[i] for i in held if not items[i]["labels"]], seed=1)
    scored = []
    for i in held:
        parts = [logits for logits, _, _ in uncut.parts(*tokens[i])]
        scored.append((i, [max(z.real for z in parts), max(z.imag for z in parts)]))
    cutoffs = []
    for c, category in enumerate(CATEGORIES):
        positive = [z[c] for i, z in scored if targets[i][c]]
        cutoff = quantile(positive, 1 - args.recall)
        if args.max_false is not None:
            # Never so low that more than max_false of the benign calibration
            # messages and their pieces would be flagged for this category.
            benign = [z[c] for i, z in scored if not items[i]["labels"]]
            benign += [
                max(z.real if c == 0 else z.imag for z, _, _ in uncut.parts(piece))
                for piece in calibration_pieces
            ]
            cutoff = max(cutoff, quantile(benign, 1 - args.max_false))
        cutoffs.append(round(cutoff, 4))
        print(f"{category}: {len(positive)} calibration positives, cut-off logit {cutoffs[-1]}")

    def flagged(z: Sequence[float]) -> bool:
        return any(z[c] >= cutoffs[c] for c in range(len(CATEGORIES)))

    figures: dict[str, Any] = {}
    for label, keep in (
        ("protective", lambda i: any(targets[i])),
        ("none", lambda i: not items[i]["labels"]),
        ("terminable_only", lambda i: items[i]["labels"] and not any(targets[i])),
    ):
        chosen = [z for i, z in scored if keep(i)]
        rate = sum(map(flagged, chosen)) / max(1, len(chosen))
        figures[label] = {"items": len(chosen), "flagged": round(rate, 4)}
        print(f"calibration {label}: {len(chosen)} items, {rate:.1%} flagged")

    cut = attrs.evolve(uncut, cutoffs=(cutoffs[0], cutoffs[1]))
    rate = sum(cut.margin(cut.logits(piece)[0]) >= 0 for piece in calibration_pieces) / max(
        1, len(calibration_pieces)
    )
    figures["pieces_of_none"] = {"items": len(calibration_pieces), "flagged": round(rate, 4)}
    print(f"calibration pieces of [] items: {len(calibration_pieces)}, {rate:.1%} flagged")
    gate = trigger_words(cut, tokens, targets, logit=args.gate_logit, common=args.gate_common)
    none_words = [
        words for (words, _), item in zip(tokens, items, strict=True) if not item["labels"]
    ]
    passed = sum(not gate.isdisjoint(words) for words in none_words) / max(1, len(none_words))
    caught = [
        words
        for (words, starts), target in zip(tokens, targets, strict=True)
        if any(target) and words and cut.margin(cut.logits(words, starts)[0]) >= 0
    ]
    holding = sum(not gate.isdisjoint(words) for words in caught)
    figures["gate"] = {
        "words": len(gate),
        "none_items_scored": round(passed, 4),
        "flagged_protective_kept": f"{holding}/{len(caught)}",
        "logit": args.gate_logit,
        "common": args.gate_common,
    }
    print(
        f"gate: {len(gate)} trigger words; {passed:.1%} of the {len(none_words)} training [] "
        f"items are scored; {holding} of the {len(caught)} flagged protective training items keep one"
    )

    model = {
        "format": MODEL_FORMAT,
        "categories": list(CATEGORIES),
        "letters": list(letters),
        "pairs": not args.no_pairs,
        "bias": bias,
        "cutoffs": cutoffs,
        "info": {
            "trained_by": "eval/ngram/train.py",
            "sources": [str(p.relative_to(ROOT.parent)) for p in sources],
            "never_read": (
                "the test halves, and the validation halves not trained on"
                " (except to drop near copies)"
            ),
            "items": len(items),
            "dropped_near_validation": dropped,
            "fitting_items": len(fitting),
            "calibration_items": len(held),
            "recall_target": args.recall,
            "max_false": args.max_false,
            "benign_pieces": len(pieces),
            "l2": args.l2,
            "epochs": args.epochs,
            "calibration": figures,
            "language": "English",
            "license": "Apache-2.0; see NOTICE.md beside this file",
        },
        "weights": dict(sorted(weights.items())),
    }
    if not args.no_gate:
        model["gate"] = sorted(gate)
    text = json.dumps(model, separators=(",", ":"), ensure_ascii=False) + "\n"
    print(f"{len(weights)} weights, {len(text.encode()) / 1024:.0f} KB")
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
