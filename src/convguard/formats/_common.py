"""What every format shares once a file is read: checking fields and trees, skipping.

Errors are :class:`~convguard.FormatError` errors naming the file, the
conversation and the field; :class:`Loaded` carries what ``errors="skip"``
left out. Opening sources is :mod:`._sources`; the path of an API message
list is :mod:`._api_path`.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias

from .._errors import FormatError
from .._records import ConversationRecord
from ._sources import Sources, expand, name_of, read_json

__all__ = [
    "Errors",
    "FormatWarning",
    "Loaded",
    "check_errors",
    "check_tool_calls",
    "load_json_files",
    "plain",
]

Errors: TypeAlias = Literal["raise", "skip"]

_SHOW = 40  # longest value quoted in an error message


class FormatWarning(UserWarning):
    """A file was read with a repair worth knowing about (a made-up id, say)."""


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def warn(message: str) -> None:
    """Warn with a :class:`FormatWarning` that points at the caller's code outside convguard."""
    level = 2
    frame = inspect.currentframe()
    frame = frame.f_back if frame is not None else None
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, FormatWarning, stacklevel=level)


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


# -- SDK objects ----------------------------------------------------------------


def plain(value: object) -> Any:  # noqa: ANN401 - JSON data of any shape
    """Return *value* as plain JSON data: SDK objects become what ``model_dump()`` gives.

    Anything with a ``model_dump`` method (the ``openai`` and ``anthropic``
    SDKs' pydantic objects: ``ChatCompletionMessage``, its tool calls,
    ``Message``, ``ToolUseBlock`` …) is dumped, ``None`` fields left out;
    lists, tuples and mappings are walked. Nothing of either SDK is imported.

    Raises:
        FormatError: For data nested too deeply, or a ``model_dump`` that fails.
    """
    try:
        return _plain(value)
    except RecursionError:
        msg = "message data nested too deeply"
        raise FormatError(msg) from None


def _plain(value: object) -> Any:  # noqa: ANN401 - JSON data of any shape
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            try:
                dumped = dump(mode="json", exclude_none=True)
            except TypeError:  # a model_dump() that takes no options
                dumped = dump()
        except Exception as exc:  # an object of someone else's: any failure is a format error
            msg = f"{type(value).__name__}.model_dump() failed: {exc}"
            raise FormatError(msg) from exc
        if isinstance(dumped, Mapping):
            return _plain(dumped)
        msg = f"{type(value).__name__}.model_dump() returned {_kind(dumped)}, not an object"
        raise FormatError(msg)
    return value


# -- tool calls -------------------------------------------------------------------


def check_tool_calls(
    metadata: Mapping[str, Any] | None, *, field: str = "metadata"
) -> list[dict[str, str]] | None:
    """Check a message's ``tool_calls`` metadata; return the calls in the flat shape.

    Two shapes are accepted for each call: the flat one the format modules
    write, ``{"id", "name", "arguments"}``, and the OpenAI API's own,
    ``{"id", "type": "function", "function": {"name", "arguments"}}``.
    ``arguments`` is a string (the JSON the model wrote; missing reads as
    ``"{}"``). ``tool_call_id``, when present, must be a non-empty string.

    Args:
        metadata: A message's metadata (``None`` has no calls).
        field: Where the metadata sits, for error messages.

    Returns:
        The calls as ``{"id", "name", "arguments"}`` dicts, or ``None`` when
        the metadata holds no ``tool_calls``.

    Raises:
        FormatError: Naming the bad field, for any other shape.
    """
    if metadata is None:
        return None
    if "tool_call_id" in metadata:
        answer = metadata["tool_call_id"]
        if not isinstance(answer, str) or not answer:
            msg = f"tool_call_id must be a non-empty string, not {_kind(answer)}"
            raise FormatError(msg, field=f"{field}.tool_call_id")
    calls = metadata.get("tool_calls")
    if calls is None:
        return None
    if not isinstance(calls, (list, tuple)):
        msg = f"tool_calls must be an array of calls, not {_kind(calls)}"
        raise FormatError(msg, field=f"{field}.tool_calls")
    return [_flat_call(call, f"{field}.tool_calls[{i}]") for i, call in enumerate(calls)]


def _flat_call(call: object, field: str) -> dict[str, str]:
    if not isinstance(call, Mapping):
        msg = f"a tool call must be an object, not {_kind(call)}"
        raise FormatError(msg, field=field)
    where = field
    body: Mapping[str, Any] = call
    if "function" in call:  # the OpenAI API shape
        if call.get("type", "function") != "function":
            msg = f"type must be 'function', not {_show(call.get('type'))}"
            raise FormatError(msg, field=f"{field}.type")
        function = call["function"]
        if not isinstance(function, Mapping):
            msg = f"function must be an object, not {_kind(function)}"
            raise FormatError(msg, field=f"{field}.function")
        body, where = function, f"{field}.function"
    call_id = _call_string(call.get("id"), f"{field}.id")
    name = _call_string(body.get("name"), f"{where}.name")
    arguments = body.get("arguments", "{}")
    if not isinstance(arguments, str):
        msg = f"arguments must be a JSON string, not {_kind(arguments)}"
        raise FormatError(msg, field=f"{where}.arguments")
    return {"id": call_id, "name": name, "arguments": arguments}


