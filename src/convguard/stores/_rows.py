"""Rows to values and back, for the database stores: ids, infos, messages.

Plain functions with no I/O, shared by the SQL body (``_sql_async.py`` and
the ``_sql.py`` written from it) and the PostgreSQL stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .._errors import InvalidOperationError, UnknownConversationError, UnknownMessageError
from .._tree import Message, check_id
from ._base import ConversationInfo
from ._codec import (
    dump_metadata,
    dump_state,
    dump_time,
    dump_verdict,
    load_message,
    load_metadata,
    load_time,
)
from ._listing import from_epoch_us

__all__ = [
    "NO_LIMIT",
    "Migration",
    "info_of",
    "lookup_conversation_id",
    "lookup_message_id",
    "message_of",
    "message_params",
]

Migration = tuple[int, tuple[str, ...]]
"""One step of a schema: the version it leads to and its DDL."""

# A walk without a limit still needs a bound the database accepts.
NO_LIMIT: Final = 2**31 - 1


def lookup_conversation_id(value: object) -> str:
    """Accept an id to look up; one no database could hold names no conversation."""
    try:
        return check_id(value, "conversation id")
    except InvalidOperationError:
        if not isinstance(value, str):
            raise
        raise UnknownConversationError(value) from None


def lookup_message_id(conversation: str, value: object) -> str:
    """Accept a message id to look up, as :func:`lookup_conversation_id` does."""
    try:
        return check_id(value)
    except InvalidOperationError:
        if not isinstance(value, str):
            raise
        raise UnknownMessageError(conversation, value) from None


def info_of(conversation: str, row: Sequence[Any]) -> ConversationInfo:
    """Return the bookkeeping a conversation row holds."""
    created_at, metadata, version, tip_id, ended, count, at_risk, updated_us, title = row[:9]
    meta = load_metadata(metadata)
    given = meta.get("title")
    return ConversationInfo(
        id=conversation,
        created_at=load_time(created_at),
        metadata=meta,
        version=int(version),
        tip_id=tip_id,
        ended_branches=int(ended),
        message_count=int(count),
        at_risk=bool(at_risk),
        updated_at=from_epoch_us(int(updated_us)),
        title=given if isinstance(given, str) else title,
    )


def message_of(row: Sequence[Any]) -> Message:
    """Return the message a row of the message columns holds."""
    return load_message(*row)


def message_params(conversation: str, message: Message) -> tuple[object, ...]:
    """Return a message's row, in the column order of ``insert_message``."""
    return (
        conversation,
        message.id,
        message.parent_id,
        message.role.value,
        message.content,
        dump_time(message.created_at),
        dump_state(message.state),
        dump_verdict(message.verdict, message),
        dump_metadata(message.metadata),
        message.depth,
        message.ended,
    )
