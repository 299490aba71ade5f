"""The Claude.ai data export: ``conversations.json``.

Each conversation has a ``uuid``, a ``name`` and ``chat_messages`` (each with
``uuid``, ``sender`` ``human`` or ``assistant``, ``text``, ``content``
blocks and ``created_at``). Messages are ordered by their own ``created_at``,
not by their place in the file. Two shapes are read:

* the flat list: each message follows the one written before it;
* the tree: messages carry ``parent_message_uuid`` (the root's parent is the
  sentinel ``00000000-0000-4000-8000-000000000000``).

``current_leaf_message_uuid`` names the active tip; without it, the newest
leaf. When a message has ``content`` blocks, its text is the ``text`` blocks
only (the top-level ``text`` may hold the thinking too, and is then kept as
``metadata["claude"]["text"]``); the other blocks (``thinking``,
``tool_use``, ``tool_result`` …) are kept in ``metadata["claude"]["blocks"]``,
and attachments and files in ``metadata["claude"]``. Messages with no
visible text are no turns (kept in a neighbour's ``hidden_before`` /
``hidden_after``). The export is read only: there is no ``dump``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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
    visible,
)
from ._sources import (
    Sources,
)

__all__ = ["ROOT_SENTINEL", "from_data", "load"]

ROOT_SENTINEL: Final = "00000000-0000-4000-8000-000000000000"
"""The ``parent_message_uuid`` of a tree's first message."""

_ROLES: Final = {"human": "user", "user": "user", "assistant": "assistant"}
_OLDEST: Final = datetime.min.replace(tzinfo=UTC)


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

    read: list[tuple[dict[str, Any], bool]] = []
    for i, item in enumerate(items):
        field = f"chat_messages[{i}]"
        message_id = fields.string(item.get("uuid"), f"{field}.uuid")
        parent: str | None = None
        if tree:
            parent = fields.optional_string(
                item.get("parent_message_uuid"), f"{field}.parent_message_uuid"
            )
            parent = None if parent == ROOT_SENTINEL else parent
        read.append(_message(fields, item, field, message_id, parent))
    order = _time_order([message for message, _ in read])
    if not tree:  # each message follows the one before it in time
        previous: str | None = None
        for position in order:
            read[position][0]["parent_id"] = previous
            previous = read[position][0]["id"]
    nodes = [(m["id"], m["parent_id"], f"chat_messages[{i}]") for i, (m, _) in enumerate(read)]
    check_tree(nodes, fields, id_field="uuid", parent_field="parent_message_uuid")
    messages = [read[position][0] for position in order]
    out = {read[position][0]["id"] for position in order if read[position][1]}
    kept, stand, orphans = fold(messages, out)

    tip = fields.optional_string(conv.get("current_leaf_message_uuid"), "current_leaf_message_uuid")
    if tip is not None and tip not in stand:
        fields.fail("current_leaf_message_uuid", f"message {tip!r} is not in chat_messages")
    tip = newest_leaf(kept) if tip is None else stand[tip]

    metadata: dict[str, Any] = {"source": "claude"}
    for key in ("summary",):
        if isinstance(conv.get(key), str) and conv[key]:
            metadata[key] = conv[key]
    if orphans:
        metadata["hidden_messages"] = orphans
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
        messages=tuple(MessageRecord(**m) for m in kept),
    )


def _time_order(messages: list[dict[str, Any]]) -> list[int]:
    """Return the positions of *messages* in the order they were written.

    By ``created_at``; a message without a time counts as written right
    after the one before it in the file; equal times keep the file's order.
    """
    keys: list[tuple[datetime, int]] = []
    last = _OLDEST
    for position, message in enumerate(messages):
        created = message["created_at"]
        if created is not None:
            last = created
        keys.append((last, position))
    return [position for _, position in sorted(keys)]


def _message(
    fields: Fields, item: Mapping[str, Any], field: str, message_id: str, parent: str | None
) -> tuple[dict[str, Any], bool]:
    """Return a message's record fields, and whether it stays out of the turns."""
    sender = item.get("sender")
    role = _ROLES.get(sender) if isinstance(sender, str) else None
    if role is None:
        fields.fail(f"{field}.sender", f"expected 'human' or 'assistant', not {sender!r}")
    text = fields.text(item.get("text"), f"{field}.text")
    blocks = fields.list(item.get("content"), f"{field}.content", optional=True)
    claude: dict[str, Any] = {}
    if blocks:
        text = _blocks(fields, blocks, field, text, claude)
        if role == "user" and not visible(text) and "text" in claude:
            text = claude.pop("text")  # what the user typed, though no block holds it
    for key in ("attachments", "files"):
        value = fields.list(item.get(key), f"{field}.{key}", optional=True)
        if value:
            claude[key] = value
    if role == "user" and not visible(text) and ("attachments" in claude or "files" in claude):
        text = "[attachment]"
    text, replaced = clean_text(text)
    metadata: dict[str, Any] = {"claude": claude} if claude else {}
    if replaced:
        metadata["replaced_characters"] = replaced
    record = {
        "id": message_id,
        "parent_id": parent,
        "role": role,
        "content": text,
        "created_at": fields.time(item.get("created_at"), f"{field}.created_at"),
        "metadata": metadata,
    }
    return record, not visible(text)


def _blocks(
    fields: Fields, blocks: list[Any], field: str, text: str, claude: dict[str, Any]
) -> str:
    """Return the words of a message's content blocks; keep the other blocks in *claude*.

    The words are the ``text`` blocks: the top-level ``text`` may run the
    thinking into the answer. ``thinking``, ``tool_use``, ``tool_result``
    and any other block go to ``claude["blocks"]``, never into the text; a
    top-level ``text`` that differs from the blocks' words is kept as
    ``claude["text"]``.
    """
    texts: list[str] = []
    others: list[Any] = []
    for j, raw in enumerate(blocks):
        block = fields.mapping(raw, f"{field}.content[{j}]")
        if block.get("type") == "text":
            texts.append(fields.text(block.get("text"), f"{field}.content[{j}].text"))
        else:
            others.append(dict(block))
    if others:
        claude["blocks"] = others
    words = "\n".join(t for t in texts if t)
    if text and text != words:
        claude["text"] = text
    return words


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
