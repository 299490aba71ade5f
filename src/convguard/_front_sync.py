# Written by scripts/unasync.py from _front_async.py: edit that file, then run the script.
"""The guard's shared methods, written once: ``_GuardBase``.

Generated from ``_front_async.py`` by ``scripts/unasync.py``; see there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._conversation import Conversation
from ._errors import ConversationEndedError
from ._policy import Policy, Verdict
from ._tree import Message
from .stores._base import ConversationPage, Feedback, Head

if TYPE_CHECKING:
    from ._engine import Engine
    from ._findings import DetectorFailure, Finding
    from ._records import ConversationRecord
    from ._replay import Replay
    from .detectors._protocols import DetectionContext
    from .stores._store import Store

__all__ = ["_GuardBase"]


class _GuardBase:
    """What both guards do the same way; the subclass brings the I/O."""

    __slots__ = ()

    _engine: Engine
    _locale: str | None
    _store: Store

    if TYPE_CHECKING:

        def _detect(
            self, text: str, context: DetectionContext
        ) -> tuple[list[Finding], list[DetectorFailure]]: ...

        def _history(
            self, conversation_id: str, parent: Message | None
        ) -> Sequence[Message] | Callable[[], Sequence[Message]]: ...

    @property
    def policy(self) -> Policy:
        """The policy that judges every turn."""
        return self._engine.policy

    def start(
        self,
        *,
        system: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        locale: str | None = None,
        conversation_id: str | None = None,
    ) -> Conversation:
        """Start a new chat. A new conversation is always live.

        Args:
            system: A system prompt to store as the root message.
            metadata: Free-form JSON-compatible data kept with it.
            locale: Its locale, for support resources; the guard's when omitted.
            conversation_id: Its id; a new random one when omitted.

        Returns:
            The new conversation.

        Raises:
            InvalidMessageError: For bad metadata or system text.
            InvalidOperationError: When *conversation_id* is taken.
        """
        engine = self._engine
        locale = locale or self._locale
        conversation_id, meta, messages = engine.opening(
            system=system, metadata=metadata, locale=locale, conversation_id=conversation_id
        )
        self._store.create(
            conversation_id,
            created_at=engine.clock(),
            metadata=meta,
            messages=messages,
        )
        return Conversation(self, conversation_id, locale)

    def open(self, conversation_id: str) -> Conversation:
        """Open an existing conversation.

        Raises:
            UnknownConversationError: When the store does not hold it.
        """
        info = self._store.info(conversation_id)
        locale = info.metadata.get("locale")
        return Conversation(self, conversation_id, locale if isinstance(locale, str) else None)

    def conversations(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversationPage:
        """List conversations by last activity, newest first, a page at a time.

        Args:
            metadata: Only conversations started with every one of these
                metadata entries, e.g. ``{"user_id": "u1"}`` (str, int, bool
                or ``None`` values).
            limit: The page size; ``None`` lists every match on one page.
            after: The ``next`` cursor of the previous page.

        Returns:
            The page: ``items`` (:class:`~convguard.stores.ConversationInfo`,
            with ``updated_at`` and ``title``) and ``next``, ``None`` on the
            last page.

        Raises:
            InvalidOperationError: For a bad filter, limit or cursor.
        """
        return self._store.list_conversations(metadata=metadata, limit=limit, after=after)

    def delete(self, conversation_id: str) -> None:
        """Erase a conversation: every message of every branch, and its feedback.

        Its id then raises :class:`~convguard.UnknownConversationError`.
        ``docs/storage.md`` says what each store leaves on disk.

        Raises:
            UnknownConversationError: When the store does not hold it.
        """
        self._store.delete(conversation_id)

    def purge(
        self,
        older_than: datetime,
        *,
        batch_size: int = 500,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Erase every conversation idle since *older_than*, oldest first.

        Idle means no message stored since then (``ConversationInfo.updated_at``).
        Each batch is one transaction, so writers wait at most one batch; a
        conversation written meanwhile is kept.

        Args:
            older_than: The cutoff (timezone-aware; a naive time is UTC).
            batch_size: Conversations erased per transaction.
            progress: Called after each batch with the total erased so far.

        Returns:
            How many conversations were erased.

        Raises:
            InvalidOperationError: For a bad cutoff or batch size.
        """
        total = 0
        while erased := self._store.purge(older_than, limit=batch_size):
            total += erased
            if progress is not None:
                progress(total)
        return total

    def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        """Return feedback of one or every conversation, oldest first."""
        return self._store.feedback(conversation_id)

    # -- records --------------------------------------------------------------

    def replay(self, record: ConversationRecord) -> Replay:
        """Run the detectors and the policy over every branch of *record*.

        Nothing is stored. See :class:`~convguard.Replay`.

        Raises:
            FormatError: When *record* is not a valid conversation record.
        """
        from ._replay import check_record  # noqa: PLC0415 - records load on first use

        return self._judge_record(check_record(record, "replay"))

    def import_record(self, record: ConversationRecord, *, evaluate: bool = False) -> Conversation:
        """Store a conversation from a record.

        Args:
            record: The conversation, e.g. from :meth:`Conversation.export`
                or a file read by :mod:`convguard.formats`.
            evaluate: Re-judge every branch with this guard's detectors and
                policy; a branch that ends stops there (``replay()`` lists what
                was left out). Otherwise states and verdicts are taken from
                the record as they are.

        Returns:
            The stored conversation.

        Raises:
            FormatError: When the record is invalid.
            InvalidOperationError: When its id is already stored.
        """
        from ._replay import (  # noqa: PLC0415 - records load on first use
            check_record,
            import_of,
            stored_messages,
        )

        record = check_record(record, "import_record")
        if evaluate:
            messages = (self._judge_record(record)).messages
        else:
            messages = stored_messages(self._engine, record)
        plan = import_of(self._engine, record, messages)
        try:
            self._store.create(
                plan.conversation_id,
                created_at=plan.created_at,
                metadata=plan.metadata,
                messages=plan.messages,
                tip_id=plan.tip_id,
            )
        except ConversationEndedError as exc:
            raise plan.refused(exc) from exc
        for feedback in plan.feedback:
            self._store.add_feedback(feedback)
        return self.open(record.id)

    def _judge_record(self, record: ConversationRecord) -> Replay:
        """Judge every branch of *record*, each turn's detectors run as a live turn runs them."""
        from ._replay import RecordWalk  # noqa: PLC0415 - records load on first use

        walk = RecordWalk(self._engine, record)
        while (turn := walk.next_turn()) is not None:
            walk.judged(turn, *self._detect(turn.text, turn.context))
        return walk.replay()

    # -- the turn, shared by Conversation's methods -----------------------

    def _judge(  # noqa: PLR0913 - one turn's worth of inputs
        self,
        head: Head,
        parent: Message | None,
        text: str,
        metadata: Mapping[str, Any],
        locale: str | None,
        known: Sequence[Message] = (),
    ) -> tuple[Message, Verdict, Sequence[Message] | None]:
        """Judge a user message under *parent*.

        *known* is the end of a branch the caller already holds, root-first;
        when it ends at *parent*, it is the history (messages never change,
        so *parent*'s ancestors are what they were), and the store is not
        read. Returns the message, its verdict, and the history when it was
        read (``None`` when no detector asked for it).
        """
        # The head gives the conversation and its risk record before the turn.
        conversation_id = head.conversation_id
        engine = self._engine
        message_id = engine.ids()
        window = engine.history_window
        history: Sequence[Message] | Callable[[], Sequence[Message]]
        if parent is not None and window and known and known[-1].id == parent.id:
            history = tuple(known[-window:])
        else:
            history = self._history(conversation_id, parent)
        context = engine.context(conversation_id, message_id, text, history)
        findings, errors = self._detect(text, context)
        message, verdict = engine.judge_user(
            parent, message_id, text, findings, errors, metadata, locale, at_risk=head.at_risk
        )
        return message, verdict, context._read_history()
