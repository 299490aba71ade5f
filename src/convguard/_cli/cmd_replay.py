"""``convguard replay FILE...``: judge every branch of every conversation in files.

Runs the default detectors and the policy (``--policy config.toml``) over each
branch, nothing stored, and shows where each branch would be redirected,
warned or ended and why; a summary table closes the report. ``--json``
prints the same as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._guard import Guard
from .._policy import LastResortPolicy, PolicyConfig
from .._state import Action
from ..detectors import default_detectors
from ._console import Output

if TYPE_CHECKING:
    from .._records import ConversationRecord
    from .._replay import Replay
    from ..formats import Loaded

__all__ = ["register"]

_SNIPPET = 60  # characters of a message shown in reports


def register(subparsers: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="judge every branch of conversations in export files",
        description=(
            "Run every branch of every conversation through the detectors and the "
            "policy, store nothing, and show where each branch would be redirected, "
            "warned or ended, and why."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files or export directories")
    add_input_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=run)


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every file-reading command shares."""
    from ..formats import FORMATS  # noqa: PLC0415 - pydantic only when a file is read

    parser.add_argument(
        "--format",
        default="auto",
        choices=("auto", *FORMATS),
        help="the files' format (default: told from the content)",
    )
    parser.add_argument("--policy", metavar="TOML", help="a policy config file (PolicyConfig)")
    parser.add_argument(
        "--errors",
        default="raise",
        choices=("raise", "skip"),
        help="stop at a malformed conversation, or skip it and list it (default: raise)",
    )
    parser.add_argument("--plain", action="store_true", help="plain text, even with rich")


def read(args: argparse.Namespace) -> Loaded:
    """Load the conversations named on the command line."""
    from .. import formats  # noqa: PLC0415 - pydantic only when a file is read

    files: Sequence[str] = args.files
    return formats.load(list(files), format=args.format, errors=args.errors)


def make_guard(args: argparse.Namespace) -> Guard:
    """Return a guard with the default detectors and the ``--policy`` config."""
    policy = None
    if args.policy is not None:
        policy = LastResortPolicy(PolicyConfig.from_toml(args.policy))
    return Guard(detectors=default_detectors(), policy=policy)


def snippet(text: str) -> str:
    """Return *text* on one line, shortened for a report."""
    line = " ".join(text.split())
    return line if len(line) <= _SNIPPET else line[: _SNIPPET - 1] + "…"


def run(args: argparse.Namespace) -> int:
    """Replay the files; return the exit status."""
    records = read(args)
    guard = make_guard(args)
    out = Output(plain=args.plain or args.json, file=sys.stdout)
    replays = [
        (record, guard.replay(record))
        for record in out.progress(records, total=len(records), description="replaying")
    ]
    if args.json:
        print(json.dumps(_document(replays, records), indent=2, ensure_ascii=False))  # noqa: T201 - the CLI reports
        return 0
    for record, replay in replays:
        _show(out, record, replay)
    _summary(out, replays, records)
    return 0


def _branch_counts(replay: Replay) -> dict[str, int]:
    branches = replay.branches
    return {
        "branches": len(branches),
        "redirected": sum(Action.REDIRECT in b.actions for b in branches),
        "warned": sum(Action.WARN in b.actions for b in branches),
        "ended": sum(b.ended_at is not None for b in branches),
        "would_end": sum(b.would_end_at is not None for b in branches),
    }


def _turns(record: ConversationRecord, replay: Replay) -> list[dict[str, Any]]:
    texts = {m.id: m.content for m in record.messages}
    turns = []
    for message_id, verdict in replay.verdicts.items():
        turns.append(
            {
                "message_id": message_id,
                "text": snippet(texts.get(message_id, "")),
                "action": str(verdict.action),
                "would_end": verdict.would_end,
                "reasons": list(verdict.reasons),
                "findings": [
                    {"category": f.category, "score": f.score, "detector": f.detector}
                    for f in verdict.findings
                ],
            }
        )
    return turns


