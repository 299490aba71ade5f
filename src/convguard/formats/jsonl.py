"""One message per line, for streaming big logs.

Each line is a JSON object::

    {
        "conversation_id": "c1",
        "id": "m2",
        "parent_id": "m1",
        "role": "user",
        "content": "...",
        "created_at": "2026-01-01T12:00:00+00:00",
        "metadata": {},
    }

``parent_id`` is null for a root; ``created_at`` (ISO 8601 or epoch seconds)
and ``metadata`` may be left out. A line may carry ``"active": true`` to mark
its conversation's active tip (:func:`dump` writes it); otherwise the last
line of a conversation is its active tip. ``state`` and ``verdict`` (as in a
:class:`~convguard.MessageRecord`) are kept when present, so a dump of
judged records loads back as it was. Blank lines are ignored.

:func:`load` groups lines by ``conversation_id`` wherever they are;
:func:`iter_load` streams, holding one conversation at a time, and needs each
conversation's lines together (as :func:`dump` writes them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Final

import pydantic

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
    with_path,
)
from ._sources import (
    Source,
    Sources,
    expand,
    name_of,
    open_text,
    open_write,
    parse_json,
)

__all__ = ["dump", "iter_load", "load"]

_KEYS: Final = frozenset(
    {
        "conversation_id",
        "id",
        "parent_id",
        "role",
        "content",
        "created_at",
        "metadata",
        "state",
        "verdict",
        "active",
    }
)

# A parsed line: (line number, conversation id or None, the object or the error).
_Line = tuple[int, str | None, "Mapping[str, Any] | FormatError"]


def load(source: Sources, *, errors: Errors = "raise") -> Loaded:
    """Read JSONL files, grouping lines by conversation wherever they are.

    Args:
        source: A ``.jsonl`` file, an open file, a directory or a list.
        errors: ``"raise"`` stops at the first malformed line or
            conversation; ``"skip"`` leaves the conversation out (or the
            line, when it names no conversation) and lists it in
            ``result.skipped``.

    Returns:
        One record per conversation id, in order of first appearance.

    Raises:
        FormatError: Naming the file, the line, the conversation and the field.
    """
    errors = check_errors(errors)
    result = Loaded()
    for file in expand(source, "*.jsonl"):
        path = name_of(file)
        reader = Reader(path, errors)
        groups: dict[str, list[_Line]] = {}
        for line in _lines(file, path):
            _, conversation_id, item = line
            if conversation_id is None:
                reader.fail(item)  # type: ignore[arg-type]
            else:
                groups.setdefault(conversation_id, []).append(line)
        for conversation_id, lines in groups.items():
            reader.add(_conversation, conversation_id, lines)
        result.extend_from(reader.result)
    return result


def iter_load(
    source: Sources, *, errors: Errors = "raise", skipped: list[FormatError] | None = None
) -> Iterator[ConversationRecord]:
    """Yield conversations one at a time, holding only the current one in memory.

    Each conversation's lines must be together.

    Args:
        source: A ``.jsonl`` file, an open file, a directory or a list.
        errors: ``"raise"`` or ``"skip"``, as for :func:`load`.
        skipped: With ``errors="skip"``, receives an error for each
            conversation (or line) left out.

    Yields:
        Each conversation, as soon as its last line has been read.

    Raises:
        FormatError: As for :func:`load`; also when a conversation's lines
            are not together.
    """
    errors = check_errors(errors)
    for file in expand(source, "*.jsonl"):
        path = name_of(file)
        done: set[str] = set()
        current: str | None = None
        lines: list[_Line] = []
        for line in _lines(file, path):
            number, conversation_id, item = line
            if conversation_id is None:
                _report(with_path(item, path), errors, skipped)  # type: ignore[arg-type]
                continue
            if conversation_id != current:
                if current is not None:
                    yield from _finish(current, lines, path, errors, skipped)
                    done.add(current)
                if conversation_id in done:
                    msg = (
                        f"line {number}: the lines of this conversation are not together; "
                        "jsonl.load() groups scattered lines"
                    )
                    error = FormatError(
                        msg, path=path, conversation_id=conversation_id, field="conversation_id"
                    )
                    _report(error, errors, skipped)
                    current, lines = None, []
                    continue
                current, lines = conversation_id, []
            lines.append(line)
        if current is not None:
            yield from _finish(current, lines, path, errors, skipped)


def _report(error: FormatError, errors: Errors, skipped: list[FormatError] | None) -> None:
    if errors == "raise":
        raise error
    if skipped is not None:
        skipped.append(error)


def _finish(
    conversation_id: str,
    lines: list[_Line],
    path: str | None,
    errors: Errors,
    skipped: list[FormatError] | None,
) -> Iterator[ConversationRecord]:
    try:
        record = _conversation(conversation_id, lines)
    except FormatError as exc:
        _report(with_path(exc, path), errors, skipped)
    else:
        yield record


def _lines(source: Source, path: str | None) -> Iterator[_Line]:
    with open_text(source) as stream:
        try:
            for number, text in enumerate(stream, start=1):
                if not text.strip():
                    continue
                yield _parse(text, number, path)
        except UnicodeDecodeError as exc:
            msg = f"cannot read: {exc}"
            raise FormatError(msg, path=path) from exc


def _parse(text: str, number: int, path: str | None) -> _Line:
    try:
        item = parse_json(text, path, number)
    except FormatError as exc:
        return number, None, exc
    if not isinstance(item, Mapping):
        return number, None, FormatError(f"line {number}: expected a JSON object", path=path)
    conversation_id = item.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        error = FormatError(
            f"line {number}: expected a non-empty string", path=path, field="conversation_id"
        )
        return number, None, error
    return number, conversation_id, item


def _conversation(conversation_id: str, lines: list[_Line]) -> ConversationRecord:
    fields = Fields(conversation_id)
    messages: list[MessageRecord] = []
    tip: str | None = None
    nodes: list[tuple[str, str | None, str]] = []
    for number, _, item in lines:
        line: Mapping[str, Any] = item  # type: ignore[assignment]
        where = f"line {number}"
        unknown = sorted(set(line) - _KEYS)
        if unknown:
            fields.fail(unknown[0], f"{where}: unknown field")
        message_id = _field(fields, line, "id", where, fields.string)
        parent = _field(fields, line, "parent_id", where, fields.optional_string)
        created = _field(fields, line, "created_at", where, fields.time)
        try:
            message = MessageRecord(
                id=message_id,
                parent_id=parent,
                role=line.get("role"),
                content=line.get("content"),
                created_at=created,
                metadata=line.get("metadata") or {},
                state=line.get("state"),
                verdict=line.get("verdict"),
            )
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            reason = f"{where}: {first['msg']}"
            raise fields.error(field, reason) from None
        messages.append(message)
        nodes.append((message_id, parent, where))
        if line.get("active") is True:
            tip = message_id
    try:
        check_tree(nodes, fields)
    except FormatError as exc:
        # check_tree names the line as "line N.id": keep the line in the reason.
        line_no, _, field = (exc.field or "").partition(".")
        name = "parent_id" if field == "parent" else field
        reason = f"{line_no}: {exc.reason}"
        raise fields.error(name, reason) from None
    return build_record(
        fields,
        id=conversation_id,
        active_tip_id=tip if tip is not None else messages[-1].id,
        messages=tuple(messages),
    )


def _field(
    fields: Fields,
    line: Mapping[str, Any],
    name: str,
    where: str,
    read: Any,  # noqa: ANN401 - a Fields reader
) -> Any:  # noqa: ANN401 - what the reader returns
    try:
        return read(line.get(name), name)
    except FormatError as exc:
        reason = f"{where}: {exc.reason}"
        raise fields.error(name, reason) from None


def dump(records: ConversationRecord | Iterable[ConversationRecord], target: Source) -> None:
    """Write records as JSONL, one message per line, each conversation's lines together.

    Messages are written parents first; the active tip's line has
    ``"active": true``. States and verdicts are written when the records
    have them.

    Args:
        records: One record or several (an iterable is consumed one record at
            a time).
        target: A path or an open file.

    Raises:
        FormatError: For something that is not a record, or a file that
            cannot be written.
    """
    if isinstance(records, ConversationRecord):
        records = [records]
    with open_write(target) as stream:
        for record in records:
            _write(stream, record)


def _write(stream: IO[str], record: ConversationRecord) -> None:
    if not isinstance(record, ConversationRecord):
        msg = f"dump() writes ConversationRecords, not {type(record).__name__}"
        raise FormatError(msg)
    chunks = []
    for message in record.ordered():
        line: dict[str, Any] = {"conversation_id": record.id}
        line.update(message.model_dump(mode="json", exclude_none=True))
        line.setdefault("parent_id", None)
        if not line.get("metadata"):
            line.pop("metadata", None)
        if message.id == record.active_tip_id:
            line["active"] = True
        chunks.append(json.dumps(line, ensure_ascii=False) + "\n")
    try:
        stream.write("".join(chunks))
    except OSError as exc:
        msg = f"cannot write: {exc.strerror}"
        raise FormatError(msg, path=name_of(stream)) from exc


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
