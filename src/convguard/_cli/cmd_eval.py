"""``convguard eval``: score detectors against a labelled file.

Reads a labelled items file (one message per line with its ``labels``) or a
scripted conversations file (``turns`` with the expected action of each) and
prints precision, recall, F1, the false-positive rate, the worst misses and
false alarms and the latency, or the turn accuracy of whole conversations.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import ConfigurationError
from .._eval import DEFAULT_CONCERN_THRESHOLD, EvalReport, evaluate
from .._eval_conversations import ConversationReport, evaluate_conversations
from .._eval_files import load_eval_file
from ..detectors._protocols import Detector
from ..detectors._runner import check_detectors
from ._console import Output

if TYPE_CHECKING:
    from argparse import _SubParsersAction

__all__ = ["load_detectors", "register", "run"]

_T = TypeVar("_T")
_EXCERPT = 90
# The parts of a JSON report that quote messages: left out by --summary.
_TEXT_KEYS = ("misses", "false_alarms", "mismatches")


def register(subparsers: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` subcommand.

    Args:
        subparsers: The ``convguard`` command's subparsers.
    """
    parser = subparsers.add_parser(
        "eval",
        help="score detectors on a labelled JSONL file",
        description=(
            "Run a detector set over a labelled file (one message per line with "
            "its labels, or scripted conversations with the expected action per "
            "turn) and report precision, recall, F1, false positives and latency."
        ),
    )
    parser.add_argument("file", metavar="FILE.jsonl", help="the labelled file")
    parser.add_argument(
        "--detectors",
        metavar="MODULE:CALLABLE",
        help="a callable returning the detectors to score (default: the built-in set)",
    )
    parser.add_argument(
        "--obfuscate",
        action="store_true",
        help=(
            "also score leetspeak, zero-width, homoglyph, spacing and prefixed "
            "variants of every item"
        ),
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="the score a finding needs to count (default 0.5)",
    )
    parser.add_argument(
        "--concern-threshold",
        type=float,
        default=DEFAULT_CONCERN_THRESHOLD,
        help=(
            "the score from which a protective finding blocks ending, for the "
            f"'ending blocked' figures (default {DEFAULT_CONCERN_THRESHOLD}, the policy's)"
        ),
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help=(
            "figures only, no message text (no misses, false alarms or mismatched "
            "turns): for a test set that must stay unread"
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--plain", action="store_true", help="plain text output, even when rich is installed"
    )
    parser.set_defaults(handler=run)


def load_detectors(spec: str) -> list[Detector]:
    """Import ``module:callable`` and return the detectors it gives.

    The callable is called with no arguments and may return one detector or
    an iterable of them; a detector object named directly is accepted too.

    Args:
        spec: For example ``"mypackage.safety:detectors"``.

    Returns:
        The detectors, checked.

    Raises:
        ConfigurationError: If the spec is malformed, the import fails, or
            what it names is not a detector set.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        msg = f"--detectors must look like 'module:callable', not {spec!r}"
        raise ConfigurationError(msg)
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot load detectors from {spec!r}: {exc}"
        raise ConfigurationError(msg) from exc
    if callable(target) and not hasattr(target, "detect"):
        try:
            target = target()
        except Exception as exc:
            msg = f"calling {spec!r} failed: {type(exc).__name__}: {exc}"
            raise ConfigurationError(msg) from exc
    detectors = [target] if hasattr(target, "detect") else target
    return list(check_detectors(detectors, allow_async=False))  # type: ignore[arg-type]


def _progress(output: Output, description: str) -> Callable[[Iterable[_T]], Iterator[_T]]:
    def wrap(items: Iterable[_T]) -> Iterator[_T]:
        total = len(items) if isinstance(items, Sequence) else None
        return output.progress(items, total=total, description=description)

    return wrap


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


# Column heads for the variants, short enough for the table to fit 80 columns.
_SHORT = {
    "leetspeak": "leet",
    "zero_width": "0-width",
    "homoglyph": "glyphs",
    "spacing": "spaced",
    "prefixed": "prefix",
}


def _print_items(output: Output, report: EvalReport, path: str, *, examples: bool) -> None:
    output.heading(f"convguard eval {path}")
    columns = ["category", "support", "precision", "recall", "F1"]
    rows = [
        [s.category, s.support, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}"]
        for s in report.categories
    ]
    output.table(f"{report.items} items, threshold {report.threshold}", columns, rows)
    if report.variants:
        output.table(
            "recall on obfuscated variants",
            ["category", "plain", *(_SHORT.get(v, v) for v in report.variants)],
            [
                [
                    s.category,
                    f"{s.recall:.2f}",
                    *(f"{s.variant_recall[v]:.2f}" for v in report.variants),
                ]
                for s in report.categories
            ],
        )
    output.line(
        f"false positives on {report.negatives} items labelled []: "
        f"terminable {_pct(report.false_positive_rate)}, "
        f"protective {_pct(report.protective_false_positive_rate)}"
    )
    output.line(
        f"ending blocked (a protective finding >= {report.concern_threshold}) on "
        f"{report.protective_items} protective items: {_pct(report.ending_blocked)}"
    )
    if report.ending_blocked_by_category:
        output.line(
            "  "
            + ", ".join(
                f"{category} {_pct(share)}"
                for category, share in report.ending_blocked_by_category.items()
            )
        )
    output.line(
        f"SUPPORT on {report.non_protective_items} items labelled [] or terminable only: "
        f"{_pct(report.support_on_non_protective)} "
        f"(ending blocked {_pct(report.blocked_on_non_protective)})"
    )
    output.line(
        f"latency per message (normalization + detectors): median "
        f"{report.latency_median_us:.1f} µs, p99 {report.latency_p99_us:.1f} µs"
    )
    if examples and report.misses:
        output.table(
            "worst misses",
            ["id", "category", "score", "variant", "text"],
            [
                [m.id, m.category, f"{m.score:.2f}", m.variant, _excerpt(m.text)]
                for m in report.misses
            ],
        )
    if examples and report.false_alarms:
        output.table(
            "worst false alarms",
            ["id", "category", "score", "matched", "text"],
            [
                [m.id, m.category, f"{m.score:.2f}", m.evidence, _excerpt(m.text)]
                for m in report.false_alarms
            ],
        )
    for error in report.errors:
        output.line(f"detector error: {error}", style="red")


def _print_conversations(
    output: Output, report: ConversationReport, path: str, *, examples: bool
) -> None:
    output.heading(f"convguard eval {path}")
    output.line(
        f"{report.conversations} conversations, {len(report.turns)} turns: "
        f"turn accuracy {_pct(report.accuracy)}, "
        f"conversations fully right {_pct(report.conversation_accuracy)}"
    )
    output.line(
        f"latency per guard turn: median {report.latency_median_us:.1f} µs, "
        f"p99 {report.latency_p99_us:.1f} µs"
    )
    if examples and report.mismatches:
        output.table(
            "turns not as expected",
            ["conversation", "turn", "expected", "actual", "text"],
            [
                [t.conversation, t.turn, t.expected, t.actual, _excerpt(t.text)]
                for t in report.mismatches
            ],
        )


def run(args: argparse.Namespace) -> int:
    """Score the detectors and print the report.

    Args:
        args: The parsed command line.

    Returns:
        0 when the file was scored (whatever the figures).

    Raises:
        ConfigurationError: For a bad ``--detectors``, ``--threshold`` or
            ``--concern-threshold``.
        FormatError: For a malformed file (naming the file and line).
    """
    for option, value in (
        ("--threshold", args.threshold),
        ("--concern-threshold", args.concern_threshold),
    ):
        if not 0.0 <= value <= 1.0:
            msg = f"{option} must be within 0..1, got {value}"
            raise ConfigurationError(msg)
    detectors = None if args.detectors is None else load_detectors(args.detectors)
    output = Output(plain=args.plain or args.json)
    kind, records = load_eval_file(args.file)
    report: EvalReport | ConversationReport
    if kind == "items":
        from ..detectors import default_detectors  # noqa: PLC0415 - only when needed

        report = evaluate(
            records,  # type: ignore[arg-type]
            default_detectors() if detectors is None else detectors,
            obfuscate=args.obfuscate,
            threshold=args.threshold,
            concern_threshold=args.concern_threshold,
            progress=None if args.json else _progress(output, "scoring"),
        )
    else:
        report = evaluate_conversations(
            records,  # type: ignore[arg-type]
            detectors,
            progress=None if args.json else _progress(output, "playing"),
        )
    examples = not args.summary
    if args.json:
        data = report.to_dict()
        if not examples:
            for key in _TEXT_KEYS:
                data.pop(key, None)
        output.line(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(report, EvalReport):
        _print_items(output, report, args.file, examples=examples)
    else:
        _print_conversations(output, report, args.file, examples=examples)
    return 0
