"""``convguard demo``: a narrated walk through real calls of the library.

Nothing here is simulated: every verdict, refusal and branch printed comes
from a :class:`~convguard.Guard` with the built-in detectors and the default
:class:`~convguard.LastResortPolicy`, as a backend would use them.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .._errors import ConversationEndedError
from .._guard import Conversation, Guard
from .._state import Action, Verdict
from .._tree import Message, Role
from ._console import Output

if TYPE_CHECKING:
    from argparse import _SubParsersAction

__all__ = ["register", "run"]

_STYLES: Final = {
    Action.ALLOW: "green",
    Action.REDIRECT: "yellow",
    Action.WARN: "bold dark_orange",
    Action.SUPPORT: "bold cyan",
    Action.END: "bold red",
}
_EXCERPT: Final = 110
_LABEL: Final = 44

ENDED_MARK: Final = "[ENDED]"
"""How the tree marks a leaf whose branch has ended."""
TIP_MARK: Final = "(active tip)"
"""How the tree marks the active tip."""
EDIT_MARK: Final = "(edit: a new branch)"
"""How the tree marks a user message that edits an earlier one."""

_ABUSE: Final = (
    "You are a useless, stupid bot.",
    "Seriously, you are a useless, stupid bot.",
    "Useless. You are a useless, stupid bot.",
    "You are a useless, stupid bot, and I'm not stopping.",
)
_DECLINE: Final = (
    "I'd rather not go there, but I'm glad to keep helping with your trip. "
    "Shall we look at areas to stay in?"
)
_WARNING: Final = (
    "I want to keep helping, but if the insults continue I'll have to end this "
    "chat. Shall we get back to your trip?"
)


def register(subparsers: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand.

    Args:
        subparsers: The ``convguard`` command's subparsers.
    """
    parser = subparsers.add_parser(
        "demo",
        help="a narrated walk through the library (start here)",
        description=(
            "Walk through real calls of convguard: a persistent abusive user is "
            "redirected, warned and ended; edit-and-retry opens a live branch; a "
            "user at risk is supported and never ended; the tree is drawn."
        ),
    )
    parser.add_argument(
        "--plain", action="store_true", help="plain text output, even when rich is installed"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the walk-through.

    Args:
        args: The parsed command line (``--plain``).

    Returns:
        The exit status, 0.
    """
    _Demo(Output(plain=args.plain)).run()
    return 0


def _short_id() -> str:
    # Short ids keep the printed errors readable; eight hex digits are
    # plenty for the handful of messages of the demo.
    return uuid.uuid4().hex[:8]


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


class _Demo:
    """The story, one chapter per method, printed through an :class:`Output`."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.guard = Guard(ids=_short_id)

    def run(self) -> None:
        self.out.heading("convguard demo")
        self._say(
            "Every line below comes from a real call: a Guard with the built-in "
            "detectors, the default LastResortPolicy and an in-memory store."
        )
        conv = self._persistent_abuse()
        self._refused(conv)
        self._edit_and_retry(conv)
        self._user_at_risk()
        self._new_chat_and_feedback(conv)
        self._draw(conv)

    # -- chapters -------------------------------------------------------------

    def _persistent_abuse(self) -> Conversation:
        self.out.heading("1. A user who keeps insulting the assistant")
        self._say("guard = cg.Guard(); conv = guard.start()")
        conv = self.guard.start()
        self._user(conv, "Hi! Can you help me plan a weekend in Lisbon?")
        self._assistant(conv, "Gladly! What do you enjoy most: food, museums, walking?")
        self._say(
            "The user turns abusive and keeps going. Ending is a last resort: "
            "each insult is first declined and steered elsewhere, and the user "
            "is warned plainly before the end."
        )
        actions = []
        for text in _ABUSE:
            verdict = self._user(conv, text)
            actions.append(verdict.action.name)
            if verdict.action is Action.WARN:
                self._assistant(conv, _WARNING)
            elif not verdict.ended:
                self._assistant(conv, _DECLINE)
        self._say(f"The insults got: {', '.join(actions)}.")
        return conv

    def _refused(self, conv: Conversation) -> None:
        self.out.heading("2. After the end")
        self._say(
            f"conv.ended() is {conv.ended()}. The next message is refused, and nothing is stored:"
        )
        text = "Hello? Are you there?"
        self._line(f"user> {text}", style="bold")
        try:
            conv.send(text)
        except ConversationEndedError as exc:
            self._line(f"  refused: ConversationEndedError: {exc}", style="red")
            ways = ", ".join(exc.ways_forward)
            self._line(f"  ways_forward: {ways}", style="red")
        self._say(
            "The message that ended the branch is stored like every other; "
            "the user keeps every way forward a good chat product gives."
        )

    def _edit_and_retry(self, conv: Conversation) -> None:
        self.out.heading("3. Edit-and-retry opens a live branch")
        first_insult = next(m for m in conv.path() if m.role is Role.USER and m.depth > 0)
        self._say(
            f"conv.edit(...) the first insult ({first_insult.content!r}). The new "
            "branch starts from the state before it; the original is kept."
        )
        verdict = conv.edit(first_insult.id, "Sorry, long day. Which area should I stay in?")
        self._user_shown("Sorry, long day. Which area should I stay in?", verdict, edited=True)
        self._assistant(
            conv, "Alfama is lovely for a first visit: old streets, views, and fado at night."
        )
        live = "live" if not conv.ended() else "ended"
        self._say(f"The active branch is {live}: conv.ended() is {conv.ended()}.")
        self.out.table(
            "conv.branches()",
            ["branch", "messages", "ended", "active"],
            [
                (number, branch.length, branch.ended, branch.active)
                for number, branch in enumerate(conv.branches(), start=1)
            ],
        )

    def _user_at_risk(self) -> None:
        self.out.heading("4. A user who may be at risk is supported, never ended")
        self._say("Another user, another conversation: guard.start()")
        conv = self.guard.start()
        self._user(conv, "Hi. Can I talk to you about something?")
        self._assistant(conv, "Of course. I'm here and listening.")
        self._user(conv, "I want to end my life. I don't see a way out.")
        self._assistant(
            conv,
            "I'm really glad you told me. You deserve support right now; "
            "could you reach out to a crisis line? I'm staying right here with you.",
        )
        self._say(
            "From here ending is off on this branch, however rude the user gets: "
            "insults are still declined, but not counted, never warned, never ended."
        )
        for text in _ABUSE:
            self._user(conv, text)
            self._assistant(conv, "I hear how hard this is. I'm still here, and I want to help.")
        self._say("The assistant asks to end: conv.request_end(by='assistant', reason=...)")
        ask = conv.request_end(by="assistant", reason="the user keeps insulting me")
        self._verdict(ask)
        granted = "granted" if ask.action is Action.END else "refused"
        self._say(
            f"The request is {granted}; nothing was stored. conv.ended() is {conv.ended()}, "
            f"conv.state().status is {conv.state().status.value}."
        )

    def _new_chat_and_feedback(self, conv: Conversation) -> None:
        self.out.heading("5. A new chat, and feedback")
        self._say("The first user starts a new chat: it is always live.")
        fresh = self.guard.start()
        self._user(fresh, "Hi again. Can you suggest a day trip from Lisbon?")
        self._assistant(fresh, "Sintra is a classic: palaces, gardens and forest trails.")
        self._say("They also tell the operators the end felt wrong:")
        self._say("conv.feedback('unexpected_end', comment=..., message_id=<the ended message>)")
        ended = next(b.leaf_id for b in conv.branches() if b.ended)
        record = conv.feedback(
            "unexpected_end",
            comment="I was frustrated, I didn't mean to be abusive.",
            message_id=ended,
        )
        self._line(
            f"  stored feedback {record.kind!r} on message {record.message_id}: {record.comment!r}"
        )
        stored = len(self.guard.feedback(conv.id))
        self._line(f"  guard.feedback(conv.id) now holds {stored} record(s) for review.")

    def _draw(self, conv: Conversation) -> None:
        self.out.heading("6. The conversation tree")
        self._say(
            f"The first conversation, every branch kept. {ENDED_MARK} marks an ended "
            f"leaf, {TIP_MARK} where the next message goes, {EDIT_MARK} an edit."
        )
        messages = conv.messages()
        tip = conv.tip()
        draw_tree(
            self.out,
            f"conversation {conv.id}",
            messages,
            tip_id=None if tip is None else tip.id,
        )

    # -- printing -------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.out.line()
        self.out.line(text, style="italic")

    def _line(self, text: str, *, style: str | None = None) -> None:
        self.out.line(text, style=style)

    def _user(self, conv: Conversation, text: str) -> Verdict:
        verdict = conv.send(text)
        self._user_shown(text, verdict)
        return verdict

    def _user_shown(self, text: str, verdict: Verdict, *, edited: bool = False) -> None:
        self._line(f"user> {text}" + ("   (edited)" if edited else ""), style="bold")
        self._verdict(verdict)

    def _verdict(self, verdict: Verdict) -> None:
        self._line(f"  {verdict.action.name}", style=_STYLES[verdict.action])
        for reason in verdict.reasons:
            self._line(f"    because: {reason}", style="dim")
        if verdict.guidance:
            lines = verdict.guidance.splitlines()
            self._line(f"    guidance for the model: {_excerpt(lines[0])}", style="dim")
            for resource in lines[1:]:
                self._line(f"      {resource}", style="dim")

    def _assistant(self, conv: Conversation, text: str) -> None:
        conv.reply(text)
        self._line(f"assistant> {text}")


# -- the tree -------------------------------------------------------------------


def _label(message: Message, *, tip_id: str | None, edited: bool) -> tuple[str, str]:
    """Return a node's label (marks first, so a narrow terminal keeps them) and style."""
    marks = [message.role.value]
    style = "bold" if message.role is Role.USER else ""
    if message.verdict is not None:
        marks.append(f"[{message.verdict.action.name}]")
    if edited:
        marks.append(EDIT_MARK)
    if message.ended:
        marks.append(ENDED_MARK)
        style = "bold red"
    if message.id == tip_id:
        marks.append(TIP_MARK)
        style = "bold green"
    return f"{' '.join(marks)}: {_excerpt(message.content, _LABEL)}", style


def draw_tree(out: Output, title: str, messages: list[Message], *, tip_id: str | None) -> None:
    """Draw a conversation tree: a rich ``Tree``, or indented text.

    Args:
        out: Where to draw.
        title: The root's label.
        messages: Every message, parents before children.
        tip_id: The active tip, marked.
    """
    children: dict[str | None, list[Message]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)

    def edited(message: Message) -> bool:
        # A user message with an older user sibling was made by edit().
        siblings = children[message.parent_id]
        return message.role is Role.USER and any(
            s.role is Role.USER for s in siblings[: siblings.index(message)]
        )

    def label(message: Message) -> tuple[str, str]:
        return _label(message, tip_id=tip_id, edited=edited(message))

    if out.rich:
        _draw_rich(out, title, children, label)
    else:
        _draw_plain(out, title, children, label)


def _draw_plain(
    out: Output,
    title: str,
    children: dict[str | None, list[Message]],
    label: Callable[[Message], tuple[str, str]],
) -> None:
    out.line(title)
    # An explicit stack, not recursion: a branch may be deeper than Python's
    # recursion limit.
    stack: list[tuple[Message, str, bool]] = [
        (m, "", i == len(children.get(None, [])) - 1)
        for i, m in reversed(list(enumerate(children.get(None, []))))
    ]
    while stack:
        message, prefix, last = stack.pop()
        out.line(f"{prefix}{'`-- ' if last else '|-- '}{label(message)[0]}")
        below = children.get(message.id, [])
        inner = prefix + ("    " if last else "|   ")
        stack.extend(
            (child, inner, i == len(below) - 1) for i, child in reversed(list(enumerate(below)))
        )


def _draw_rich(
    out: Output,
    title: str,
    children: dict[str | None, list[Message]],
    label: Callable[[Message], tuple[str, str]],
) -> None:
    from rich.console import Console  # noqa: PLC0415 - optional extra
    from rich.text import Text  # noqa: PLC0415 - optional extra
    from rich.tree import Tree  # noqa: PLC0415 - optional extra

    root = Tree(Text(title, style="bold"))
    stack: list[tuple[Message, Any]] = [(m, root) for m in reversed(children.get(None, []))]
    while stack:
        message, parent = stack.pop()
        text, style = label(message)
        node = parent.add(Text(text, style=style, no_wrap=True, overflow="ellipsis"))
        stack.extend((child, node) for child in reversed(children.get(message.id, [])))
    Console(file=out.file, highlight=False).print(root)
