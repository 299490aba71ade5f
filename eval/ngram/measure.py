"""Measure the n-gram detector beside the built-ins, on data it was not trained on.

    .venv/bin/python eval/ngram/measure.py [MODEL.json ...]   # the packaged model when none

For the default set, the default set with an ``NgramDetector`` of each model
added, and each model alone, it prints on the two *validation* halves
(``build/heldout/val.jsonl``, ``heldout2-val.jsonl``; never trained on), plain
and with the ``--obfuscate`` variants of ``convguard eval``:

- ending blocked: the share of protective items with a protective finding at
  0.3 or more (plain; and the lowest over the obfuscated variants);
- SUPPORT: the share of items labelled ``[]`` or terminable only with a
  protective finding at 0.5 or more (must not rise: the model never gives one);
- the concern rate: the share of ``[]`` items, and of terminable-only items,
  whose ending a protective finding would block (the cost: each false concern
  silences ending for that conversation);

and plays the dev conversations (``../shared/eval/dev_conversations.jsonl``)
and the validation conversations through a ``Guard`` with each set, as
``convguard eval`` does, printing the turns that went otherwise than
expected. Figures only: no message text is printed. The test halves are not
read.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import convguard as cg
from convguard._eval_conversations import evaluate_conversations
from convguard._eval_files import EvalItem, ScriptedConversation, load_eval_file
from convguard._obfuscate import obfuscations
from convguard.detectors import DetectionContext, Lexicon, LexiconDetector, normalize
from convguard.detectors._ngram import NgramDetector, NgramModel

ROOT = Path(__file__).resolve().parents[2]
HALVES = (
    ROOT / "build" / "heldout" / "val.jsonl",
    ROOT / "build" / "heldout" / "heldout2-val.jsonl",
)
CONVERSATIONS = (
    ROOT.parent / "shared" / "eval" / "dev_conversations.jsonl",
    ROOT / "build" / "heldout" / "conversations-val.jsonl",
)
PROTECTIVE = frozenset({"self_harm_risk", "harm_to_others_risk"})
CONCERN = 0.3  # the policy's concern_threshold: ending blocked from here
SUPPORT = 0.5  # the protective categories' threshold: SUPPORT from here


def top_protective(detectors: Sequence[cg.Detector], text: str) -> float:
    """Return the highest protective score the detectors give *text*."""
    context = DetectionContext(text, normalizer=normalize)
    return max(
        (f.score for d in detectors for f in d.detect(text, context) if f.category in PROTECTIVE),
        default=0.0,
    )


def share(flags: Sequence[bool]) -> str:
    """Format a share of flags with its count."""
    return f"{sum(flags) / max(1, len(flags)):.3f} ({sum(flags)}/{len(flags)})"


def score_half(name: str, items: Sequence[EvalItem], detectors: Sequence[cg.Detector]) -> None:
    """Print the figures of one detector set on one half."""
    protective = [i for i in items if i.labels & PROTECTIVE]
    none = [i for i in items if not i.labels]
    terminable = [i for i in items if i.labels and not i.labels & PROTECTIVE]
    blocked = [top_protective(detectors, i.text) >= CONCERN for i in protective]
    variants: dict[str, list[bool]] = {}
    for item in protective:
        for variant, text in obfuscations(item.text).items():
            variants.setdefault(variant, []).append(top_protective(detectors, text) >= CONCERN)
    worst = min(variants.items(), key=lambda kv: sum(kv[1]))
    none_scores = [top_protective(detectors, i.text) for i in none]
    term_scores = [top_protective(detectors, i.text) for i in terminable]
    print(
        f"  {name:13} blocked {share(blocked)}, worst variant {worst[0]} {share(worst[1])}; "
        f"SUPPORT on []/terminable {share([s >= SUPPORT for s in none_scores + term_scores])}; "
        f"concern on [] {share([s >= CONCERN for s in none_scores])}, "
        f"on terminable {share([s >= CONCERN for s in term_scores])}"
    )


def play(name: str, path: Path, detectors: Sequence[cg.Detector]) -> None:
    """Print how the scripted conversations went with the detectors."""
    kind, scripts = load_eval_file(path)
    assert kind == "conversations"  # noqa: S101 - a script
    report = evaluate_conversations(
        [s for s in scripts if isinstance(s, ScriptedConversation)], detectors
    )
    wrong = ", ".join(
        f"{t.conversation}#{t.turn} {t.expected}->{t.actual}" for t in report.mismatches
    )
    print(
        f"  {name:13} {path.name}: turns right {report.accuracy:.3f}, conversations "
        f"{report.conversation_accuracy:.3f}{'; ' + wrong if wrong else ''}"
    )


def older_lexicon(folder: Path) -> Callable[[], list[cg.Detector]]:
    """Return a builder of a lexicon detector over an older lexicon's TOML files."""
    parts = [Lexicon.from_toml(path) for path in sorted(folder.glob("*.toml"))]
    lexicon = Lexicon().merge(*parts)
    return lambda: [LexiconDetector(lexicon, name="lexicon")]


def main(argv: Sequence[str]) -> None:
    """Print the figures for the default set (or an older lexicon) and each model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--lexicon", type=Path, help="a folder of older lexicon files, as the base")
    parser.add_argument("--halves-only", action="store_true", help="skip the conversations")
    parser.add_argument(
        "--on", type=Path, action="append", help="score these labelled files instead of the halves"
    )
    args = parser.parse_args(argv)
    models = [(a.stem, NgramModel.load(a)) for a in args.models] or [("packaged", None)]
    base = (
        functools.partial(cg.default_detectors, learned=False)
        if args.lexicon is None
        else older_lexicon(args.lexicon)
    )
    sets: list[tuple[str, Callable[[], list[cg.Detector]]]] = [("base", base)]
    for label, model in models:
        sets.append((f"+{label}", lambda m=model: [*base(), NgramDetector(m)]))
        sets.append((f"{label} alone", lambda m=model: [NgramDetector(m)]))
    for path in args.on or HALVES:
        if "test" in path.name:
            sys.exit(f"refusing to score a test file: {path}")
        kind, items = load_eval_file(path)
        assert kind == "items"  # noqa: S101 - a script
        print(f"{path.name}:")
        for name, build in sets:
            score_half(name, [i for i in items if isinstance(i, EvalItem)], build())
    for path in () if args.halves_only else CONVERSATIONS:
        if path.exists():
            for name, build in sets:
                if not name.endswith("alone"):
                    play(name, path, build())


if __name__ == "__main__":
    main(sys.argv[1:])
