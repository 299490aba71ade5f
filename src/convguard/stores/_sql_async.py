"""The logic SQLite and PostgreSQL stores share: checks, migrations, the walks.

This is the source of ``_sql.py`` (``SQLStore``, the body of ``SQLiteStore``
and ``PostgresStore``): ``scripts/unasync.py`` writes it from this file, whose
``AsyncSQLStore`` is the body of ``AsyncPostgresStore``. Edit here, then run
``python scripts/unasync.py``; ``make lint`` fails while the two differ.

A backend supplies two context managers, one for a read and one for a write
transaction, each yielding a connection whose ``execute(sql, params)``
returns a cursor (``sqlite3`` and ``psycopg`` both fit), and translates its
driver's exceptions into :class:`~convguard.StoreError` subclasses there.
Everything else (compare-and-set, the ended-parent check, bounded history
walks) is written once, here, over the statements of :mod:`._statements`.

A turn touches a bounded number of rows whatever the conversation's size:
:meth:`head` is one indexed join, :meth:`ancestors` walks at most ``limit``
rows with a recursive query, and :meth:`append` updates one conversation row
and inserts one message row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from .._errors import (
    ConversationEndedError,
    InvalidOperationError,
    StoreConflictError,
    StoreError,
    UnknownConversationError,
    UnknownMessageError,
)
from .._tree import EMPTY_METADATA, ConversationTree, Message, check_id
from ._base import ConversationInfo, ConversationPage, Feedback, Head
from ._codec import dump_metadata, dump_time, load_metadata, load_time
from ._listing import (
    check_batch,
    check_cutoff,
    check_limit,
    dump_cursor,
    epoch_us,
    filter_tags,
    load_cursor,
    metadata_tags,
    title_of,
)
from ._rows import (
    NO_LIMIT,
    Migration,
    info_of,
    lookup_conversation_id,
    lookup_message_id,
    message_of,
    message_params,
)
from ._statements import prepare_listing, prepare_statements

__all__ = ["AsyncConnection", "AsyncCursor", "AsyncSQLStore"]


class AsyncCursor(Protocol):
    """What a statement returns (``sqlite3.Cursor`` and ``psycopg``'s cursors fit)."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement."""
        ...

    async def fetchone(self) -> Sequence[Any] | None:
        """Return the next row or ``None``."""
        ...

    async def fetchall(self) -> Sequence[Sequence[Any]]:
        """Return the remaining rows."""
        ...


class AsyncConnection(Protocol):
    """Runs statements (``sqlite3.Connection`` and ``psycopg``'s connections fit)."""

    async def execute(self, sql: str, params: Sequence[object] = ..., /) -> AsyncCursor:
        """Run one statement and return its cursor."""
        ...


async def _one(conn: AsyncConnection, sql: str, params: Sequence[object]) -> Sequence[Any] | None:
    """Run one statement and return its first row."""
    cursor = await conn.execute(sql, params)
    return await cursor.fetchone()


async def _all(
    conn: AsyncConnection, sql: str, params: Sequence[object]
) -> Sequence[Sequence[Any]]:
    """Run one statement and return its rows."""
    cursor = await conn.execute(sql, params)
    return await cursor.fetchall()


async def _changed(conn: AsyncConnection, sql: str, params: Sequence[object]) -> int:
    """Run one statement and return how many rows it changed."""
    cursor = await conn.execute(sql, params)
    return cursor.rowcount


class AsyncSQLStore:
    """The shared body of the database stores; see the module docstring."""

    __slots__ = ("_list", "_sql")

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """Return a connection for one read."""
        raise NotImplementedError

    def _write(
        self, conversation_id: str | None = None
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """Return a connection inside a write transaction, committed on exit.

        Args:
            conversation_id: The conversation written, for conflict errors.
        """
        raise NotImplementedError

    def _prepare(self, tables: Mapping[str, str], placeholder: str) -> None:
        self._sql = prepare_statements(tables, placeholder)
        self._list = prepare_listing(tables, placeholder)

    def _by_activity(self, params: tuple[int, ...]) -> tuple[int, ...]:
        """Return a listing cursor's or a purge's parameters (last activity first) as sent.

        PostgreSQL's statements take the last activity twice (see ``_pg.LIST_AFTER``).
        """
        return params

    # -- migrations -----------------------------------------------------------

    @staticmethod
    async def _migrate(
        conn: AsyncConnection,
        steps: Sequence[Migration],
        version_table: str,
        placeholder: str,
        now: str,
    ) -> int:
        """Apply the steps past the stored version, inside the caller's transaction.

        Returns:
            The schema version now in place.

        Raises:
            StoreError: When the database was written by a newer convguard.
        """
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {version_table}"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        latest_sql = f"SELECT MAX(version) FROM {version_table}"  # noqa: S608 - our table
        cursor = await conn.execute(latest_sql)
        row = await cursor.fetchone()
        current = 0 if row is None or row[0] is None else int(row[0])
        latest = steps[-1][0]
        if current > latest:
            msg = (
                f"the database has schema version {current}, newer than the "
                f"{latest} this convguard knows; upgrade convguard"
            )
            raise StoreError(msg)
        for version, statements in steps:
            if version <= current:
                continue
            for statement in statements:
                await conn.execute(statement)
            record = f"INSERT INTO {version_table} VALUES ({placeholder}, {placeholder})"  # noqa: S608 - our table
            await conn.execute(record, (version, now))
        return max(current, latest)

    # -- the protocol ---------------------------------------------------------

    async def create(
        self,
        conversation_id: str,
        *,
        created_at: datetime,
        metadata: Mapping[str, Any] = EMPTY_METADATA,
        messages: Sequence[Message] = (),
        tip_id: str | None = None,
    ) -> None:
        """Create a conversation, optionally with a whole tree (parents first).

        Raises:
            InvalidOperationError: When the id is taken or the tree is invalid.
            StoreError: When the database fails; nothing is written.
        """
        check_id(conversation_id, "conversation id")
        tree = ConversationTree(conversation_id)
        for message in messages:  # validated before the database sees the tree
            tree.add(message, move_tip=False)
        if tip_id is not None:
            tree.switch(tip_id)
        elif messages:
            tree.switch(messages[-1].id)
        rows = [message_params(conversation_id, m) for m in messages]
        conversation = (
            conversation_id,
            dump_time(created_at),
            dump_metadata(metadata),
            tree.tip_id,
            tree.ended_branches,
            len(tree),
            tree.at_risk,
            max([epoch_us(created_at), *(epoch_us(m.created_at) for m in messages)]),
            title_of(messages),
        )
        sql = self._sql
        async with self._write(conversation_id) as conn:
            if await _one(conn, sql["version"], (conversation_id,)) is not None:
                msg = f"conversation {conversation_id!r} already exists"
                raise InvalidOperationError(msg)
            await conn.execute(sql["insert_conversation"], conversation)
            for key, value in metadata_tags(metadata):
                await conn.execute(sql["insert_tag"], (key, value, conversation_id))
            for row in rows:
                await conn.execute(sql["insert_message"], row)

    async def head(self, conversation_id: str) -> Head:
        """Return the version, the tip and the ended-branch count, in one query.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        async with self._read() as conn:
            row = await _one(conn, self._sql["head"], (conversation_id,))
        if row is None:
            raise UnknownConversationError(conversation_id)
        tip = None if row[3] is None else message_of(row[3:])
        return Head(conversation_id, int(row[0]), tip, int(row[1]), bool(row[2]))

    async def info(self, conversation_id: str) -> ConversationInfo:
        """Return the conversation's bookkeeping.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        async with self._read() as conn:
            row = await _one(conn, self._sql["info"], (conversation_id,))
        if row is None:
            raise UnknownConversationError(conversation_id)
        return info_of(conversation_id, row)

    async def _missing(
        self, conn: AsyncConnection, conversation_id: str, message_id: str
    ) -> StoreError | UnknownConversationError | UnknownMessageError:
        """Return the error for a message that is not there."""
        if await _one(conn, self._sql["version"], (conversation_id,)) is None:
            return UnknownConversationError(conversation_id)
        return UnknownMessageError(conversation_id, message_id)

    async def get(self, conversation_id: str, message_id: str) -> Message:
        """Return one message.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        message_id = lookup_message_id(conversation_id, message_id)
        async with self._read() as conn:
            row = await _one(conn, self._sql["get"], (conversation_id, message_id))
            if row is None:
                raise await self._missing(conn, conversation_id, message_id)
        return message_of(row)

    async def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[Message]:
        """Return *message_id* and up to ``limit - 1`` ancestors, nearest first.

        Walks at most *limit* rows, however deep the conversation is.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        message_id = lookup_message_id(conversation_id, message_id)
        bound = NO_LIMIT if limit is None else min(int(limit), NO_LIMIT)
        if bound <= 0:
            await self.get(conversation_id, message_id)
            return []
        async with self._read() as conn:
            rows = await _all(
                conn,
                self._sql["ancestors"],
                (conversation_id, message_id, conversation_id, bound),
            )
            if not rows:
                raise await self._missing(conn, conversation_id, message_id)
        return [message_of(row) for row in rows]

    async def messages(self, conversation_id: str) -> list[Message]:
        """Return every message, parents before children.

        Raises:
            UnknownConversationError: For an unknown id.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        async with self._read() as conn:
            rows = await _all(conn, self._sql["messages"], (conversation_id,))
            # Only no rows asks whether the conversation is there at all.
            if not rows and await _one(conn, self._sql["version"], (conversation_id,)) is None:
                raise UnknownConversationError(conversation_id)
        return [message_of(row) for row in rows]

    async def append(
        self,
        conversation_id: str,
        message: Message,
        *,
        expected_version: int,
        move_tip: bool = True,
    ) -> int:
        """Add *message* if the conversation is still at *expected_version*.

        The version check, the parent check and the insert happen in one
        transaction, so a node never lands under a parent that ended meanwhile.

        Returns:
            The new version.

        Raises:
            StoreConflictError: When the version moved on.
            ConversationEndedError: When the parent is ended.
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: When the parent is not in the conversation.
            InvalidOperationError: For a duplicate id or a wrong depth.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        check_id(message.id)
        row = message_params(conversation_id, message)
        sql = self._sql
        async with self._write(conversation_id) as conn:
            bumped = await _changed(
                conn,
                sql["bump"],
                (
                    1 if message.ended else 0,
                    message.at_risk,
                    message.id if move_tip else None,
                    epoch_us(message.created_at),
                    title_of([message]),
                    conversation_id,
                    expected_version,
                ),
            )
            if bumped != 1:
                found = await _one(conn, sql["version"], (conversation_id,))
                if found is None:
                    raise UnknownConversationError(conversation_id)
                raise StoreConflictError(
                    conversation_id,
                    f"expected version {expected_version}, found {found[0]}",
                )
            await self._check_node(conn, conversation_id, message)
            await conn.execute(sql["insert_message"], row)
        return expected_version + 1

    async def _check_node(
        self, conn: AsyncConnection, conversation_id: str, message: Message
    ) -> None:
        sql = self._sql
        if await _one(conn, sql["exists"], (conversation_id, message.id)):
            msg = f"message id {message.id!r} is already in the conversation"
            raise InvalidOperationError(msg)
        depth = 0
        if message.parent_id is not None:
            parent = await _one(conn, sql["parent"], (conversation_id, message.parent_id))
            if parent is None:
                raise UnknownMessageError(conversation_id, message.parent_id)
            if parent[1]:
                raise ConversationEndedError(conversation_id, message.parent_id)
            depth = int(parent[0]) + 1
        if message.depth != depth:
            msg = f"message {message.id!r} has depth {message.depth}, expected {depth}"
            raise InvalidOperationError(msg)

    async def switch(self, conversation_id: str, message_id: str) -> int:
        """Make *message_id* the active tip.

        Returns:
            The new version.

        Raises:
            UnknownConversationError: For an unknown conversation.
            UnknownMessageError: For an unknown message.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        message_id = lookup_message_id(conversation_id, message_id)
        sql = self._sql
        async with self._write(conversation_id) as conn:
            if await _one(conn, sql["exists"], (conversation_id, message_id)) is None:
                raise await self._missing(conn, conversation_id, message_id)
            await conn.execute(sql["switch"], (message_id, conversation_id))
            row = await _one(conn, sql["version"], (conversation_id,))
        return 0 if row is None else int(row[0])

    async def add_feedback(self, feedback: Feedback) -> None:
        """Keep a feedback record.

        Raises:
            UnknownConversationError: For an unknown conversation.
        """
        conversation_id = lookup_conversation_id(feedback.conversation_id)
        params = (
            feedback.id,
            conversation_id,
            feedback.kind,
            feedback.comment,
            feedback.message_id,
            dump_time(feedback.created_at),
            dump_metadata(feedback.metadata),
        )
        sql = self._sql
        async with self._write(conversation_id) as conn:
            if await _one(conn, sql["version"], (conversation_id,)) is None:
                raise UnknownConversationError(conversation_id)
            await conn.execute(sql["insert_feedback"], params)

    async def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """Return feedback records, oldest first, of one or every conversation."""
        async with self._read() as conn:
            if conversation_id is None:
                rows = await _all(conn, self._sql["feedback_all"], ())
            elif not isinstance(conversation_id, str):
                rows = []
            else:
                rows = await _all(conn, self._sql["feedback_one"], (conversation_id,))
        return [
            Feedback(
                id=fid,
                conversation_id=cid,
                kind=kind,
                comment=comment,
                message_id=mid,
                created_at=load_time(created_at),
                metadata=load_metadata(metadata),
            )
            for fid, cid, kind, comment, mid, created_at, metadata in rows
        ]

    async def conversations(self) -> list[str]:
        """Return every conversation id, oldest first."""
        async with self._read() as conn:
            rows = await _all(conn, self._sql["conversations"], ())
        return [row[0] for row in rows]

    async def list_conversations(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversationPage:
        """Return conversations by last activity, newest first, a page at a time.

        With no filter the query walks the activity index from its newest
        end and stops after *limit* rows (PostgreSQL's index holds the
        ten-minute slot of last activity: it sorts the rows of each slot it
        reads). A filter starts from the first entry's tag rows (one user's
        conversations, say) and sorts those.

        Raises:
            InvalidOperationError: For a bad filter, limit or cursor.
        """
        tags = filter_tags(metadata)
        limit = check_limit(limit)
        cursor = load_cursor(after)
        select, by_first_tag, by_tag, after_sql, order = self._list
        params: list[object] = []
        where: list[str] = []
        if tags:
            sql = by_first_tag
            params.extend(tags[0])
            for tag in tags[1:]:
                where.append(by_tag)
                params.extend(tag)
        else:
            sql = select
        if cursor is not None:
            where.append(after_sql)
            params.extend(self._by_activity(cursor))
        if where:
            sql += (" AND " if tags else " WHERE ") + " AND ".join(where)
        params.append(NO_LIMIT if limit is None else limit + 1)
        async with self._read() as conn:
            rows = await _all(conn, sql + order, params)
        page = rows if limit is None else rows[:limit]
        items = tuple(info_of(row[0], row[1:]) for row in page)
        more = limit is not None and len(rows) > limit
        last = page[-1] if page else None
        cursor_next = dump_cursor(int(last[8]), int(last[10])) if more and last else None
        return ConversationPage(items, cursor_next)

    async def _erase(self, conn: AsyncConnection, conversation_id: str) -> None:
        sql = self._sql
        for name in ("delete_feedback", "delete_tags", "delete_messages", "delete_conversation"):
            await conn.execute(sql[name], (conversation_id,))

    async def delete(self, conversation_id: str) -> None:
        """Erase a conversation with its messages and feedback, in one transaction.

        Raises:
            UnknownConversationError: For an unknown id.
            StoreError: When the database fails; nothing is erased.
        """
        conversation_id = lookup_conversation_id(conversation_id)
        async with self._write(conversation_id) as conn:
            if await _changed(conn, self._sql["lock_for_delete"], (conversation_id,)) != 1:
                raise UnknownConversationError(conversation_id)
            await self._erase(conn, conversation_id)
        await self._erased()

    async def purge(self, older_than: datetime, *, limit: int) -> int:
        """Erase up to *limit* conversations idle since *older_than*, oldest first.

        One transaction; a conversation written meanwhile is kept.

        Returns:
            How many were erased.

        Raises:
            InvalidOperationError: For a bad cutoff or limit.
            StoreError: When the database fails; nothing is erased.
        """
        cutoff = check_cutoff(older_than)
        bound = check_batch(limit)
        sql = self._sql
        erased = 0
        async with self._write() as conn:
            idle = await _all(conn, sql["idle"], self._by_activity((cutoff, bound)))
            for (conversation_id,) in idle:
                locked = await _changed(conn, sql["lock_idle"], (conversation_id, cutoff))
                # Not locked: written since the SELECT (a PostgreSQL race), so kept.
                if locked == 1:  # pragma: no branch - only a race takes the other way
                    await self._erase(conn, conversation_id)
                    erased += 1
        if erased:
            await self._erased()
        return erased

    async def _erased(self) -> None:
        """Let the backend scrub what the erasure left on disk (SQLite: its WAL)."""
