"""The ChatGPT data export: ``conversations.json`` and its split ``conversations-000.json`` files.

Each conversation holds a ``mapping`` tree of nodes (``parent`` /
``children``), with ``current_node`` as the active tip. Every branch is
kept: regenerations and edits are siblings in the tree.

* Nodes whose ``message`` is null (``client-created-root``, or a UUID root)
  are structure only: their children hang from the nearest real ancestor.
* Hidden nodes (``metadata.is_visually_hidden_from_conversation``) are kept,
  with ``metadata["hidden"] = True``.
* ``multimodal_text`` parts that are objects (images, files) become a
  placeholder text such as ``[image]``; the objects are kept in
  ``metadata["chatgpt"]["attachments"]``.
* Null titles and times, and a missing ``status``, are fine.

Each message's ``metadata["chatgpt"]`` holds the ``content_type``,
``status``, ``model`` and author ``name`` when the export has them. The
export is read only: there is no ``dump``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._errors import FormatError
from .._records import ConversationRecord, MessageRecord
from ._common import (
    Errors,
    Fields,
    Loaded,
    Reader,
    Sources,
    build_record,
    check_errors,
    check_tree,
    load_json_files,
)

__all__ = ["from_data", "load"]

_ROLES: Final = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}
_PLACEHOLDERS: Final = {
    "image_asset_pointer": "[image]",
    "audio_asset_pointer": "[audio]",
    "audio_transcription": "[audio]",
    "real_time_user_audio_video_asset_pointer": "[video]",
}


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


def _conversation(data: object, index: int) -> ConversationRecord:  # noqa: C901 - one pass over the mapping
    fields = Fields(None)
    conv = fields.mapping(data, f"conversations[{index}]")
    raw_id = conv.get("conversation_id", conv.get("id"))
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

    messages: list[MessageRecord] = []
    real: dict[str, str] = {}  # node key -> message id, for nodes with a message
    seen_ids: dict[str, str] = {}
    for key, node in nodes.items():
        message = node.get("message")
        if message is None:
            continue
        field = f"mapping.{key}.message"
        message = fields.mapping(message, field)
        message_id = message.get("id", key)
        message_id = fields.string(message_id, f"{field}.id")
        if message_id in seen_ids:
            fields.fail(
                f"{field}.id",
                f"message id {message_id!r} appears twice (also in node {seen_ids[message_id]!r})",
            )
        seen_ids[message_id] = key
        real[key] = message_id
    for key, node in nodes.items():
        if key not in real:
            continue
        parent = parents[key]
        while parent is not None and parent not in real:
            parent = parents[parent]
        messages.append(
            _message(
                fields, key, real[key], None if parent is None else real[parent], node["message"]
            )
        )

    tip_key = conv.get("current_node")
    tip: str | None = None
    if tip_key is not None:
        tip_key = fields.string(tip_key, "current_node")
        if tip_key not in nodes:
            fields.fail("current_node", f"node {tip_key!r} is not in the mapping")
        node_key: str | None = tip_key
        while node_key is not None and node_key not in real:
            node_key = parents[node_key]
        tip = None if node_key is None else real[node_key]

    metadata = {
        key: conv[key]
        for key in ("default_model_slug", "gizmo_id", "is_archived")
        if conv.get(key) is not None
    }
    metadata["source"] = "chatgpt"
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
        messages=tuple(messages),
    )


def _message(
    fields: Fields, key: str, message_id: str, parent_id: str | None, message: Mapping[str, Any]
) -> MessageRecord:
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
    if isinstance(message.get("recipient"), str) and message["recipient"] != "all":
        chatgpt["recipient"] = message["recipient"]
    metadata: dict[str, Any] = {"chatgpt": chatgpt}
    if meta.get("is_visually_hidden_from_conversation") is True:
        metadata["hidden"] = True
    return MessageRecord(
        id=message_id,
        parent_id=parent_id,
        role=role,
        content=text,
        created_at=fields.time(message.get("create_time"), f"{field}.create_time"),
        metadata=metadata,
    )


def _content(fields: Fields, value: object, field: str) -> tuple[str, dict[str, Any]]:
    if value is None:
        return "", {}
    content = fields.mapping(value, field)
    kind = content.get("content_type")
    kind = fields.string(kind, f"{field}.content_type")
    extra: dict[str, Any] = {"content_type": kind}
    if "parts" in content:
        parts = fields.list(content["parts"], f"{field}.parts", optional=True)
        texts: list[str] = []
        attachments: list[Any] = []
        for i, part in enumerate(parts):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                attachments.append(dict(part))
                part_kind = part.get("content_type")
                texts.append(_PLACEHOLDERS.get(part_kind, "[attachment]"))  # type: ignore[arg-type]
            elif part is not None:
                fields.fail(
                    f"{field}.parts[{i}]",
                    f"expected a string or an object, not {type(part).__name__}",
                )
        if attachments:
            extra["attachments"] = attachments
        return "\n".join(t for t in texts if t), extra
    for name in ("text", "result"):  # code, execution_output, tether_quote, ...
        if isinstance(content.get(name), str):
            return content[name], extra
    return "", extra