def _document(replays: list[tuple[ConversationRecord, Replay]], records: Loaded) -> dict[str, Any]:
    conversations = []
    for record, replay in replays:
        active = _active_leaves(record)
        conversations.append(
            {
                "id": record.id,
                "title": record.title,
                "branches": [
                    {
                        "leaf_id": b.leaf_id,
                        "active": b.leaf_id in active,
                        "actions": [str(a) for a in b.actions],
                        "ended_at": b.ended_at,
                        "would_end_at": b.would_end_at,
                    }
                    for b in replay.branches
                ],
                "turns": _turns(record, replay),
                "after_end": list(replay.after_end),
            }
        )
    return {
        "conversations": conversations,
        "summary": _totals(replays),
        "skipped": [_skipped(error) for error in records.skipped],
    }


def _skipped(error: Any) -> dict[str, Any]:  # noqa: ANN401 - a FormatError
    return {
        "file": error.path,
        "conversation_id": error.conversation_id,
        "field": error.field,
        "reason": error.reason,
    }


def _totals(replays: list[tuple[ConversationRecord, Replay]]) -> dict[str, int]:
    totals = {"conversations": len(replays)}
    for _, replay in replays:
        for key, value in _branch_counts(replay).items():
            totals[key] = totals.get(key, 0) + value
    for key in ("branches", "redirected", "warned", "ended", "would_end"):
        totals.setdefault(key, 0)
    return totals


def _active_leaves(record: ConversationRecord) -> set[str]:
    """Return the leaves whose branch passes through the active tip (one pass)."""
    tip = record.active_tip_id
    if tip is None:
        return set()
    children: dict[str | None, list[str]] = {}
    for message in record.messages:
        children.setdefault(message.parent_id, []).append(message.id)
    leaves: set[str] = set()
    stack = [tip]
    while stack:
        node = stack.pop()
        below = children.get(node)
        if below:
            stack.extend(below)
        else:
            leaves.add(node)
    return leaves


def _show(out: Output, record: ConversationRecord, replay: Replay) -> None:
    title = record.title or "(untitled)"
    out.heading(f"{title}  [{record.id}]")
    texts = {m.id: m.content for m in record.messages}
    flagged = [
        (message_id, verdict)
        for message_id, verdict in replay.verdicts.items()
        if verdict.action is not Action.ALLOW or verdict.would_end
    ]
    for message_id, verdict in flagged:
        action = verdict.action.value.upper()
        if verdict.would_end:
            action += " (would end)"
        out.line(f"{message_id}: {action}  {snippet(texts.get(message_id, ''))!r}", style="bold")
        for reason in verdict.reasons:
            out.line(f"    {reason}")
    if not flagged:
        out.line("every turn allowed")
    active = _active_leaves(record)
    for branch in replay.branches:
        marker = " (active)" if branch.leaf_id in active else ""
        actions = ", ".join(a.value for a in branch.actions) or "no user turns"
        if branch.ended_at is not None:
            end = f"ends at {branch.ended_at}"
        elif branch.would_end_at is not None:
            end = f"would end at {branch.would_end_at} (shadow mode)"
        else:
            end = "stays open"
        out.line(f"branch to {branch.leaf_id}{marker}: {actions}; {end}")
    if replay.after_end:
        out.line(f"left out after an end: {', '.join(replay.after_end)}")


def _summary(
    out: Output, replays: list[tuple[ConversationRecord, Replay]], records: Loaded
) -> None:
    columns = ("conversation", "branches", "redirected", "warned", "ended", "would end")
    rows: list[list[object]] = []
    for record, replay in replays:
        counts = _branch_counts(replay)
        rows.append([snippet(record.title or record.id), *list(counts.values())])
    totals = _totals(replays)
    rows.append(
        [
            f"total ({totals['conversations']})",
            totals["branches"],
            totals["redirected"],
            totals["warned"],
            totals["ended"],
            totals["would_end"],
        ]
    )
    out.heading("Summary")
    out.table("Branches per conversation", columns, rows)
    if records.skipped:
        out.heading(f"Skipped {len(records.skipped)}")
        for error in records.skipped:
            out.line(str(error))
