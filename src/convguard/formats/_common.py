"""What every format shares: opening sources, reading JSON, checking trees, skipping.

A *source* is a path (``str`` or :class:`os.PathLike`) or an open file, text
or binary. Errors are :class:`~convguard.FormatError` errors naming the file,
the conversation and the field; :class:`Loaded` carries what
``errors="skip"`` left out.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, TypeAlias

from .._errors import FormatError
from .._records import ConversationRecord

__all__ = [
    "Errors",
    "Loaded",
    "Source",
    "Sources",
    "check_errors",
    "expand",
    "load_json_files",
    "name_of",
    "open_text",
    "read_json",
]

Source: TypeAlias = "str | os.PathLike[str] | IO[str] | IO[bytes]"
"""A path or an open file (text or binary)."""

Sources: TypeAlias = "Source | Sequence[Source]"
"""One source, or several read one after the other (a directory counts as its files)."""

Errors: TypeAlias = Literal["raise", "skip"]

_SHOW = 40  # longest value quoted in an error message


class Loaded(list[ConversationRecord]):
    """The conversations a ``load`` read, and what it skipped.

    A plain list of :class:`~convguard.ConversationRecord`; with
    ``errors="skip"``, :attr:`skipped` holds one
    :class:`~convguard.FormatError` per conversation (or unreadable line)
    left out, each naming the file, the conversation and the field.
    """

    def __init__(
        self,
        records: Iterable[ConversationRecord] = (),
        skipped: Iterable[FormatError] = (),
    ) -> None:
        """Hold *records* and the errors of what was *skipped*."""
        super().__init__(records)
        self.skipped: list[FormatError] = list(skipped)

    def extend_from(self, other: Loaded) -> None:
        """Append another result's records and skipped errors."""
        self.extend(other)
        self.skipped.extend(other.skipped)

    def __repr__(self) -> str:
        """Show the counts."""
        return f"<Loaded {len(self)} conversations, {len(self.skipped)} skipped>"


def check_errors(errors: object) -> Errors:
    """Return *errors* when it is ``"raise"`` or ``"skip"``.

    Raises:
        FormatError: For anything else.
    """
    if errors not in ("raise", "skip"):
        msg = f'errors must be "raise" or "skip", not {errors!r}'
        raise FormatError(msg)
    return errors


