"""The Claude.ai data export: ``conversations.json``.

Each conversation has a ``uuid``, a ``name`` and ``chat_messages`` (each with
``uuid``, ``sender`` ``human`` or ``assistant``, ``text``, ``content``
blocks and ``created_at``). Two shapes are read:

* the flat list: messages follow each other, each the child of the one
  before; the last is the active tip;
* the tree: messages carry ``parent_message_uuid`` (the root's parent is the
  sentinel ``00000000-0000-4000-8000-000000000000``), and
  ``current_leaf_message_uuid`` names the active tip.

When the top-level ``text`` is empty the text comes from the ``content``
blocks of type ``text``. Attachments and files are kept in
``metadata["claude"]``. The export is read only: there is no ``dump``.
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

__all__ = ["ROOT_SENTINEL", "from_data", "load"]

ROOT_SENTINEL: Final = "00000000-0000-4000-8000-000000000000"
"""The ``parent_message_uuid`` of a tree's first message."""

_ROLES: Final = {"human": "user", "user": "user", "assistant": "assistant"}


def load(source: Sources, *, errors: Errors = "raise") -> Loaded:
    """Read a Claude.ai export.

    Args:
        source: ``conversations.json``, an open file, the export directory,
            or a list of them.
        errors: ``"raise"`` stops at the first malformed conversation;
            ``"skip"`` leaves it out and lists it in ``result.skipped``.

    Returns:
        One record per conversation, every branch kept.

    Raises:
        FormatError: For an unreadable file or malformed JSON, and with
            ``errors="raise"`` for a malformed conversation, naming the file,
            the conversation and the field.
    """
    return load_json_files(source, errors, from_data)


def from_data(data: object, *, path: str | None = None, errors: Errors = "raise") -> Loaded:
    """Read parsed export JSON: an array of conversations, or one.

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
    if isinstance(data, Mapping) and "chat_messages" in data:
        data = [data]
    if not isinstance(data, list):
        msg = "expected an array of conversations"
        raise FormatError(msg, path=path, field="conversations")
    for index, item in enumerate(data):
        reader.add(_conversation, item, index)
    return reader.result


def _conversation(data: object, index: int) -> ConversationRecord:
    fields = Fields(None)
    conv = fields.mapping(data, f"conversations[{index}]")
    fields.conversation_id = fields.string(conv.get("uuid"), f"conversations[{index}].uuid")
    raw_messages = fields.list(conv.get("chat_messages"), "chat_messages", optional=True)
    items = [fields.mapping(m, f"chat_messages[{i}]") for i, m in enumerate(raw_messages)]
    tree = any(item.get("parent_message_uuid") is not None for item in items)

    messages: list[MessageRecord] = []
    nodes: list[tuple[str, str | None, str]] = []
    previous: str | None = None
    for i, item in enumerate(items):
        field = f"chat_messages[{i}]"
        message_id = fields.string(item.get("uuid"), f"{field}.uuid")
        if tree:
            parent = fields.optional_string(
                item.get("parent_message_uuid"), f"{field}.parent_message_uuid"
            )
            parent = None if parent == ROOT_SENTINEL else parent
        else:
            parent = previous
        previous = message_id
        nodes.append((message_id, parent, field))
        messages.append(_message(fields, item, field, message_id, parent))
    check_tree(nodes, fields, id_field="uuid", parent_field="parent_message_uuid")

    tip = fields.optional_string(conv.get("current_leaf_message_uuid"), "current_leaf_message_uuid")
    if tip is not None and tip not in {m.id for m in messages}:
        fields.fail("current_leaf_message_uuid", f"message {tip!r} is not in chat_messages")
    if tip is None and messages:
        tip = messages[-1].id

    metadata: dict[str, Any] = {"source": "claude"}
    for key in ("summary",):
        if isinstance(conv.get(key), str) and conv[key]:
            metadata[key] = conv[key]
    update = fields.time(conv.get("updated_at"), "updated_at")
    if update is not None:
        metadata["updated_at"] = update.isoformat()
    return build_record(
        fields,
        id=fields.conversation_id,
        title=fields.text(conv.get("name"), "name") or None,
        created_at=fields.time(conv.get("created_at"), "created_at"),
        metadata=metadata,
        active_tip_id=tip,
        messages=tuple(messages),
    )


def _message(
    fields: Fields, item: Mapping[str, Any], field: str, message_id: str, parent: str | None
) -> MessageRecord:
    sender = item.get("sender")
    role = _ROLES.get(sender) if isinstance(sender, str) else None
    if role is None:
        fields.fail(f"{field}.sender", f"expected 'human' or 'assistant', not {sender!r}")
    text = fields.text(item.get("text"), f"{field}.text")
    if not text:
        blocks = fields.list(item.get("content"), f"{field}.content", optional=True)
        texts = []
        for j, block in enumerate(blocks):
            block = fields.mapping(block, f"{field}.content[{j}]")  # noqa: PLW2901 - the checked view
            if block.get("type") == "text":
                texts.append(fields.text(block.get("text"), f"{field}.content[{j}].text"))
        text = "\n".join(t for t in texts if t)
    claude: dict[str, Any] = {}
    for key in ("attachments", "files"):
        value = fields.list(item.get(key), f"{field}.{key}", optional=True)
        if value:
            claude[key] = value
    return MessageRecord(
        id=message_id,
        parent_id=parent,
        role=role,
        content=text,
        created_at=fields.time(item.get("created_at"), f"{field}.created_at"),
        metadata={"claude": claude} if claude else {},
    )
