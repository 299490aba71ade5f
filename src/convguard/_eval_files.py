"""Labelled files for ``convguard eval``: items and scripted conversations, read and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, final

from attrs import frozen

from ._errors import FormatError

__all__ = ["EvalItem", "Kind", "ScriptedConversation", "load_eval_file"]

_ACTIONS: Final = frozenset({"allow", "redirect", "warn", "support", "end"})

Kind = Literal["items", "conversations"]


@final
@frozen
class EvalItem:
    """One labelled message.

    Attributes:
        id: Its id in the file.
        text: The message.
        labels: The categories it carries (empty: none).
    """

    id: str
    text: str
    labels: frozenset[str]


@final
@frozen
class ScriptedConversation:
    """A scripted conversation: user turns with the action expected on each.

    Attributes:
        id: Its id in the file.
        turns: ``(text, expected action)`` per user turn.
        kind: The file's ``kind`` (``persistent``, ``benign`` …), or ``""``.
    """

    id: str
    turns: tuple[tuple[str, str], ...]
    kind: str = ""


def _fail(path: str, line: int, reason: str) -> FormatError:
    return FormatError(f"line {line}: {reason}", path=path)


def _parse_item(data: Mapping[str, Any], path: str, line: int) -> EvalItem:
    item_id, text, labels = data.get("id"), data.get("text"), data.get("labels")
    if not isinstance(item_id, str) or not item_id:
        raise _fail(path, line, "'id' must be a non-empty string")
    if not isinstance(text, str):
        raise _fail(path, line, "'text' must be a string")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise _fail(path, line, "'labels' must be a list of category strings")
    return EvalItem(item_id, text, frozenset(labels))


def _parse_conversation(data: Mapping[str, Any], path: str, line: int) -> ScriptedConversation:
    conv_id, turns = data.get("id"), data.get("turns")
    if not isinstance(conv_id, str) or not conv_id:
        raise _fail(path, line, "'id' must be a non-empty string")
    if not isinstance(turns, list) or not turns:
        raise _fail(path, line, "'turns' must be a non-empty list")
    parsed: list[tuple[str, str]] = []
    for number, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise _fail(path, line, f"turn {number} must be an object")
        text, expect = turn.get("text"), turn.get("expect")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, line, f"turn {number} needs a non-empty 'text'")
        if expect not in _ACTIONS:
            raise _fail(
                path,
                line,
                f"turn {number} 'expect' must be one of {sorted(_ACTIONS)}, not {expect!r}",
            )
        parsed.append((text, str(expect)))
    kind = data.get("kind", "")
    return ScriptedConversation(conv_id, tuple(parsed), kind if isinstance(kind, str) else "")


def _json_object(raw: str, path: str, line: int) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(path, line, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise _fail(path, line, "each line must be a JSON object")
    return data


def load_eval_file(
    path: str | Path,
) -> tuple[Kind, list[EvalItem] | list[ScriptedConversation]]:
    """Read a labelled items file or a scripted conversations file.

    The kind is told by the first record: one with ``turns`` makes the file a
    conversations file.

    Args:
        path: The JSON Lines file.

    Returns:
        ``("items", items)`` or ``("conversations", conversations)``.

    Raises:
        FormatError: Naming the file and line, for a file that cannot be read,
            a line that is not a JSON object, a record missing a field, a
            duplicate id, or records of both kinds.
    """
    name = str(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the file: {exc}"
        raise FormatError(msg, path=name) from exc
    kind: Kind | None = None
    items: list[EvalItem] = []
    conversations: list[ScriptedConversation] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        data = _json_object(raw, name, number)
        this: Kind = "conversations" if "turns" in data else "items"
        if kind is None:
            kind = this
        elif kind != this:
            raise _fail(name, number, f"a file of {kind} cannot hold {this} too")
        if this == "items":
            item = _parse_item(data, name, number)
            record_id = item.id
            items.append(item)
        else:
            conversation = _parse_conversation(data, name, number)
            record_id = conversation.id
            conversations.append(conversation)
        if record_id in seen:
            raise _fail(name, number, f"duplicate id {record_id!r}")
        seen.add(record_id)
    if kind is None:
        msg = "the file holds no records"
        raise FormatError(msg, path=name)
    return (kind, items) if kind == "items" else (kind, conversations)


# -- obfuscation --------------------------------------------------------------