def name_of(source: object) -> str | None:
    """Return the file name of a source, if it has one."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def _is_path(source: object) -> bool:
    return isinstance(source, (str, os.PathLike))


def expand(sources: Sources, pattern: str = "conversations*.json") -> list[Source]:
    """Return the files of *sources*: directories become their matching files.

    A directory holding files that match *pattern* (the ChatGPT and Claude
    exports' ``conversations.json`` or split ``conversations-000.json`` …)
    gives those, in name order; otherwise every ``*.json`` and ``*.jsonl``.

    Raises:
        FormatError: For a path that does not exist or an empty directory.
    """
    single = _is_path(sources) or not isinstance(sources, Sequence)
    items: list[Source] = [sources] if single else list(sources)  # type: ignore[list-item, arg-type]
    files: list[Source] = []
    for item in items:
        if not _is_path(item):
            if not hasattr(item, "read"):
                msg = f"expected a path or an open file, not {type(item).__name__}"
                raise FormatError(msg)
            files.append(item)
            continue
        path = Path(item)  # type: ignore[arg-type]
        if path.is_dir():
            found = sorted(path.glob(pattern)) or sorted(
                p for p in path.iterdir() if p.suffix in {".json", ".jsonl"}
            )
            if not found:
                msg = f"no {pattern} (nor any .json or .jsonl file) in the directory"
                raise FormatError(msg, path=str(path))
            files.extend(found)
        elif not path.exists():
            msg = "no such file"
            raise FormatError(msg, path=str(path))
        else:
            files.append(path)
    return files


@contextmanager
def open_text(source: Source) -> Iterator[IO[str]]:
    """Yield *source* as a text stream (UTF-8; a BOM is skipped).

    An open file is not closed; a path is opened and closed here.

    Raises:
        FormatError: When the file cannot be opened.
    """
    if _is_path(source):
        try:
            handle = Path(source).open(encoding="utf-8-sig")  # type: ignore[arg-type]  # noqa: SIM115 - closed by the with below, after the except
        except OSError as exc:
            msg = f"cannot open: {exc.strerror}"
            raise FormatError(msg, path=name_of(source)) from exc
        with handle:
            yield handle
        return
    stream: IO[Any] = source  # type: ignore[assignment]
    if isinstance(stream, io.TextIOBase) or isinstance(stream.read(0), str):
        yield stream
        return
    wrapper = io.TextIOWrapper(stream, encoding="utf-8-sig")
    try:
        yield wrapper
    finally:
        wrapper.detach()  # leave the caller's file open


def read_json(source: Source) -> Any:  # noqa: ANN401 - parsed JSON is any shape
    """Parse the whole of *source* as one JSON document.

    Raises:
        FormatError: For unreadable files and malformed JSON (with the line).
    """
    with open_text(source) as stream:
        try:
            text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read: {exc}"
            raise FormatError(msg, path=name_of(source)) from exc
    return parse_json(text, name_of(source))


def parse_json(text: str, path: str | None, line: int | None = None) -> Any:  # noqa: ANN401 - parsed JSON
    """Parse *text*; on error name *path* and the line.

    Raises:
        FormatError: For malformed JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        msg = f"line {where}: not valid JSON: {exc.msg}"
        raise FormatError(msg, path=path) from exc
    except RecursionError as exc:
        msg = "JSON nested too deeply"
        raise FormatError(msg, path=path) from exc


def with_path(exc: FormatError, path: str | None) -> FormatError:
    """Return *exc* naming *path* (a new error when it named none)."""
    if exc.path is not None or path is None:
        return exc
    renamed = FormatError(
        exc.reason, path=path, conversation_id=exc.conversation_id, field=exc.field
    )
    renamed.__cause__ = exc.__cause__
    return renamed


class Reader:
    """Collect conversations of one file, raising or skipping the bad ones.

    Args:
        path: The file's name, for error messages.
        errors: ``"raise"`` stops at the first bad conversation; ``"skip"``
            records it in ``result.skipped`` and goes on.
    """

    def __init__(self, path: str | None, errors: Errors) -> None:
        """Start an empty result."""
        self.path = path
        self.errors = errors
        self.result = Loaded()

    def fail(self, exc: FormatError) -> None:
        """Raise *exc* (naming the file) or note it as skipped."""
        exc = with_path(exc, self.path)
        if self.errors == "raise":
            raise exc
        self.result.skipped.append(exc)

    def add(self, build: Callable[..., ConversationRecord], *args: Any) -> None:  # noqa: ANN401 - passed through
        """Append the record ``build(*args)`` returns, or handle its ``FormatError``."""
        try:
            record = build(*args)
        except FormatError as exc:
            self.fail(exc)
        else:
            self.result.append(record)


# -- checking parsed values ---------------------------------------------------


class Fields:
    """Read typed fields of one conversation, with errors that name them.

    Args:
        conversation_id: The conversation being read (``None`` until known).
    """

    def __init__(self, conversation_id: str | None) -> None:
        """Remember the conversation for error messages."""
        self.conversation_id = conversation_id

    def error(self, field: str, reason: str) -> FormatError:
        """Return a ``FormatError`` for *field* of this conversation."""
        return FormatError(reason, conversation_id=self.conversation_id, field=field)

    def fail(self, field: str, reason: str) -> NoReturn:
        """Raise a ``FormatError`` for *field* of this conversation."""
        raise self.error(field, reason)

    def mapping(self, value: object, field: str) -> Mapping[str, Any]:
        """Return *value* when it is a JSON object."""
        if type(value) is dict:  # parsed JSON: skip the slower ABC check
            return value
        if not isinstance(value, Mapping):
            raise self.error(field, f"expected an object, not {_kind(value)}")
        return value

    def list(self, value: object, field: str, *, optional: bool = False) -> list[Any]:
        """Return *value* when it is a JSON array (``[]`` for null when *optional*)."""
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise self.error(field, f"expected an array, not {_kind(value)}")
        return value

    def string(self, value: object, field: str) -> str:
        """Return *value* when it is a non-empty string."""
        if not isinstance(value, str) or not value:
            raise self.error(field, f"expected a non-empty string, not {_kind(value)}")
        return value

    def text(self, value: object, field: str) -> str:
        """Return *value* when it is a string (``""`` for null)."""
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(field, f"expected a string, not {_kind(value)}")
        return value

    def optional_string(self, value: object, field: str) -> str | None:
        """Return *value* when it is a non-empty string, ``None`` for null or empty."""
        if value is None or value == "":
            return None
        return self.string(value, field)

    def time(self, value: object, field: str) -> datetime | None:
        """Return a timestamp: seconds since the epoch or an ISO 8601 string; null is ``None``.

        A time without a timezone is taken as UTC.
        """
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise TypeError  # noqa: TRY301 - one handler for every bad shape
            if isinstance(value, (int, float)):
                return datetime.fromtimestamp(value, tz=UTC)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value)
                return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
            raise TypeError  # noqa: TRY301 - one handler for every bad shape
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            msg = f"expected a time (epoch seconds or ISO 8601), not {_show(value)}"
            raise self.error(field, msg) from exc


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name if kind is not str or value else "an empty string"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def check_tree(
    nodes: Sequence[tuple[str, str | None, str]],
    fields: Fields,
    *,
    id_field: str = "id",
    parent_field: str = "parent",
) -> None:
    """Check ids are unique, parents present and there is no cycle.

    Args:
        nodes: ``(id, parent_id, field)`` of each message; *field* is the
            path of the message in the file, for errors.
        fields: Names the conversation in errors.
        id_field: The name of the id field in the format, for errors.
        parent_field: The name of the parent field in the format, for errors.

    Raises:
        FormatError: Naming the first bad message's id or parent field.
    """
    where: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    for node_id, parent_id, field in nodes:
        if node_id in where:
            fields.fail(
                f"{field}.{id_field}",
                f"message id {node_id!r} appears twice (first at {where[node_id]})",
            )
        where[node_id] = field
        parents[node_id] = parent_id
    for node_id, parent_id, field in nodes:
        if parent_id is not None and parent_id not in parents:
            fields.fail(
                f"{field}.{parent_field}", f"parent {parent_id!r} of message {node_id!r} is missing"
            )
    rooted: set[str] = set()
    for start, _, field in nodes:
        trail: list[str] = []
        seen: set[str] = set()
        node: str | None = start
        while node is not None and node not in rooted:
            if node in seen:
                fields.fail(
                    f"{field}.{parent_field}",
                    f"message {start!r} is in a cycle of parents: {trail[-5:]}",
                )
            seen.add(node)
            trail.append(node)
            node = parents[node]
        rooted.update(trail)


