"""The path of an API message list: what the Chat Completions and Messages formats store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import FormatError
from .._records import ConversationRecord, MessageRecord
from ._common import active_path, check_tool_calls, clean_text, fold, visible

__all__ = ["api_path", "storable"]


def api_path(
    record: ConversationRecord, *, legacy: bool = False
) -> list[tuple[Any, list[dict[str, str]]]]:
    """Return the active branch as an API accepts it, with each message's tool calls.

    Left out: ``event`` nodes; system messages with no visible text;
    assistant messages with no visible text and no answered tool call; a
    tool call no tool message answers right after it (the API refuses an
    unanswered call); a tool message that answers no call of the assistant
    message right before it (a tool result with nothing to answer, such as
    an export's tool node with no call).

    Args:
        record: The conversation.
        legacy: Keep OpenAI's legacy function calling (an assistant
            ``function_call`` or ``audio`` with no text, the ``function``
            role) as it is; without it, such messages are left out too.

    Returns:
        ``(message, calls)`` pairs, root first; *calls* are the message's
        answered tool calls in the flat ``{"id", "name", "arguments"}`` shape.

    Raises:
        FormatError: For ``tool_calls`` metadata of another shape (see
            :func:`check_tool_calls`), naming the message.
    """
    path = [m for m in active_path(record) if m.role != "event"]
    out: list[tuple[Any, list[dict[str, str]]]] = []
    pending: set[str] = set()
    for index, message in enumerate(path):
        try:
            calls = check_tool_calls(message.metadata) or []
        except FormatError as exc:
            msg = f"message {message.id!r}: {exc.reason}"
            raise FormatError(msg, conversation_id=record.id, field=exc.field) from None
        function = message.metadata.get("openai_role") == "function"
        if message.role == "tool" and not function:
            answer = message.metadata.get("tool_call_id")
            if answer in pending:
                pending.discard(answer)
                out.append((message, []))
            continue
        pending = set()
        if function and not legacy:
            continue
        if message.role == "system" and not _says_something(message):
            continue  # an empty system prompt (an export's hidden root) says nothing
        if message.role != "assistant":
            out.append((message, []))
            continue
        answered = {m.metadata.get("tool_call_id") for m in _following_tools(path, index + 1)}
        kept = [call for call in calls if call["id"] in answered]
        other = legacy and any(
            f"openai_{k}" in message.metadata for k in ("audio", "function_call")
        )
        if not kept and not other and not visible(message.content):
            continue
        pending = {call["id"] for call in kept}
        out.append((message, kept))
    return out


def _says_something(message: MessageRecord) -> bool:
    meta = message.metadata
    return visible(message.content) or "openai_content" in meta or "anthropic_content" in meta


def _following_tools(path: Sequence[Any], start: int) -> Iterator[Any]:
    for message in path[start:]:
        if message.role != "tool":
            return
        yield message


def storable(
    messages: Sequence[MessageRecord], tip: str | None
) -> tuple[tuple[MessageRecord, ...], str | None, list[dict[str, Any]]]:
    """Keep what ``send`` would refuse out of an imported branch.

    NUL and lone surrogates in any text become U+FFFD (counted in
    ``metadata["replaced_characters"]``); a user message with no visible
    text is no turn: it is folded into its neighbours' metadata (see
    :func:`fold`).

    Returns:
        The messages, what stands for *tip*, and the folded messages that had
        no kept ancestor.
    """
    fixed: list[MessageRecord] = []
    for message in messages:
        text, replaced = clean_text(message.content)
        if replaced:
            metadata = {**message.metadata, "replaced_characters": replaced}
            message = message.model_copy(update={"content": text, "metadata": metadata})  # noqa: PLW2901 - the storable copy
        fixed.append(message)
    out = {m.id for m in fixed if m.role == "user" and not visible(m.content)}
    if not out:
        return tuple(fixed), tip, []
    kept, stand, orphans = fold([m.model_dump() for m in fixed], out)
    return tuple(MessageRecord(**m) for m in kept), None if tip is None else stand[tip], orphans
