"""What every store shares to list, page and expire conversations.

Last activity is kept as whole microseconds since the Unix epoch (UTC), so
databases order it as a number whatever offset the clock gave. Metadata is
filtered through *tags*: one ``(key, value)`` row per top-level entry whose
value is a string, an integer, a boolean or null, written once when the
conversation is created (metadata never changes afterwards).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .._errors import InvalidOperationError
from .._tree import Message, Role

__all__ = [
    "TITLE_CHARS",
    "check_batch",
    "check_cutoff",
    "check_limit",
    "dump_cursor",
    "epoch_us",
    "filter_tags",
    "from_epoch_us",
    "load_cursor",
    "metadata_tags",
    "title_of",
]

TITLE_CHARS: Final = 80
"""A stored title is at most this many characters of the first user message."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_CURSOR: Final = re.compile(r"(-?[0-9]{1,20})\.([0-9]{1,20})")


def epoch_us(value: datetime) -> int:
    """Return *value* as microseconds since the epoch (a naive time is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


def from_epoch_us(value: int) -> datetime:
    """Return the UTC time *value* microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=int(value))


def title_of(messages: Sequence[Message]) -> str | None:
    """Return the stored title: the start of the first user message, if any."""
    for message in messages:
        if message.role is Role.USER:
            return message.content[:TITLE_CHARS]
    return None


def _tag(value: object) -> str | None:
    # bool before int: True is an int to Python, not to JSON.
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, str):
        return f"s{value}"
    return None


def metadata_tags(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the ``(key, value)`` tags a conversation's metadata is found by."""
    out = []
    for key, value in metadata.items():
        tag = _tag(value)
        if tag is not None and isinstance(key, str):
            out.append((key, tag))
    return out


def filter_tags(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Return the tags a listing filter asks for.

    Raises:
        InvalidOperationError: For a filter that is not a mapping of string
            keys to strings, integers, booleans or ``None``.
    """
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        msg = f"metadata filter must be a mapping, not {metadata!r}"
        raise InvalidOperationError(msg)
    out = []
    for key, value in metadata.items():
        tag = _tag(value)
        if tag is None or not isinstance(key, str):
            msg = (
                "metadata filter entries must map a str key to a str, int, bool or"
                f" None value, not {key!r}: {value!r}"
            )
            raise InvalidOperationError(msg)
        out.append((key, tag))
    return out


def check_limit(limit: int | None, name: str = "limit") -> int | None:
    """Return a page size: ``None`` (everything) or a positive int.

    Raises:
        InvalidOperationError: For anything else.
    """
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        msg = f"{name} must be a positive int or None, not {limit!r}"
        raise InvalidOperationError(msg)
    return limit


def check_batch(limit: int) -> int:
    """Return a purge batch size: a positive int.

    Raises:
        InvalidOperationError: For anything else.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        msg = f"batch_size must be a positive int, not {limit!r}"
        raise InvalidOperationError(msg)
    return limit


def check_cutoff(older_than: datetime) -> int:
    """Return a purge cutoff as epoch microseconds.

    Raises:
        InvalidOperationError: When *older_than* is not a datetime.
    """
    if not isinstance(older_than, datetime):
        msg = f"older_than must be a datetime, not {older_than!r}"
        raise InvalidOperationError(msg)
    return epoch_us(older_than)


def dump_cursor(updated_us: int, seq: int) -> str:
    """Return the opaque cursor that resumes a listing after this row."""
    return f"{updated_us}.{seq}"


def load_cursor(cursor: str | None) -> tuple[int, int] | None:
    """Parse a cursor from :func:`dump_cursor`.

    Raises:
        InvalidOperationError: For text no listing handed out.
    """
    if cursor is None:
        return None
    match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is None:
        msg = f"after must be a cursor from a previous page's next, not {cursor!r}"
        raise InvalidOperationError(msg)
    return int(match[1]), int(match[2])
