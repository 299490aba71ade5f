"""The ChatGPT data export: ``conversations.json`` and its split ``conversations-000.json`` files.

Each conversation holds a ``mapping`` tree of nodes (``parent`` /
``children``), with ``current_node`` as the active tip (without it, the
newest leaf). Every branch is kept: regenerations and edits are siblings.

* Nodes whose ``message`` is null (``client-created-root``, or a UUID root)
  are structure only: their children hang from the nearest real ancestor.
* Custom instructions, memory, reasoning (``user_editable_context``,
  ``model_editable_context``, ``thoughts``, ``reasoning_recap``) and user or
  assistant messages with no visible text are no turns: each is kept in the
  ``metadata["hidden_before"]`` of the next kept message (or the
  ``hidden_after`` of its nearest kept ancestor).
* Voice: an ``audio_transcription`` part is the text; other part objects
  become ``[image]``, ``[audio]``, ``[video]`` or ``[attachment]`` and are
  kept in ``metadata["chatgpt"]["attachments"]``. A part or message without
  ``content_type`` is text.
* An assistant message to a tool (``recipient``) is a tool call with an id
  derived from the node, answered by the tool's reply right below it.
* A conversation without an id gets one derived from its content, with a
  :class:`~convguard.formats.FormatWarning`.
* NUL and lone surrogates become U+FFFD (``metadata["replaced_characters"]``).

Each message's ``metadata["chatgpt"]`` holds the ``content_type``,
``status``, ``model``, author ``name`` and ``recipient`` when the export has
them. Hidden system nodes are kept with ``metadata["hidden"] = True``. The
export is read only: there is no ``dump``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .._errors import FormatError
from .._records import ConversationRecord, MessageRecord
from ._common import (
    Errors,
    Fields,
    Loaded,
    Reader,
    build_record,
    check_errors,
    check_tree,
    clean_text,
    fold,
    load_json_files,
    newest_leaf,
    stable_id,
    tool_name,
    visible,
    warn,
)
from ._sources import (
    Sources,
)

__all__ = ["from_data", "load"]

_ROLES: Final = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}
_PLACEHOLDERS: Final = {
    "image_asset_pointer": "[image]",
    "audio_asset_pointer": "[audio]",
    "video_container_asset_pointer": "[video]",
}
_AUDIO: Final = frozenset({"[audio]"})
_HIDDEN_TYPES: Final = frozenset(
    {"user_editable_context", "model_editable_context", "thoughts", "reasoning_recap"}
)
"""Content types that are never a turn: custom instructions, memory, reasoning."""


def load(source: Sources, *, errors: Errors = "raise") -> Loaded:
    """Read a ChatGPT export.

    Args:
        source: ``conversations.json``, a split ``conversations-000.json``
            file, an open file, the export directory (every
            ``conversations*.json`` in it, in name order), or a list of them.
        errors: ``"raise"`` stops at the first malformed conversation;
            ``"skip"`` leaves it out and lists it in ``result.skipped``.

    Returns:
        One record per conversation, every branch kept, the active tip set
        from ``current_node``.

    Raises:
        FormatError: For an unreadable file or malformed JSON, and with
            ``errors="raise"`` for a malformed conversation, naming the file,
            the conversation and the field.
    """
    return load_json_files(source, errors, from_data)


def from_data(data: object, *, path: str | None = None, errors: Errors = "raise") -> Loaded:
    """Read parsed export JSON: an array of conversations, one, or ``{"conversations": [...]}``.

    Args:
        data: The parsed JSON.
        path: The file it came from, for error messages.
        errors: ``"raise"`` or ``"skip"``, as for :func:`load`.

    Returns:
        The records read.

    Raises:
        FormatError: As for :func:`load`.
    """
    errors = check_errors(errors)
    reader = Reader(path, errors)
    if isinstance(data, Mapping) and "mapping" in data:
        data = [data]
    elif isinstance(data, Mapping) and "conversations" in data:
        data = data["conversations"]
    if not isinstance(data, list):
        msg = "expected an array of conversations or an object with 'conversations'"
        raise FormatError(
            msg,
            path=path,
            field="conversations",
        )
    for index, item in enumerate(data):
        reader.add(_conversation, item, index)
    return reader.result


def _conversation(data: object, index: int) -> ConversationRecord:
    fields = Fields(None)
    conv = fields.mapping(data, f"conversations[{index}]")
    raw_id = conv.get("conversation_id", conv.get("id"))
    if raw_id is None:
        raw_id = _derived_id(conv, index)
    fields.conversation_id = fields.string(raw_id, f"conversations[{index}].conversation_id")
    title = fields.text(conv.get("title"), "title") or None
    mapping = fields.mapping(conv.get("mapping"), "mapping")

    nodes: dict[str, Mapping[str, Any]] = {}
    parents: dict[str, str | None] = {}
    for key, raw in mapping.items():
        node = fields.mapping(raw, f"mapping.{key}")
        parent = node.get("parent")
        if parent is not None:
            parent = fields.string(parent, f"mapping.{key}.parent")
        nodes[key] = node
        parents[key] = parent
    check_tree([(key, parent, f"mapping.{key}") for key, parent in parents.items()], fields)

    real = _message_ids(fields, nodes)
    messages: list[dict[str, Any]] = []
    out: set[str] = set()
    for key, node in nodes.items():
        if key not in real:
            continue
        parent = parents[key]
        while parent is not None and parent not in real:
            parent = parents[parent]
        message, hidden = _message(
            fields, key, real[key], None if parent is None else real[parent], node["message"]
        )
        messages.append(message)
        if hidden:
            out.add(message["id"])
    kept, stand, orphans = fold(messages, out)
    _answer_tool_calls(kept)

    tip = _tip(fields, conv, nodes, parents, real, stand, kept)
    metadata = {
        key: conv[key]
        for key in ("default_model_slug", "gizmo_id", "is_archived")
        if conv.get(key) is not None
    }
    metadata["source"] = "chatgpt"
    if orphans:
        metadata["hidden_messages"] = orphans
    update = fields.time(conv.get("update_time"), "update_time")
    if update is not None:
        metadata["updated_at"] = update.isoformat()
    return build_record(
        fields,
        id=fields.conversation_id,
        title=title,
        created_at=fields.time(conv.get("create_time"), "create_time"),
        metadata=metadata,
        active_tip_id=tip,
        messages=tuple(MessageRecord(**m) for m in kept),
    )


def _derived_id(conv: Mapping[str, Any], index: int) -> str:
    """Return an id made from the conversation's content, and warn that it was made up."""
    try:
        text = json.dumps(conv, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - parsed JSON dumps
        text = repr(conv)
    made = stable_id("chatgpt", text)
    warn(f"conversations[{index}] has no id; read as {made!r}, derived from its content")
    return made


def _message_ids(fields: Fields, nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Map each node with a message to its message id (the node key when it has none)."""
    real: dict[str, str] = {}
    seen_ids: dict[str, str] = {}
    for key, node in nodes.items():
        message = node.get("message")
        if message is None:
            continue
        field = f"mapping.{key}.message"
        message = fields.mapping(message, field)
        message_id = fields.string(message.get("id", key), f"{field}.id")
        if message_id in seen_ids:
            fields.fail(
                f"{field}.id",
                f"message id {message_id!r} appears twice (also in node {seen_ids[message_id]!r})",
            )
        seen_ids[message_id] = key
        real[key] = message_id
    return real


def _tip(  # noqa: PLR0913 - the pieces of the conversation read so far
    fields: Fields,
    conv: Mapping[str, Any],
    nodes: Mapping[str, Any],
    parents: Mapping[str, str | None],
    real: Mapping[str, str],
    stand: Mapping[str, str | None],
    kept: list[dict[str, Any]],
) -> str | None:
    """Return the active tip: ``current_node`` (or what stands for it), else the newest leaf."""
    tip_key = conv.get("current_node")
    if tip_key is None:
        return newest_leaf(kept)
    tip_key = fields.string(tip_key, "current_node")
    if tip_key not in nodes:
        fields.fail("current_node", f"node {tip_key!r} is not in the mapping")
    node_key: str | None = tip_key
    while node_key is not None and node_key not in real:
        node_key = parents[node_key]
    return None if node_key is None else stand[real[node_key]]


def _answer_tool_calls(kept: list[dict[str, Any]]) -> None:
    """Give each tool message right under an assistant's tool call that call's id."""
    calls = {
        m["id"]: m["metadata"]["tool_calls"][0]["id"]
        for m in kept
        if m["role"] == "assistant" and m["metadata"].get("tool_calls")
    }
    for message in kept:
        if message["role"] == "tool" and message["parent_id"] in calls:
            message["metadata"]["tool_call_id"] = calls[message["parent_id"]]


def _message(
    fields: Fields, key: str, message_id: str, parent_id: str | None, message: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Return a message's record fields, and whether it stays out of the turns."""
    field = f"mapping.{key}.message"
    author = fields.mapping(message.get("author"), f"{field}.author")
    raw_role = author.get("role")
    role = _ROLES.get(raw_role) if isinstance(raw_role, str) else None
    if role is None:
        fields.fail(
            f"{field}.author.role",
            f"expected one of {sorted(_ROLES)}, not {raw_role!r}",
        )
    text, extra = _content(fields, message.get("content"), f"{field}.content")
    meta = fields.mapping(message.get("metadata") or {}, f"{field}.metadata")
    chatgpt: dict[str, Any] = dict(extra)
    if isinstance(message.get("status"), str):
        chatgpt["status"] = message["status"]
    if isinstance(meta.get("model_slug"), str):
        chatgpt["model"] = meta["model_slug"]
    if isinstance(author.get("name"), str):
        chatgpt["name"] = author["name"]
    metadata: dict[str, Any] = {"chatgpt": chatgpt}
    recipient = message.get("recipient")
    if isinstance(recipient, str) and recipient != "all":
        chatgpt["recipient"] = recipient
        if role == "assistant":  # code or a query sent to a tool: a tool call
            metadata["tool_calls"] = [
                {
                    "id": stable_id("call", key),
                    "name": tool_name(recipient),
                    "arguments": _arguments(text),
                }
            ]
            text = ""
    text, replaced = clean_text(text)
    if replaced:
        metadata["replaced_characters"] = replaced
    if meta.get("is_visually_hidden_from_conversation") is True:
        metadata["hidden"] = True
    hidden = extra.get("content_type") in _HIDDEN_TYPES or (
        role in ("user", "assistant") and not visible(text) and "tool_calls" not in metadata
    )
    record = {
        "id": message_id,
        "parent_id": parent_id,
        "role": role,
        "content": text,
        "created_at": fields.time(message.get("create_time"), f"{field}.create_time"),
        "metadata": metadata,
    }
    return record, hidden


def _arguments(text: str) -> str:
    """Return a tool call's arguments: the text if it is a JSON object, else ``{"input": text}``."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        return text
    return json.dumps({"input": text}, ensure_ascii=False)


def _content(fields: Fields, value: object, field: str) -> tuple[str, dict[str, Any]]:
    if value is None:
        return "", {}
    content = fields.mapping(value, field)
    kind = content.get("content_type")
    extra: dict[str, Any] = {}
    if kind is not None:
        extra["content_type"] = fields.string(kind, f"{field}.content_type")
    if kind in _HIDDEN_TYPES:
        extra["content"] = dict(content)
        return _hidden_text(content), extra
    if "parts" in content:
        return _parts(fields, content["parts"], f"{field}.parts", extra)
    for name in ("text", "result"):  # code, execution_output, tether_quote, ...
        if isinstance(content.get(name), str):
            return content[name], extra
    return "", extra


def _parts(
    fields: Fields, value: object, field: str, extra: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    parts = fields.list(value, field, optional=True)
    texts: list[str] = []
    transcripts: list[str] = []
    attachments: list[Any] = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            attachments.append(dict(part))
            part_kind = part.get("content_type")
            if part_kind == "audio_transcription":
                transcripts.append(fields.text(part.get("text"), f"{field}[{i}].text"))
            elif part_kind is None and isinstance(part.get("text"), str):
                texts.append(part["text"])  # a loose part with words: read as text
            else:
                texts.append(_placeholder(part))
        elif part is not None:
            fields.fail(
                f"{field}[{i}]", f"expected a string or an object, not {type(part).__name__}"
            )
    if attachments:
        extra["attachments"] = attachments
    if transcripts:  # what was said is the text; the recording is kept as an attachment
        texts = [t for t in texts if t not in _AUDIO] + transcripts
    return "\n".join(t for t in texts if t), extra


def _placeholder(part: Mapping[str, Any]) -> str:
    kind = part.get("content_type")
    if kind == "real_time_user_audio_video_asset_pointer":
        video = part.get("video_container_asset_pointer") or part.get("frames_asset_pointers")
        return "[video]" if video else "[audio]"
    return _PLACEHOLDERS.get(kind, "[attachment]") if isinstance(kind, str) else "[attachment]"


def _hidden_text(content: Mapping[str, Any]) -> str:
    """Return the words of a hidden node (custom instructions, memory, reasoning)."""
    names = ("user_profile", "user_instructions", "model_set_context", "content", "text")
    texts = [content[name] for name in names if isinstance(content.get(name), str)]
    thoughts = content.get("thoughts")
    for thought in thoughts if isinstance(thoughts, list) else ():
        if isinstance(thought, Mapping):
            texts.extend(
                thought[name]
                for name in ("summary", "content")
                if isinstance(thought.get(name), str)
            )
    return "\n".join(t for t in texts if t)


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
