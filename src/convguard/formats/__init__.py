"""Readers and writers of other products' conversation files.

Every format module has the same face::

    records = cg.formats.chatgpt.load("conversations.json")  # -> list of ConversationRecord
    cg.formats.openai.dump(records[0], "messages.json")  # where the format can be written

Modules: :mod:`~convguard.formats.chatgpt` and :mod:`~convguard.formats.claude`
(data exports, read only), :mod:`~convguard.formats.openai` and
:mod:`~convguard.formats.anthropic` (API message lists, both ways),
:mod:`~convguard.formats.jsonl` (one message per line, both ways). The
``convguard`` format is convguard's own record JSON
(:meth:`~convguard.ConversationRecord.to_json`): one record, an array of
records, or one record per line.

:func:`load` reads any of them, telling the format from the content. Every
``load`` takes ``errors="raise"`` (stop at the first malformed conversation
with a :class:`~convguard.FormatError` naming the file, the conversation and
the field) or ``errors="skip"`` (leave it out); the result is a
:class:`Loaded` list whose ``skipped`` lists what was left out.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, TypeAlias

from .._errors import FormatError
from .._records import SCHEMA, ConversationRecord
from . import anthropic, chatgpt, claude, jsonl, openai
from ._common import (
    Errors,
    FormatWarning,
    Loaded,
    Reader,
    check_errors,
    check_tool_calls,
    records_of,
)
from ._sources import (
    Source,
    Sources,
    expand,
    name_of,
    open_text,
    parse_json,
    write_text,
)

__all__ = [
    "FORMATS",
    "Format",
    "FormatWarning",
    "Loaded",
    "Source",
    "anthropic",
    "chatgpt",
    "check_tool_calls",
    "claude",
    "detect",
    "dump",
    "jsonl",
    "load",
    "openai",
]

# Reprs and docs show the public path (convguard.formats.X, not a private
# module's), as convguard/__init__.py does for the top-level names.
for _name in __all__:
    _obj = globals().get(_name)
    if getattr(_obj, "__module__", "").startswith(f"{__name__}._"):
        _obj.__module__ = __name__
del _name, _obj


Format: TypeAlias = Literal["chatgpt", "claude", "openai", "anthropic", "jsonl", "convguard"]

FORMATS: Final[tuple[Format, ...]] = (
    "chatgpt",
    "claude",
    "openai",
    "anthropic",
    "jsonl",
    "convguard",
)
"""The names :func:`load` takes as ``format``."""

_ANTHROPIC_BLOCKS: Final = frozenset(
    {"tool_use", "tool_result", "image", "document", "thinking", "redacted_thinking"}
)
_OPENAI_ROLES: Final = frozenset({"system", "developer", "tool", "function"})


class _NamedText(io.StringIO):
    """Text already read, keeping its file's name for error messages."""

    def __init__(self, text: str, name: str | None) -> None:
        super().__init__(text)
        self.name = name


def load(
    source: Sources,
    *,
    format: Format | Literal["auto"] = "auto",  # noqa: A002 - the natural name
    errors: Errors = "raise",
) -> Loaded:
    """Read conversations from files of any supported format.

    Args:
        source: A path, an open file, a directory (its ``conversations*.json``
            files, else every ``.json`` and ``.jsonl`` file), or a list of them.
        format: One of :data:`FORMATS`, or ``"auto"`` to tell each file's
            format from its content.
        errors: ``"raise"`` or ``"skip"``: see the module docstring.

    Returns:
        Every conversation read, with every branch; ``.skipped`` lists what
        ``errors="skip"`` left out.

    Raises:
        FormatError: For an unknown format name, a file whose format cannot be
            told, unreadable files and (with ``errors="raise"``) malformed
            conversations.
    """
    errors = check_errors(errors)
    if format != "auto" and format not in FORMATS:
        msg = f"unknown format {format!r}; expected 'auto' or one of {', '.join(FORMATS)}"
        raise FormatError(msg)
    result = Loaded()
    for file in expand(source):
        result.extend_from(_load_file(file, format, errors))
    return result


def _load_file(file: Source, format: str, errors: Errors) -> Loaded:  # noqa: A002 - as in load()
    path = name_of(file)
    if format in ("chatgpt", "claude", "openai", "anthropic", "jsonl"):
        module = {
            "chatgpt": chatgpt,
            "claude": claude,
            "openai": openai,
            "anthropic": anthropic,
            "jsonl": jsonl,
        }[format]
        return module.load(file, errors=errors)  # type: ignore[no-any-return]
    with open_text(file) as stream:
        try:
            text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read: {exc}"
            raise FormatError(msg, path=path) from exc
    if format == "convguard":
        return _native_text(text, path, errors)
    kind, data = _sniff(text, path)
    if kind == "jsonl":
        return jsonl.load(_NamedText(text, path), errors=errors)
    if kind == "convguard-lines":
        return _native_lines(text, path, errors)
    if kind == "convguard":
        return _native(data, path, errors)
    readers = {
        "chatgpt": chatgpt.from_data,
        "claude": claude.from_data,
        "openai": openai.from_data,
        "anthropic": anthropic.from_data,
    }
    return readers[kind](data, path=path, errors=errors)


