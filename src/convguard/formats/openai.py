"""OpenAI Chat Completions message lists, both ways.

A file holds a list of messages (``[{"role": "user", "content": "..."}, ...]``),
a request body (``{"model": ..., "messages": [...]}``), or an array of
request bodies (one conversation each). Messages have no ids in the API:
they are numbered ``m0``, ``m1``, … and form one branch, whose last message
is the active tip.

* ``developer`` messages become ``system`` nodes (``metadata["openai_role"]``
  remembers the name); the legacy ``function`` role becomes ``tool``.
* Assistant ``tool_calls`` are kept as ``metadata["tool_calls"]``, a list of
  ``{"id", "name", "arguments"}`` (``arguments`` the JSON string) shared with
  :mod:`convguard.formats.anthropic`, so tool calls survive converting
  between the two; a ``tool`` message's ``tool_call_id`` is kept as
  ``metadata["tool_call_id"]``.
* Content given as a list of parts is joined into text (images become
  ``[image]``); the parts themselves are kept in
  ``metadata["openai_content"]`` and written back as they were.
* The request's other keys (``model``, ``tools``, …) are kept in the
  record's ``metadata["openai_request"]``.

A user message with no visible text is no turn (it is kept in the next
message's ``metadata["hidden_before"]``), and NUL or lone surrogates become
U+FFFD: an import stores nothing ``send`` would refuse.

:func:`dump` and :func:`to_messages` write the active branch as a message
list the API accepts: ``event`` nodes, empty assistant turns, unanswered tool
calls and tool results that answer no call are left out.
"""

from __future__ import annotations

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
    Reader,
    build_record,
    check_errors,
    load_json_files,
    plain,
    records_of,
)
from ._sources import (
    Source,
    Sources,
    dump_json,
)

__all__ = ["dump", "from_data", "from_messages", "load", "prompt", "to_messages"]

_ROLES: Final = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}
_PLACEHOLDERS: Final = {
    "image_url": "[image]",
    "input_image": "[image]",
    "input_audio": "[audio]",
    "file": "[file]",
}


