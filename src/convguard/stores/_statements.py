"""The SQL both stores run, written once with ``?`` placeholders and ``{table}`` names.

:func:`prepare_statements` and :func:`prepare_listing` fill in a store's table names and its
driver's placeholder (``?`` for sqlite3, ``%s`` for psycopg).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["prepare_listing", "prepare_statements"]

_MESSAGE_COLUMNS: Final = (
    "id, parent_id, role, content, created_at, state, verdict, metadata, depth"
)

# Table names come from the store, never from input; values are parameters.
_STATEMENTS: Final[Mapping[str, str]] = {
    "head": (
        "SELECT c.version, c.ended_branches, c.at_risk, m.id, m.parent_id, m.role, m.content,"
        " m.created_at, m.state, m.verdict, m.metadata, m.depth"
        " FROM {conversations} c LEFT JOIN {messages} m"
        " ON m.conversation_id = c.id AND m.id = c.tip_id WHERE c.id = ?"
    ),
    "info": (
        "SELECT created_at, metadata, version, tip_id, ended_branches, message_count,"
        " at_risk, updated_us, title FROM {conversations} WHERE id = ?"
    ),
    "version": "SELECT version FROM {conversations} WHERE id = ?",
    "get": ("SELECT {columns} FROM {messages} WHERE conversation_id = ? AND id = ?"),
    "parent": ("SELECT depth, ended FROM {messages} WHERE conversation_id = ? AND id = ?"),
    "exists": "SELECT 1 FROM {messages} WHERE conversation_id = ? AND id = ?",
    "ancestors": (
        "WITH RECURSIVE chain(n, id, parent_id, role, content, created_at, state,"
        " verdict, metadata, depth) AS ("
        " SELECT 1, {columns} FROM {messages}"
        " WHERE conversation_id = ? AND id = ?"
        " UNION ALL"
        " SELECT chain.n + 1, m.id, m.parent_id, m.role, m.content, m.created_at,"
        " m.state, m.verdict, m.metadata, m.depth"
        " FROM chain JOIN {messages} m"
        " ON m.conversation_id = ? AND m.id = chain.parent_id"
        " WHERE chain.n < ?)"
        " SELECT {columns} FROM chain ORDER BY n"
    ),
    "messages": ("SELECT {columns} FROM {messages} WHERE conversation_id = ? ORDER BY seq"),
    "insert_conversation": (
        "INSERT INTO {conversations} (id, created_at, metadata, version, tip_id,"
        " ended_branches, message_count, at_risk, updated_us, title)"
        " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)"
    ),
    "insert_tag": "INSERT INTO {tags} (key, value, conversation_id) VALUES (?, ?, ?)",
    "insert_message": (
        "INSERT INTO {messages} (conversation_id, id, parent_id, role, content,"
        " created_at, state, verdict, metadata, depth, ended)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    # The compare-and-set: it lands only on the version the writer read, and in
    # PostgreSQL it also takes the row lock that serializes writers. The risk
    # record is written in the same statement, so no racing writer can miss it.
    "bump": (
        "UPDATE {conversations} SET version = version + 1,"
        " message_count = message_count + 1, ended_branches = ended_branches + ?,"
        " at_risk = (at_risk OR ?), tip_id = COALESCE(?, tip_id), updated_us = ?,"
        " title = COALESCE(title, ?) WHERE id = ? AND version = ?"
    ),
    "switch": ("UPDATE {conversations} SET version = version + 1, tip_id = ? WHERE id = ?"),
    "insert_feedback": (
        "INSERT INTO {feedback} (id, conversation_id, kind, comment, message_id,"
        " created_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    "feedback_all": (
        "SELECT id, conversation_id, kind, comment, message_id, created_at, metadata"
        " FROM {feedback} ORDER BY seq"
    ),
    "feedback_one": (
        "SELECT id, conversation_id, kind, comment, message_id, created_at, metadata"
        " FROM {feedback} WHERE conversation_id = ? ORDER BY seq"
    ),
    "conversations": "SELECT id FROM {conversations} ORDER BY seq",
    # Erasure: the row lock first (PostgreSQL orders it after a racing write,
    # which then finds nothing), the children, then the conversation row.
    "lock_for_delete": "UPDATE {conversations} SET version = version + 1 WHERE id = ?",
    "lock_idle": (
        "UPDATE {conversations} SET version = version + 1 WHERE id = ? AND updated_us < ?"
    ),
    "idle": (
        "SELECT id FROM {conversations} WHERE updated_us < ? ORDER BY updated_us, seq LIMIT ?"
    ),
    "delete_feedback": "DELETE FROM {feedback} WHERE conversation_id = ?",
    "delete_tags": "DELETE FROM {tags} WHERE conversation_id = ?",
    "delete_messages": "DELETE FROM {messages} WHERE conversation_id = ?",
    "delete_conversation": "DELETE FROM {conversations} WHERE id = ?",
}

# A listing: filters are added per call (see SQLStore.list_conversations).
_LIST_SELECT: Final = (
    "SELECT c.id, c.created_at, c.metadata, c.version, c.tip_id, c.ended_branches,"
    " c.message_count, c.at_risk, c.updated_us, c.title, c.seq"
)
_LIST_BY_TAG: Final = "c.id IN (SELECT conversation_id FROM {tags} WHERE key = ? AND value = ?)"
# A row value, so both databases seek the activity index to the cursor.
_LIST_AFTER: Final = "(c.updated_us, c.seq) < (?, ?)"
_LIST_ORDER: Final = " ORDER BY c.updated_us DESC, c.seq DESC LIMIT ?"


def prepare_statements(tables: Mapping[str, str], placeholder: str) -> dict[str, str]:
    """Return every statement by name, for these tables and this placeholder."""
    return {
        name: sql.format(columns=_MESSAGE_COLUMNS, **tables).replace("?", placeholder)
        for name, sql in _STATEMENTS.items()
    }


def prepare_listing(tables: Mapping[str, str], placeholder: str) -> tuple[str, ...]:
    """Return the pieces of a listing: select, select driven by the first tag, tag, after, order.

    The first tag drives the query (the few rows of one user, sorted); with no
    tag it walks the activity index backwards.
    """
    return tuple(
        part.format(**tables).replace("?", placeholder)
        for part in (
            _LIST_SELECT + " FROM {conversations} c",
            _LIST_SELECT + " FROM {tags} t CROSS JOIN {conversations} c"
            " WHERE c.id = t.conversation_id AND t.key = ? AND t.value = ?",
            _LIST_BY_TAG,
            _LIST_AFTER,
            _LIST_ORDER,
        )
    )