def build_record(fields: Fields, **data: Any) -> ConversationRecord:  # noqa: ANN401 - record fields
    """Return a validated record; its own errors keep the conversation id."""
    try:
        return ConversationRecord(**data)
    except FormatError as exc:
        raise FormatError(
            exc.reason,
            conversation_id=exc.conversation_id or fields.conversation_id,
            field=exc.field or "messages",
        ) from exc


def dump_json(data: object, target: Source, *, indent: int | None = 2) -> None:
    """Write *data* as JSON to a path or an open text or binary file.

    Raises:
        FormatError: When the file cannot be written.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent) + "\n"
    write_text(text, target)


def write_text(text: str, target: Source) -> None:
    """Write *text* to a path or an open text or binary file.

    Raises:
        FormatError: When the file cannot be written.
    """
    with open_write(target) as stream:
        try:
            stream.write(text)
        except OSError as exc:
            msg = f"cannot write: {exc.strerror}"
            raise FormatError(msg, path=name_of(target)) from exc


@contextmanager
def open_write(target: Source) -> Iterator[IO[str]]:
    """Yield a text stream writing to a path (created or truncated) or an open file.

    Raises:
        FormatError: When the file cannot be opened.
    """
    if _is_path(target):
        try:
            handle = Path(target).open("w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115 - closed by the with below, after the except
        except OSError as exc:
            msg = f"cannot write: {exc.strerror}"
            raise FormatError(msg, path=name_of(target)) from exc
        with handle:
            yield handle
        return
    stream: IO[Any] = target  # type: ignore[assignment]
    if isinstance(stream, io.TextIOBase):
        yield stream
        return
    if not isinstance(stream, (io.RawIOBase, io.BufferedIOBase)):
        msg = f"expected a path or an open file, not {type(target).__name__}"
        raise FormatError(msg)
    wrapper = io.TextIOWrapper(stream, encoding="utf-8")
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()  # leave the caller's file open


def records_of(
    records: ConversationRecord | Iterable[ConversationRecord],
) -> list[ConversationRecord]:
    """Return *records* as a list (one record counts as a list of one).

    Raises:
        FormatError: For anything that is not a record.
    """
    items = [records] if isinstance(records, ConversationRecord) else list(records)
    for item in items:
        if not isinstance(item, ConversationRecord):
            msg = f"dump() writes ConversationRecords, not {type(item).__name__}"
            raise FormatError(msg)
    return items


def active_path(record: ConversationRecord) -> list[Any]:
    """Return the messages from the root to the active tip (or the last leaf).

    Returns:
        The message records of the branch, root first.
    """
    by_id = {m.id: m for m in record.messages}
    tip = record.active_tip_id
    if tip is None:
        ordered = record.ordered()
        tip = ordered[-1].id if ordered else None
    path = []
    while tip is not None:
        message = by_id[tip]
        path.append(message)
        tip = message.parent_id
    path.reverse()
    return path


def load_json_files(
    source: Sources,
    errors: object,
    from_data: Callable[..., Loaded],
    pattern: str = "conversations*.json",
) -> Loaded:
    """Read every JSON file of *source* with *from_data*, one ``Loaded`` for all.

    The shared body of the JSON formats' ``load``.

    Raises:
        FormatError: For an unreadable file or a malformed conversation.
    """
    checked = check_errors(errors)
    result = Loaded()
    for file in expand(source, pattern):
        result.extend_from(from_data(read_json(file), path=name_of(file), errors=checked))
    return result