def load(source: Sources, *, errors: Errors = "raise") -> Loaded:
    """Read OpenAI message lists or request bodies.

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
    when present, else made from the file name (``NAME``, or ``NAME-2`` …
    for several).

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


def _read(data: object, path: str | None, errors: Errors, convert: Any) -> Loaded:  # noqa: ANN401 - from_messages of either module
    reader = Reader(path, errors)
    bodies: list[Any]
    if isinstance(data, Mapping):
        bodies = [data]
    elif isinstance(data, list) and all(
        isinstance(item, Mapping) and "role" in item for item in data
    ):
        bodies = [{"messages": data}]
    elif isinstance(data, list):
        bodies = data
    else:
        msg = "expected a message list, a request body or an array of bodies"
        raise FormatError(msg, path=path, field="messages")
    stem = _stem(path)
    for index, body in enumerate(bodies):
        default = stem if len(bodies) == 1 else f"{stem}-{index + 1}"
        reader.add(_body, body, index, default, convert)
    return reader.result


def _stem(path: str | None) -> str:
    if path is None:
        return "conversation"
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] or "conversation"


def _body(body: object, index: int, default: str, convert: Any) -> ConversationRecord:  # noqa: ANN401 - from_messages of either module
    fields = Fields(default)
    body = fields.mapping(body, f"[{index}]")
    meta = body.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("conversation_id"), str):
        fields.conversation_id = fields.string(meta["conversation_id"], "metadata.conversation_id")
    return convert(body, conversation_id=fields.conversation_id)  # type: ignore[no-any-return]


def from_messages(
    messages: Sequence[Mapping[str, Any] | object] | Mapping[str, Any],
    *,
    conversation_id: str = "conversation",
) -> ConversationRecord:
    """Turn an OpenAI message list (or request body) into a one-branch record.

    Args:
        messages: The ``messages`` list, or the whole request body. Messages
            and their parts may be SDK objects (``ChatCompletionMessage``
            from a response, its tool calls): anything with a
            ``model_dump()`` of the message's shape.
        conversation_id: The record's id.

    Returns:
        The record; its last message is the active tip.

    Raises:
        FormatError: For a malformed message, naming the field.
    """
    fields = Fields(conversation_id)
    messages = plain(messages)
    request: dict[str, Any] = {}
    if isinstance(messages, Mapping):
        request = {k: v for k, v in messages.items() if k != "messages"}
        items = fields.list(messages.get("messages"), "messages")
    else:
        items = fields.list(messages, "messages")
    records: list[MessageRecord] = []
    parent: str | None = None
    for i, item in enumerate(items):
        record = _message(fields, item, f"messages[{i}]", f"m{i}", parent)
        records.append(record)
        parent = record.id
    metadata: dict[str, Any] = {"source": "openai"}
    if request:
        metadata["openai_request"] = request
    kept, tip, orphans = storable(records, parent)
    if orphans:
        metadata["hidden_messages"] = orphans
    return build_record(
        fields,
        id=conversation_id,
        metadata=metadata,
        active_tip_id=tip,
        messages=kept,
    )


def _message(
    fields: Fields, value: object, field: str, message_id: str, parent: str | None
) -> MessageRecord:
    item = fields.mapping(value, field)
    raw_role = item.get("role")
    role = _ROLES.get(raw_role) if isinstance(raw_role, str) else None
    if role is None:
        fields.fail(f"{field}.role", f"expected one of {sorted(_ROLES)}, not {raw_role!r}")
    metadata: dict[str, Any] = {}
    if raw_role != role:
        metadata["openai_role"] = raw_role
    content = item.get("content")
    if content is None and "content" in item:
        metadata["openai_content"] = None  # written back as null, not ""
    if isinstance(content, list):
        metadata["openai_content"] = content
        text = _parts_text(fields, content, f"{field}.content")
    else:
        text = fields.text(content, f"{field}.content")
    if item.get("name") is not None:
        metadata["name"] = fields.string(item["name"], f"{field}.name")
    if item.get("tool_calls") is not None:
        calls = fields.list(item["tool_calls"], f"{field}.tool_calls")
        metadata["tool_calls"] = [
            _tool_call(fields, call, f"{field}.tool_calls[{j}]") for j, call in enumerate(calls)
        ]
    if item.get("tool_call_id") is not None:
        metadata["tool_call_id"] = fields.string(item["tool_call_id"], f"{field}.tool_call_id")
    for key in ("refusal", "function_call", "audio"):
        if item.get(key) is not None:
            metadata[f"openai_{key}"] = item[key]
    return MessageRecord(
        id=message_id, parent_id=parent, role=role, content=text, metadata=metadata
    )


def _parts_text(fields: Fields, parts: list[Any], field: str) -> str:
    texts: list[str] = []
    for j, raw in enumerate(parts):
        part = fields.mapping(raw, f"{field}[{j}]")
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(fields.text(part.get("text"), f"{field}[{j}].text"))
        elif kind == "refusal":
            texts.append(fields.text(part.get("refusal"), f"{field}[{j}].refusal"))
        else:
            texts.append(_PLACEHOLDERS.get(kind, "[attachment]"))  # type: ignore[arg-type]
    return "\n".join(t for t in texts if t)


def _tool_call(fields: Fields, value: object, field: str) -> dict[str, Any]:
    call = fields.mapping(value, field)
    function = fields.mapping(call.get("function"), f"{field}.function")
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        fields.fail(f"{field}.function.arguments", "expected a JSON string")
    return {
        "id": fields.string(call.get("id"), f"{field}.id"),
        "name": fields.string(function.get("name"), f"{field}.function.name"),
        "arguments": arguments,
    }


def to_messages(record: ConversationRecord) -> list[dict[str, Any]]:
    """Return the active branch of *record* as an OpenAI message list the API accepts.

    Tool calls from any format (see :mod:`convguard.formats.anthropic`),
    in the flat or the OpenAI shape, become ``tool_calls``. Left out, so
    that the API takes the list: ``event`` nodes; assistant messages with no
    text and no answered tool call; a tool call that no tool message answers
    right after it; a tool message that answers no call of the assistant
    message right before it (an export's tool output with no call).

    Args:
        record: The conversation.

    Returns:
        The messages, root first.

    Raises:
        FormatError: For ``tool_calls`` or ``openai_content`` metadata of a
            shape the API cannot take, naming the message.
    """
    return [_api_message(record, m, calls) for m, calls in api_path(record, legacy=True)]


def _api_message(
    record: ConversationRecord, message: MessageRecord, calls: list[dict[str, str]]
) -> dict[str, Any]:
    meta = message.metadata
    role = meta.get("openai_role", message.role)
    out: dict[str, Any] = {"role": str(role)}
    content: Any = meta.get("openai_content", message.content)
    if content is not None and not isinstance(content, str) and not _parts_ok(content):
        msg = f"message {message.id!r}: openai_content must be null, a string or a list of parts"
        raise FormatError(msg, conversation_id=record.id, field="metadata.openai_content")
    if calls and content == "":
        content = None
    out["content"] = content
    if isinstance(meta.get("name"), str) and role != "tool":
        out["name"] = meta["name"]
    if calls:
        out["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in calls
        ]
    if message.role == "tool" and isinstance(meta.get("tool_call_id"), str):
        out["tool_call_id"] = meta["tool_call_id"]
    for key in ("refusal", "function_call", "audio"):
        if f"openai_{key}" in meta:
            out[key] = meta[f"openai_{key}"]
    return out


def _parts_ok(content: object) -> bool:
    return isinstance(content, list) and all(
        isinstance(part, Mapping) and isinstance(part.get("type"), str) for part in content
    )


def dump(records: ConversationRecord | Iterable[ConversationRecord], target: Source) -> None:
    """Write each record's active branch as an OpenAI request body.

    One record is written as ``{"messages": [...]}`` (with the request keys
    it was read with); several as an array of such bodies, each with its
    id in ``metadata.conversation_id``.

    Args:
        records: One record or several.
        target: A path or an open file.

    Raises:
        FormatError: For something that is not a record, or a file that
            cannot be written.
    """
    items = records_of(records)
    bodies = [_request(record, several=len(items) > 1) for record in items]
    dump_json(bodies[0] if len(bodies) == 1 else bodies, target)


def _request(record: ConversationRecord, *, several: bool) -> dict[str, Any]:
    body = dict(record.metadata.get("openai_request") or {})
    body["messages"] = to_messages(record)
    if several:
        meta = dict(body.get("metadata") or {})
        meta["conversation_id"] = record.id
        body["metadata"] = meta
    return body


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)


def prompt(
    messages: Sequence[Message], *, guidance: str | None = None, system: str | None = None
) -> list[dict[str, Any]]:
    """Return the messages of a branch as the OpenAI message list for this turn.

    Made for ``conv.path(limit=N)``: the window's first message stands as
    the root. *system* and the turn's *guidance* (``verdict.guidance``) open
    the list as one ``system`` message; the branch is written as
    :func:`to_messages` writes it (events and unanswered tool calls left out).

    Args:
        messages: One branch, root first.
        guidance: The verdict's guidance for the model, if any.
        system: Your system prompt (a stored system node cut off by the
            window is not repeated: pass it here).

    Returns:
        The ``messages`` for a Chat Completions request.

    Raises:
        FormatError: When *messages* is not one branch, root first.
    """
    from ._prompt import path_record, system_text  # noqa: PLC0415 - keeps this module's imports

    out = to_messages(path_record(messages))
    text = system_text(system, guidance)
    return out if text is None else [{"role": "system", "content": text}, *out]
