"""A model prompt from a stored path: what ``openai.prompt`` and ``anthropic.prompt`` share."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .._errors import FormatError
from .._records import ConversationRecord, message_record
from .._tree import Message

__all__ = ["path_record", "system_text"]


def path_record(messages: Sequence[Message]) -> ConversationRecord:
    """Return *messages* (a branch, root first, as ``conv.path(limit=N)`` gives) as a record.

    The first message becomes the root, so a window cut from a long branch
    is a whole conversation to the writers.

    Raises:
        FormatError: When *messages* is not one branch, parents first.
    """
    messages = list(messages)
    if not all(isinstance(m, Message) for m in messages):
        msg = "prompt() takes the messages of conv.path(), a list of convguard.Message"
        raise FormatError(msg)
    for parent, child in itertools.pairwise(messages):
        if child.parent_id != parent.id:
            msg = f"message {child.id!r} does not follow {parent.id!r}: pass one branch, root first"
            raise FormatError(msg)
    nodes = [message_record(m) for m in messages]
    if nodes:
        nodes[0] = nodes[0].model_copy(update={"parent_id": None})
    return ConversationRecord(
        id="prompt", active_tip_id=nodes[-1].id if nodes else None, messages=tuple(nodes)
    )


def system_text(*parts: str | None) -> str | None:
    """Join the non-empty parts of a system prompt with blank lines."""
    texts = [p for p in parts if p]
    return "\n\n".join(texts) if texts else None
