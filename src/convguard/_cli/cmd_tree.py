"""``convguard tree FILE``: draw a conversation's tree of branches.

Each line is one message. A message with one child is followed by it at the
same depth; where a conversation branches (an edit, a regeneration), each
branch is drawn one level deeper. The active tip and the ends of branches
are marked: ends from the record's own states when it has them (a convguard
export), else from a replay with the default detectors and ``--policy``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .._errors import UnknownConversationError
from .._state import Status
from ._console import Output
from .cmd_replay import add_input_options, make_guard, read, snippet

if TYPE_CHECKING:
    from .._records import ConversationRecord

__all__ = ["register"]

ACTIVE = "<- active tip"
ENDED = "[ended]"
AFTER_END = "(after the end)"


def register(subparsers: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add the ``tree`` subcommand."""
    parser = subparsers.add_parser(
        "tree",
        help="draw the tree of a conversation in a file",
        description=(
            "Draw each conversation's tree (or one, with --conversation): every branch, "
            "the active tip and where branches end."
        ),
    )
    parser.add_argument("files", nargs=1, metavar="FILE", help="a file or export directory")
    parser.add_argument("--conversation", metavar="ID", help="draw only this conversation")
    add_input_options(parser)
    parser.set_defaults(handler=run)


class _Node:
    """One line of the drawing and the lines drawn under it."""

    __slots__ = ("kids", "label")

    def __init__(self, label: str) -> None:
        self.label = label
        self.kids: list[_Node] = []


def run(args: argparse.Namespace) -> int:
    """Draw the trees; return the exit status."""
    loaded = read(args)
    records = list(loaded)
    if args.conversation is not None:
        records = [r for r in records if r.id == args.conversation]
        if not records:
            raise UnknownConversationError(args.conversation)
    out = Output(plain=args.plain, file=sys.stdout)
    guard = None
    for record in records:
        ended, after = _ends(record)
        if ended is None:
            guard = guard or make_guard(args)
            replay = guard.replay(record)
            ended, after = set(replay.ended_at), set(replay.after_end)
        _draw(out, build(record, ended, after))
    for error in loaded.skipped:
        out.line(f"skipped: {error}")
    return 0


def _ends(record: ConversationRecord) -> tuple[set[str] | None, set[str]]:
    """Return the ended nodes from the record's states, ``None`` when it has none."""
    if not any(m.state is not None for m in record.messages):
        return None, set()
    return {
        m.id for m in record.messages if m.state is not None and m.state.status is Status.ENDED
    }, set()


def label(record: ConversationRecord, message: Any, ended: set[str], after: set[str]) -> str:  # noqa: ANN401 - a MessageRecord
    """Return the line drawn for *message*."""
    text = snippet(message.content) or "(empty)"
    if message.metadata.get("hidden") is True:
        text = f"(hidden) {text}"
    parts = [f"{message.role}: {text}  [{message.id}]"]
    if message.id in ended:
        parts.append(ENDED)
    if message.id in after:
        parts.append(AFTER_END)
    if message.id == record.active_tip_id:
        parts.append(ACTIVE)
    return "  ".join(parts)


def build(record: ConversationRecord, ended: set[str], after: set[str]) -> _Node:
    """Return the drawing of *record*: runs at one depth, branches one level deeper."""
    by_id = {m.id: m for m in record.messages}
    children: dict[str | None, list[str]] = {}
    for message in record.ordered():
        children.setdefault(message.parent_id, []).append(message.id)

    def line(node_id: str) -> _Node:
        return _Node(label(record, by_id[node_id], ended, after))

    def run_from(box: _Node, node_id: str, *, head: bool) -> None:
        # Walk a run of only children; *head*: box already stands for node_id.
        while True:
            current = box if head else line(node_id)
            if not head:
                box.kids.append(current)
            head = False
            kids = children.get(node_id, [])
            if len(kids) == 1:
                node_id = kids[0]
                continue
            for kid in kids:
                branch = line(kid)
                current.kids.append(branch)
                run_from(branch, kid, head=True)
            return

    title = record.title or "(untitled)"
    top = _Node(f"{title}  [{record.id}]  {len(record.messages)} messages")
    roots = children.get(None, [])
    if len(roots) == 1:
        run_from(top, roots[0], head=False)
    else:
        for root in roots:
            branch = line(root)
            top.kids.append(branch)
            run_from(branch, root, head=True)
    return top


def plain(top: _Node) -> list[str]:
    """Return the drawing as plain text lines."""
    lines = [top.label]

    def walk(node: _Node, prefix: str) -> None:
        for i, kid in enumerate(node.kids):
            last = i == len(node.kids) - 1
            lines.append(prefix + ("└── " if last else "├── ") + kid.label)
            walk(kid, prefix + ("    " if last else "│   "))

    walk(top, "")
    return lines


def _draw(out: Output, top: _Node) -> None:
    if not out.rich:
        for text in plain(top):
            out.line(text)
        out.line()
        return
    from rich.console import Console  # noqa: PLC0415 - optional extra
    from rich.text import Text  # noqa: PLC0415 - optional extra
    from rich.tree import Tree  # noqa: PLC0415 - optional extra

    def grow(tree: Any, node: _Node) -> None:  # noqa: ANN401 - rich's Tree
        for kid in node.kids:
            style = "bold" if ACTIVE in kid.label else "red" if ENDED in kid.label else ""
            grow(tree.add(Text(kid.label, style=style)), kid)

    tree = Tree(Text(top.label, style="bold"))
    grow(tree, top)
    Console(file=out.file, highlight=False).print(tree)