def detect(source: Source) -> str:
    """Tell the format of one file from its content.

    Args:
        source: A path or an open file (read to the end).

    Returns:
        One of :data:`FORMATS`.

    Raises:
        FormatError: When the content fits no format.
    """
    (file,) = expand(source)
    with open_text(file) as stream:
        text = stream.read()
    kind, _ = _sniff(text, name_of(file))
    return "convguard" if kind == "convguard-lines" else kind


def _sniff(text: str, path: str | None) -> tuple[str, Any]:
    """Return the format of *text* and, when it was parsed whole, the data."""
    stripped = text.strip()
    first_line, _, rest = stripped.partition("\n")
    if rest.strip():
        try:
            first = json.loads(first_line)
        except json.JSONDecodeError:
            first = None
        if isinstance(first, Mapping):
            if "conversation_id" in first and "role" in first:
                return "jsonl", None
            if first.get("schema") == SCHEMA:
                return "convguard-lines", None
    data = parse_json(stripped or "null", path)
    return _kind(data, path), data


def _kind(data: object, path: str | None) -> str:
    sample = data
    if isinstance(data, list):
        sample = next((item for item in data if isinstance(item, Mapping)), None)
    if isinstance(data, list) and not data:
        return "convguard"  # nothing to read: any reader gives no records
    if isinstance(sample, Mapping):
        if "mapping" in sample or ("conversations" in sample and sample is data):
            return "chatgpt"
        if "chat_messages" in sample:
            return "claude"
        if sample.get("schema") == SCHEMA or "active_tip_id" in sample:
            return "convguard"
        if "role" in sample and isinstance(data, list):
            return _api_kind(data, {})
        if isinstance(sample.get("messages"), list):
            return _api_kind(sample["messages"], sample)
    msg = "cannot tell the format from the content; pass format= one of " + ", ".join(FORMATS)
    raise FormatError(msg, path=path)


def _api_kind(messages: list[Any], body: Mapping[str, Any]) -> str:
    if "system" in body:
        return "anthropic"
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        if message.get("role") in _OPENAI_ROLES or "tool_calls" in message:
            return "openai"
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(block, Mapping) and block.get("type") in _ANTHROPIC_BLOCKS
            for block in content
        ):
            return "anthropic"
    return "openai"


def _native(data: object, path: str | None, errors: Errors) -> Loaded:
    reader = Reader(path, errors)
    items = data if isinstance(data, list) else [data]
    for item in items:
        reader.add(ConversationRecord.from_dict, item)
    return reader.result


def _native_text(text: str, path: str | None, errors: Errors) -> Loaded:
    try:
        data = parse_json(text, path)
    except FormatError:
        return _native_lines(text, path, errors)
    return _native(data, path, errors)


def _native_lines(text: str, path: str | None, errors: Errors) -> Loaded:
    reader = Reader(path, errors)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = parse_json(line, path, number)
        except FormatError as exc:
            reader.fail(exc)
            continue
        reader.add(ConversationRecord.from_dict, item)
    return reader.result


def dump(
    records: ConversationRecord | Iterable[ConversationRecord],
    target: Source,
    *,
    format: Literal["convguard", "openai", "anthropic", "jsonl"] = "convguard",  # noqa: A002 - the natural name
) -> None:
    """Write records in a format that can be written.

    Args:
        records: One record or several.
        target: A path or an open file.
        format: ``"convguard"`` (an array of records, lossless), ``"jsonl"``
            (lossless), ``"openai"`` or ``"anthropic"`` (the active branch of
            each as API messages).

    Raises:
        FormatError: For an unknown format, something that is not a record, or
            a file that cannot be written.
    """
    if format == "convguard":
        items = records_of(records)
        text = "[" + ",\n".join(record.to_json() for record in items) + "]\n"
        write_text(text, target)
        return
    writers = {"openai": openai.dump, "anthropic": anthropic.dump, "jsonl": jsonl.dump}
    if format not in writers:
        msg = f"cannot write format {format!r}; expected convguard, openai, anthropic or jsonl"
        raise FormatError(msg)
    writers[format](records, target)


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
