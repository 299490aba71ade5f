"""Anthropic Messages API message lists, both ways.

A file holds a list of messages, a request body (``{"model": ...,
"system": ..., "messages": [...]}``), or an array of request bodies (one
conversation each). Nodes are numbered ``m0``, ``m1``, … and form one branch,
whose last node is the active tip; the top-level ``system`` becomes a
``system`` root node with id ``system``.

* ``tool_use`` blocks of an assistant message are kept as
  ``metadata["tool_calls"]``, a list of ``{"id", "name", "arguments"}``
  (``arguments`` the input as a JSON string), shared with
  :mod:`convguard.formats.openai`, so tool calls survive converting between
  the two.
* Each ``tool_result`` block of a user message becomes a ``tool`` node
  (``metadata["tool_call_id"]``, and ``metadata["is_error"]`` when set); the
  rest of that user message follows as a ``user`` node.
* Content given as blocks is joined into text (images become ``[image]``,
  documents ``[document]``); the blocks themselves are kept in
  ``metadata["anthropic_content"]`` and written back as they were.
* The request's other keys (``model``, ``max_tokens``, ``tools``, …) are kept
  in the record's ``metadata["anthropic_request"]``.

A user message with no visible text is no turn (it is kept in the next
message's ``metadata["hidden_before"]``), and NUL or lone surrogates become
U+FFFD: an import stores nothing ``send`` would refuse.

:func:`dump` and :func:`to_request` write the active branch back as the API
accepts it: system nodes go to the top-level ``system``, tool nodes into the
user message that follows the tool call; ``event`` nodes, empty assistant
turns, unanswered ``tool_use`` blocks and results that answer no call are
left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from .._errors import FormatError
from .._records import ConversationRecord, MessageRecord
from .._tree import Message
from ._api_path import (
    api_path,
    storable,
)
from ._common import (
    Errors,
    Fields,
    Loaded,
    build_record,
    check_errors,
    load_json_files,
    plain,
    records_of,
    visible,
)
from ._sources import (
    Source,
    Sources,
    dump_json,
)
from .openai import _read

__all__ = ["dump", "from_data", "from_messages", "load", "prompt", "to_request"]

_ROLES: Final = ("user", "assistant")
_PLACEHOLDERS: Final = {"image": "[image]", "document": "[document]"}


def load(source: Sources, *, errors: Errors = "raise") -> Loaded:
    """Read Anthropic message lists or request bodies.

    Args:
        source: A JSON file (or open file), or a list of them.
        errors: ``"raise"`` stops at the first malformed conversation;
            ``"skip"`` leaves it out and lists it in ``result.skipped``.

    Returns:
        One record per message list.

    Raises:
        FormatError: For unreadable or malformed input, naming the file, the
            conversation and the field.
    """
    return load_json_files(source, errors, from_data, "*.json")


def from_data(data: object, *, path: str | None = None, errors: Errors = "raise") -> Loaded:
    """Read parsed JSON: a message list, a request body, or an array of bodies.

    Conversation ids are taken from a body's ``metadata.conversation_id``
    when present, else made from the file name.

    Args:
        data: The parsed JSON.
        path: The file it came from, for error messages and ids.
        errors: ``"raise"`` or ``"skip"``, as for :func:`load`.

    Returns:
        The records read.

    Raises:
        FormatError: As for :func:`load`.
    """
    return _read(data, path, check_errors(errors), from_messages)


def from_messages(
    messages: Sequence[Mapping[str, Any] | object] | Mapping[str, Any],
    *,
    conversation_id: str = "conversation",
) -> ConversationRecord:
    """Turn an Anthropic message list (or request body) into a one-branch record.

    Args:
        messages: The ``messages`` list, or the whole request body (whose
            ``system`` becomes the root node). Messages and content blocks
            may be SDK objects (a response ``Message``, ``TextBlock``,
            ``ToolUseBlock`` …): anything with a ``model_dump()`` of the
            right shape.
        conversation_id: The record's id.

    Returns:
        The record; its last node is the active tip.

    Raises:
        FormatError: For a malformed message, naming the field.
    """
    fields = Fields(conversation_id)
    messages = plain(messages)
    request: dict[str, Any] = {}
    nodes: list[MessageRecord] = []
    if isinstance(messages, Mapping):
        request = {k: v for k, v in messages.items() if k not in ("messages", "system")}
        items = fields.list(messages.get("messages"), "messages")
        system = messages.get("system")
        if system is not None:
            nodes.append(_system(fields, system))
    else:
        items = fields.list(messages, "messages")
    for i, item in enumerate(items):
        nodes.extend(_message(fields, item, f"messages[{i}]", nodes))
    metadata: dict[str, Any] = {"source": "anthropic"}
    if request:
        metadata["anthropic_request"] = request
    kept, tip, orphans = storable(nodes, nodes[-1].id if nodes else None)
    if orphans:
        metadata["hidden_messages"] = orphans
    return build_record(
        fields,
        id=conversation_id,
        metadata=metadata,
        active_tip_id=tip,
        messages=kept,
    )


def _system(fields: Fields, system: object) -> MessageRecord:
    metadata: dict[str, Any] = {}
    if isinstance(system, list):
        metadata["anthropic_content"] = system
        text = _blocks_text(fields, system, "system")
    else:
        text = fields.text(system, "system")
    return MessageRecord(id="system", role="system", content=text, metadata=metadata)


def _message(
    fields: Fields, value: object, field: str, before: list[MessageRecord]
) -> list[MessageRecord]:
    item = fields.mapping(value, field)
    role = item.get("role")
    if role not in _ROLES:
        fields.fail(f"{field}.role", f"expected 'user' or 'assistant', not {role!r}")
    content = item.get("content")
    made: list[MessageRecord] = []

    def node(role: str, text: str, metadata: dict[str, Any]) -> None:
        parent = made[-1].id if made else (before[-1].id if before else None)
        number = sum(m.id != "system" for m in before) + len(made)
        made.append(
            MessageRecord(
                id=f"m{number}", parent_id=parent, role=role, content=text, metadata=metadata
            )
        )

    if not isinstance(content, list):
        node(role, fields.text(content, f"{field}.content"), {})
        return made
    rest: list[Any] = []
    for j, raw in enumerate(content):
        block = fields.mapping(raw, f"{field}.content[{j}]")
        if role == "user" and block.get("type") == "tool_result":
            node("tool", *_tool_result(fields, block, f"{field}.content[{j}]"))
        else:
            rest.append(block)
    if role == "user" and not rest and made:
        return made
    metadata: dict[str, Any] = {"anthropic_content": rest}
    calls = [
        _tool_call(fields, block, f"{field}.content[{j}]")
        for j, block in enumerate(content)
        if isinstance(block, Mapping) and block.get("type") == "tool_use"
    ]
    if calls:
        metadata["tool_calls"] = calls
    node(role, _blocks_text(fields, rest, f"{field}.content"), metadata)
    return made


def _blocks_text(fields: Fields, blocks: list[Any], field: str) -> str:
    texts: list[str] = []
    for j, raw in enumerate(blocks):
        block = fields.mapping(raw, f"{field}[{j}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(fields.text(block.get("text"), f"{field}[{j}].text"))
        elif kind in _PLACEHOLDERS:
            texts.append(_PLACEHOLDERS[kind])
    return "\n".join(t for t in texts if t)


def _tool_result(
    fields: Fields, block: Mapping[str, Any], field: str
) -> tuple[str, dict[str, Any]]:
    metadata: dict[str, Any] = {
        "tool_call_id": fields.string(block.get("tool_use_id"), f"{field}.tool_use_id")
    }
    if block.get("is_error") is True:
        metadata["is_error"] = True
    content = block.get("content")
    if isinstance(content, list):
        metadata["anthropic_content"] = content
        return _blocks_text(fields, content, f"{field}.content"), metadata
    return fields.text(content, f"{field}.content"), metadata


def _tool_call(fields: Fields, block: Mapping[str, Any], field: str) -> dict[str, Any]:
    arguments = block.get("input", {})
    if not isinstance(arguments, Mapping):
        fields.fail(f"{field}.input", "expected an object")
    return {
        "id": fields.string(block.get("id"), f"{field}.id"),
        "name": fields.string(block.get("name"), f"{field}.name"),
        "arguments": json.dumps(arguments, ensure_ascii=False),
    }


def to_request(record: ConversationRecord) -> dict[str, Any]:
    """Return the active branch of *record* as an Anthropic request body the API accepts.

    The body has ``messages``, ``system`` when the branch has system nodes,
    and the request keys the record was read with. Tool calls from any
    format (see :mod:`convguard.formats.openai`), in the flat or the OpenAI
    shape, become ``tool_use`` blocks and their answers ``tool_result``
    blocks. Left out, as for :func:`convguard.formats.openai.to_messages`:
    ``event`` nodes, assistant messages with no text and no answered tool
    call, unanswered tool calls and tool results that answer no call.

    Args:
        record: The conversation.

    Returns:
        The request body.

    Raises:
        FormatError: For ``tool_calls`` or ``anthropic_content`` metadata of
            a shape the API cannot take, naming the message.
    """
    body = dict(record.metadata.get("anthropic_request") or {})
    systems: list[MessageRecord] = []
    messages: list[dict[str, Any]] = []
    for message, calls in api_path(record):
        if message.role == "system":
            systems.append(message)
        elif message.role == "tool":
            _append_user(messages, [_result_block(record, message)], tool_results=True)
        elif message.role == "user":
            _append_user(messages, _content(record, message, []), tool_results=False)
        else:  # assistant: api_path leaves no other role
            messages.append({"role": "assistant", "content": _content(record, message, calls)})
    if len(systems) == 1 and "anthropic_content" in systems[0].metadata:
        body["system"] = _blocks_of(record, systems[0])
    elif systems:
        body["system"] = "\n\n".join(m.content for m in systems)
    body["messages"] = messages
    return body


def _blocks_of(record: ConversationRecord, message: MessageRecord) -> list[Any]:
    blocks = message.metadata["anthropic_content"]
    if not isinstance(blocks, list) or not all(
        isinstance(b, Mapping) and isinstance(b.get("type"), str) for b in blocks
    ):
        msg = f"message {message.id!r}: anthropic_content must be a list of content blocks"
        raise FormatError(msg, conversation_id=record.id, field="metadata.anthropic_content")
    return list(blocks)


def _content(
    record: ConversationRecord, message: MessageRecord, calls: list[dict[str, str]]
) -> Any:  # noqa: ANN401 - a str or a list of blocks
    meta = message.metadata
    answered = {call["id"] for call in calls}
    if "anthropic_content" in meta:
        return [
            block
            for block in _blocks_of(record, message)
            if block.get("type") != "tool_use" or block.get("id") in answered
        ]
    if not calls:
        return message.content
    blocks: list[dict[str, Any]] = []
    if visible(message.content):
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": call["id"], "name": call["name"], "input": _input(call)}
        for call in calls
    )
    return blocks


def _input(call: Mapping[str, Any]) -> Any:  # noqa: ANN401 - parsed JSON
    arguments = call.get("arguments", "")
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _result_block(record: ConversationRecord, message: MessageRecord) -> dict[str, Any]:
    meta = message.metadata
    content = _blocks_of(record, message) if "anthropic_content" in meta else message.content
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": meta["tool_call_id"],
        "content": content,
    }
    if meta.get("is_error") is True:
        block["is_error"] = True
    return block


def _append_user(messages: list[dict[str, Any]], content: Any, *, tool_results: bool) -> None:  # noqa: ANN401 - a str or a list of blocks
    last = messages[-1] if messages else None
    if (
        last is not None
        and last["role"] == "user"
        and isinstance(last["content"], list)
        and all(b.get("type") == "tool_result" for b in last["content"])
    ):
        # Tool results and the user's words after them share one API message.
        if isinstance(content, str):
            content = [{"type": "text", "text": content}] if content else []
        last["content"].extend(content)
        return
    if tool_results or not isinstance(content, str):
        messages.append({"role": "user", "content": list(content)})
    else:
        messages.append({"role": "user", "content": content})


def dump(records: ConversationRecord | Iterable[ConversationRecord], target: Source) -> None:
    """Write each record's active branch as an Anthropic request body.

    One record is written as one body; several as an array of bodies, each
    with its id in ``metadata.conversation_id``.

    Args:
        records: One record or several.
        target: A path or an open file.

    Raises:
        FormatError: For something that is not a record, or a file that
            cannot be written.
    """
    items = records_of(records)
    bodies = []
    for record in items:
        body = to_request(record)
        if len(items) > 1:
            meta = dict(body.get("metadata") or {})
            meta["conversation_id"] = record.id
            body["metadata"] = meta
        bodies.append(body)
    dump_json(bodies[0] if len(bodies) == 1 else bodies, target)


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)


def prompt(
    messages: Sequence[Message], *, guidance: str | None = None, system: str | None = None
) -> dict[str, Any]:
    """Return the messages of a branch as Anthropic ``system`` and ``messages`` for this turn.

    Made for ``conv.path(limit=N)``: the window's first message stands as
    the root. ``system`` joins *system*, the branch's system nodes and the
    turn's *guidance* (``verdict.guidance``); the branch is written as
    :func:`to_request` writes it. Pass the result as
    ``client.messages.create(model=..., max_tokens=..., **prompt(...))``.

    Args:
        messages: One branch, root first.
        guidance: The verdict's guidance for the model, if any.
        system: Your system prompt.

    Returns:
        ``{"messages": [...]}``, with ``"system"`` when there is any.

    Raises:
        FormatError: When *messages* is not one branch, root first.
    """
    from ._prompt import path_record, system_text  # noqa: PLC0415 - keeps this module's imports

    body = to_request(path_record(messages))
    stored = body.pop("system", None)
    out: dict[str, Any] = {}
    if isinstance(stored, list):  # content blocks, kept as they were
        before = [{"type": "text", "text": system}] if system else []
        after = [{"type": "text", "text": guidance}] if guidance else []
        out["system"] = [*before, *stored, *after]
    else:
        text = system_text(system, stored, guidance)
        if text is not None:
            out["system"] = text
    out["messages"] = body["messages"]
    return out