def _call_string(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        key = field.rsplit(".", 1)[-1]
        msg = f"{key} must be a non-empty string, not {_kind(value)}"
        raise FormatError(msg, field=field)
    return value


_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(name: str) -> str:
    """Return *name* as the APIs take a tool name: letters, digits, ``_``, ``-``; 64 at most."""
    return _NAME_BAD.sub("_", name)[:64] or "tool"


def stable_id(prefix: str, *parts: str) -> str:
    """Return ``PREFIX_`` and 24 hex digits derived from *parts*: the same parts, the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}_{digest[:24]}"


# -- text a turn can hold ---------------------------------------------------------


def visible(text: str) -> bool:
    """Whether *text* holds anything but white space and invisible format characters."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def clean_text(text: str) -> tuple[str, int]:
    """Replace what no store accepts (NUL, lone surrogates) with U+FFFD.

    Returns:
        The text and how many characters were replaced.
    """
    return _UNSTORABLE.subn("\ufffd", text)


def folded_entry(message: Mapping[str, Any]) -> dict[str, Any]:
    """Return a message's fields as kept in a neighbour's metadata (JSON only)."""
    created = message.get("created_at")
    return {
        "id": message["id"],
        "role": message["role"],
        "content": message["content"],
        "created_at": None if created is None else created.isoformat(),
        "metadata": message.get("metadata") or {},
    }


def fold(
    messages: Sequence[dict[str, Any]], out: set[str]
) -> tuple[list[dict[str, Any]], dict[str, str | None], list[dict[str, Any]]]:
    """Take the messages whose ids are in *out* out of the tree, into their neighbours' metadata.

    Each kept message's ``metadata["hidden_before"]`` lists the left-out
    messages between it and its nearest kept ancestor (root first), and it
    hangs from that ancestor. Left-out messages with no kept message below
    them go into their nearest kept ancestor's ``metadata["hidden_after"]``,
    or, with no kept ancestor either, into the list returned last.

    Args:
        messages: ``MessageRecord`` fields as dicts; ``created_at`` a
            ``datetime`` or ``None``.
        out: The ids to take out.

    Returns:
        The kept messages (input order), a map from every id to the kept
        message standing for it (itself, or its nearest kept ancestor, or
        ``None``), and the left-out messages that had no kept ancestor.
    """
    by_id = {m["id"]: m for m in messages}
    kept: list[dict[str, Any]] = []
    stand: dict[str, str | None] = {}
    covered: set[str] = set()
    for message in messages:
        if message["id"] in out:
            stand[message["id"]] = _hidden_chain(message["id"], by_id, out)[1]
            continue
        stand[message["id"]] = message["id"]
        chain, parent = _hidden_chain(message["parent_id"], by_id, out)
        if chain:
            covered.update(m["id"] for m in chain)
            hidden = [folded_entry(m) for m in reversed(chain)]
            metadata = {**message["metadata"], "hidden_before": hidden}
            message = {**message, "parent_id": parent, "metadata": metadata}  # noqa: PLW2901 - the folded copy
        kept.append(message)
    kept_by_id = {m["id"]: m for m in kept}
    orphans: list[dict[str, Any]] = []
    for message in messages:
        if message["id"] not in out or message["id"] in covered:
            continue
        anchor = stand[message["id"]]
        if anchor is None:
            orphans.append(folded_entry(message))
            continue
        target = kept_by_id[anchor]
        after = [*target["metadata"].get("hidden_after", ()), folded_entry(message)]
        target["metadata"] = {**target["metadata"], "hidden_after": after}
    return kept, stand, orphans


def _hidden_chain(
    start: str | None, by_id: Mapping[str, dict[str, Any]], out: set[str]
) -> tuple[list[dict[str, Any]], str | None]:
    """Return the left-out messages from *start* up (nearest first) and the first kept one."""
    chain: list[dict[str, Any]] = []
    while start is not None and start in out:
        chain.append(by_id[start])
        start = by_id[start]["parent_id"]
    return chain, start


_OLDEST = datetime.min.replace(tzinfo=UTC)


def newest_leaf(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """Return the id of the leaf created last (the last in order among equal or missing times)."""
    parents = {m["parent_id"] for m in messages}
    leaves = [
        (m.get("created_at") or _OLDEST, index, m["id"])
        for index, m in enumerate(messages)
        if m["id"] not in parents
    ]
    return max(leaves)[2] if leaves else None


# -- writing API message lists ----------------------------------------------------
