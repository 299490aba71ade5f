# Written by scripts/unasync.py from _front_async.py: edit that file, then run the script.
"""The turn, written once: the guard's shared methods and ``Conversation``.

Generated from ``_front_async.py`` by ``scripts/unasync.py``; see there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, final

import attrs

from ._errors import ConversationEndedError, StoreConflictError
from ._policy import EndRequester, Policy, PolicyState, Verdict
from ._tree import Branch, ConversationTree, Message, Role
from .stores._base import ConversationPage, Feedback, Head, Store
from .stores._listing import check_limit

if TYPE_CHECKING:
    from ._engine import Engine
    from ._findings import DetectorFailure, Finding
    from ._records import ConversationRecord
    from ._replay import Replay
    from ._tools import ModelDump, ToolResult
    from .detectors._protocols import DetectionContext

__all__ = ["Conversation"]

_T = TypeVar("_T")


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

    @property
    def store(self) -> Store:
        """Where conversations live."""
        return self._store

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

    def _judge(
        self,
        head: Head,
        parent: Message | None,
        text: str,
        metadata: Mapping[str, Any],
        locale: str | None,
    ) -> tuple[Message, Verdict]:
        # The head gives the conversation and its risk record before the turn.
        conversation_id = head.conversation_id
        engine = self._engine
        message_id = engine.ids()
        history = self._history(conversation_id, parent)
        context = engine.context(conversation_id, message_id, text, history)
        findings, errors = self._detect(text, context)
        return engine.judge_user(
            parent, message_id, text, findings, errors, metadata, locale, at_risk=head.at_risk
        )

    def _retry(self, conversation_id: str, attempt: Callable[[Head], _T]) -> _T:
        """Run *attempt* on a fresh head until its compare-and-set lands."""
        for _ in range(self._engine.max_retries):
            head = self._store.head(conversation_id)
            try:
                return attempt(head)
            except StoreConflictError as exc:
                if exc.message_id is not None:
                    raise  # the reply's turn is gone: trying again cannot help
                continue
        raise StoreConflictError(
            conversation_id, f"gave up after {self._engine.max_retries} attempts"
        )


@final
class Conversation:
    """One chat: a tree of messages with an active tip, judged turn by turn.

    Get one from :meth:`Guard.start` or :meth:`Guard.open`. It
    holds no state of its own besides its id: every call reads the store, so
    several workers can hold the same conversation.
    """

    __slots__ = ("_guard", "_locale", "id")

    def __init__(self, guard: _GuardBase, conversation_id: str, locale: str | None = None) -> None:
        """Bind a stored conversation to a guard (use ``Guard.start``/``open``)."""
        self._guard = guard
        self.id = conversation_id
        self._locale = locale

    def __repr__(self) -> str:
        """Show the id."""
        return f"<Conversation {self.id!r}>"

    def __eq__(self, other: object) -> bool:
        """Conversations are equal when they name the same stored one."""
        if not isinstance(other, Conversation):
            return NotImplemented
        return self.id == other.id and self._guard is other._guard

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    # -- reading --------------------------------------------------------------

    def tip(self) -> Message | None:
        """Return the active tip, ``None`` before the first message."""
        head = self._guard.store.head(self.id)
        return head.tip

    def state(self) -> PolicyState:
        """Return the policy state at the active tip."""
        return self._guard._engine.state_of(self.tip())

    def ended(self) -> bool:
        """Return whether the active tip is ended (nothing more can be sent there)."""
        tip = self.tip()
        return tip is not None and tip.ended

    def closed(self) -> bool:
        """Return whether ``max_ended_branches`` closed the whole conversation.

        Never while the conversation remembers risk.
        """
        guard = self._guard
        return guard._engine.closed(guard.store.head(self.id))

    def at_risk(self) -> bool:
        """Return whether some message, on any branch, carried protective evidence."""
        guard = self._guard
        return (guard.store.head(self.id)).at_risk

    def get(self, message_id: str) -> Message:
        """Return one message of the conversation.

        Raises:
            UnknownMessageError: When it is not in this conversation.
        """
        return self._guard.store.get(self.id, message_id)

    def path(self, message_id: str | None = None, *, limit: int | None = None) -> list[Message]:
        """Return the branch from the root to the active tip (or *message_id*).

        Args:
            message_id: Where the branch ends; the active tip when omitted.
            limit: Only the last *limit* messages (still root-first), read at
                a cost that depends on *limit*, not on the branch's depth:
                what a model's prompt needs each turn.

        Raises:
            UnknownMessageError: When *message_id* is not in this conversation.
            InvalidOperationError: For a *limit* that is not a positive int.
        """
        limit = check_limit(limit)
        if message_id is None:
            tip = self.tip()
            if tip is None:
                return []
            message_id = tip.id
        out = self._guard.store.ancestors(self.id, message_id, limit)
        out.reverse()
        return out

    def messages(self) -> list[Message]:
        """Return every message of every branch, parents before children."""
        return self._guard.store.messages(self.id)

    def tree(self) -> ConversationTree:
        """Return a snapshot of the whole tree, with the active tip."""
        store = self._guard.store

        def read() -> tuple[Head, list[Message]]:
            return store.head(self.id), store.messages(self.id)

        head, messages = read()
        tree = ConversationTree(self.id)
        for message in messages:
            tree.add(message, move_tip=False)
        if head.tip is not None:
            tree.switch(head.tip.id)
        return tree

    def branches(self) -> list[Branch]:
        """Return every branch (root to leaf), in the order their leaves were added."""
        tree = self.tree()
        return tree.branches()

    # -- writing --------------------------------------------------------------

    def send(self, text: str, *, metadata: Mapping[str, Any] | None = None) -> Verdict:
        """Send a user message under the active tip and judge it.

        The message is stored whatever the verdict, the one that ends the
        branch included.

        Args:
            text: The user's message.
            metadata: Free-form JSON-compatible data kept with it.

        Returns:
            The verdict: what to do, why, and guidance for the model.

        Raises:
            ConversationEndedError: When the tip is ended (nothing is stored).
            InvalidMessageError: For text or metadata that cannot be stored.
        """
        guard = self._guard
        engine = guard._engine
        text = engine.check_text(text)
        meta = engine.check_metadata(metadata)

        def attempt(head: Head) -> Verdict:
            engine.check_open(head)
            message, verdict = guard._judge(head, head.tip, text, meta, self._locale)
            guard.store.append(self.id, message, expected_version=head.version)
            return verdict

        return guard._retry(self.id, attempt)

    def edit(
        self, message_id: str, text: str, *, metadata: Mapping[str, Any] | None = None
    ) -> Verdict:
        """Edit and retry a user message: a new sibling, now the active tip.

        The original is kept. The new branch starts from the state of the
        original's parent, so editing a message of an ended branch opens a
        live one, unless the edit itself is judged END.

        Args:
            message_id: The user message to edit, on any branch.
            text: The new text.
            metadata: Free-form JSON-compatible data kept with it.

        Returns:
            The verdict on the edited message.

        Raises:
            UnknownMessageError: When *message_id* is not in this conversation.
            InvalidOperationError: When it is not a user message.
            ConversationEndedError: When the conversation is closed.
            InvalidMessageError: For text or metadata that cannot be stored.
        """
        guard = self._guard
        engine = guard._engine
        text = engine.check_text(text)
        meta = engine.check_metadata(metadata)

        def attempt(head: Head) -> Verdict:
            original = guard.store.get(self.id, message_id)
            engine.check_sibling_of(head, original, Role.USER)
            parent = self._parent(original)
            message, verdict = guard._judge(head, parent, text, meta, self._locale)
            guard.store.append(self.id, message, expected_version=head.version)
            return verdict

        return guard._retry(self.id, attempt)

    def reply(
        self,
        text: str,
        *,
        redirect: bool = False,
        metadata: Mapping[str, Any] | None = None,
        to: str | None = None,
    ) -> Message:
        """Store an assistant message under the active tip.

        Args:
            text: The assistant's answer (may be empty, e.g. only tool calls).
            redirect: The assistant declined and steered elsewhere on its own;
                counts one redirection when the user turn it answers was
                allowed (each turn counts once, nothing while exempt).
            metadata: Free-form JSON-compatible data kept with it.
            to: The message it answers, usually ``verdict.message_id``: the
                reply is stored under it only while it is still the active
                tip (a second tab, a double submit or an edit may have moved
                the tip while the model was answering).

        Returns:
            The stored message.

        Raises:
            ConversationEndedError: When the tip is ended.
            InvalidMessageError: For text or metadata that cannot be stored.
            StoreConflictError: When *to* is no longer the active tip; its
                ``message_id`` names *to*, and nothing is stored.
        """
        return self.add(Role.ASSISTANT, text, redirect=redirect, metadata=metadata, to=to)

    def add(
        self,
        role: Role | str,
        text: str,
        *,
        redirect: bool = False,
        metadata: Mapping[str, Any] | None = None,
        to: str | None = None,
    ) -> Message:
        """Store an assistant, system or tool message under the active tip.

        Args:
            role: ``"assistant"``, ``"system"`` or ``"tool"``; user messages go
                through :meth:`send`, events through :meth:`request_end`.
            text: The content (may be empty).
            redirect: For assistant messages, as in :meth:`reply`.
            metadata: Free-form JSON-compatible data kept with it.
            to: As in :meth:`reply`: the message it must be stored under.

        Returns:
            The stored message.

        Raises:
            InvalidOperationError: For the user or event role, or an unknown one.
            ConversationEndedError: When the tip is ended.
            InvalidMessageError: For text or metadata that cannot be stored.
            StoreConflictError: When *to* is no longer the active tip.
        """
        guard = self._guard
        engine = guard._engine
        role = engine.check_added_role(role)
        text = engine.check_text(text, allow_empty=True)
        meta = engine.check_metadata(metadata)

        def attempt(head: Head) -> Message:
            engine.check_open(head)
            engine.check_answers(head, to)
            message = engine.other_node(head.tip, role, text, meta, redirect=redirect)
            guard.store.append(self.id, message, expected_version=head.version)
            return message

        return guard._retry(self.id, attempt)

    def regenerate(
        self,
        message_id: str,
        text: str,
        *,
        redirect: bool = False,
        metadata: Mapping[str, Any] | None = None,
        to: str | None = None,
    ) -> Message:
        """Store another assistant answer beside *message_id*; it becomes the tip.

        Args:
            message_id: The assistant message to answer again.
            text: The new answer (may be empty).
            redirect: As in :meth:`reply`.
            metadata: Free-form JSON-compatible data kept with it.
            to: The message the answer must answer (*message_id*'s parent),
                as in :meth:`reply`.

        Raises:
            UnknownMessageError: When *message_id* is not in this conversation.
            InvalidOperationError: When it is not an assistant message.
            ConversationEndedError: When the conversation is closed.
            InvalidMessageError: For text or metadata that cannot be stored.
            StoreConflictError: When *to* is not *message_id*'s parent.
        """
        guard = self._guard
        engine = guard._engine
        text = engine.check_text(text, allow_empty=True)
        meta = engine.check_metadata(metadata)

        def attempt(head: Head) -> Message:
            original = guard.store.get(self.id, message_id)
            engine.check_sibling_of(head, original, Role.ASSISTANT)
            parent = self._parent(original)
            if to is not None and (parent is None or parent.id != to):
                engine.check_answers(attrs.evolve(head, tip=parent), to)
            message = engine.other_node(parent, Role.ASSISTANT, text, meta, redirect=redirect)
            guard.store.append(self.id, message, expected_version=head.version)
            return message

        return guard._retry(self.id, attempt)

    def switch(self, message_id: str) -> Message:
        """Make any message the active tip, to view or continue from it.

        Returns:
            The new tip.

        Raises:
            UnknownMessageError: When it is not in this conversation.
        """
        store = self._guard.store

        def move() -> Message:
            store.switch(self.id, message_id)
            return store.get(self.id, message_id)

        return move()

    def request_end(
        self,
        *,
        by: EndRequester = "user",
        reason: str | None = None,
        confirmed: bool = False,
    ) -> Verdict:
        """Ask to end the active branch, as the user or the assistant.

        Granted: an event node is stored under the tip and the action is END.
        Refused: nothing is stored, ``message_id`` is ``None``, and
        ``reasons`` says why in words the backend can hand to the model.
        Never granted while the conversation remembers risk.

        Args:
            by: ``"user"`` or ``"assistant"`` (e.g. the ``end_conversation`` tool).
            reason: Why, for the record.
            confirmed: The user confirmed that the end is permanent for this
                conversation. Without it a user's request is refused with
                guidance asking the model to get that confirmation
                (``PolicyConfig.confirm_user_end`` turns the step off).

        Returns:
            The verdict.

        Raises:
            ConversationEndedError: When the tip is already ended.
            InvalidOperationError: For an unknown *by*.
        """
        guard = self._guard
        engine = guard._engine

        def attempt(head: Head) -> Verdict:
            engine.check_open(head)
            event, verdict = engine.end_request(
                head.tip,
                by=by,
                reason=reason,
                locale=self._locale,
                at_risk=head.at_risk,
                confirmed=confirmed,
            )
            if event is not None:
                guard.store.append(self.id, event, expected_version=head.version)
            return verdict

        return guard._retry(self.id, attempt)

    def report_risk(self, category: str, *, reason: str | None = None) -> Verdict:
        """Record that the user may be at risk, as the model judged (``report_risk``).

        An event node carrying a protective finding is stored under the tip
        (left out of API message lists): the conversation remembers the risk,
        so no branch of it is ended while the exemption lasts, also when no
        detector saw it.

        Args:
            category: ``"self_harm_risk"`` or ``"harm_to_others_risk"`` (any
                protective category of the policy).
            reason: What the model saw, in a few words, for operators.

        Returns:
            The verdict: SUPPORT, with the support guidance and resources.

        Raises:
            InvalidOperationError: For a category that is not protective.
            InvalidMessageError: For a reason that cannot be stored.
            ConversationEndedError: When the tip is ended.
        """
        guard = self._guard
        engine = guard._engine

        def attempt(head: Head) -> Verdict:
            engine.check_open(head)
            event, verdict = engine.risk_report(
                head.tip, category, reason=reason, locale=self._locale
            )
            guard.store.append(self.id, event, expected_version=head.version)
            return verdict

        return guard._retry(self.id, attempt)

    def handle_tool_call(
        self,
        call: str | Mapping[str, Any] | ModelDump,
        arguments: str | bytes | Mapping[str, Any] | None = None,
        *,
        record: bool = False,
        to: str | None = None,
    ) -> ToolResult:
        """Handle the model's ``end_conversation`` or ``report_risk`` call.

        ``end_conversation`` asks to end the branch, granted only at the
        policy's bar (as ``request_end(by="assistant")``). ``report_risk``
        stores an event carrying a protective finding, which the conversation
        remembers, and answers with the SUPPORT guidance and the locale's
        resources (as :meth:`report_risk`). Malformed arguments are never an
        exception: the result has ``is_error`` set and says what was wrong,
        and nothing is stored.

        Args:
            call: The tool's name, or the whole call as the API gave it: an
                OpenAI tool call, an Anthropic ``tool_use`` block, or the dict
                form of either (SDK objects are read through ``model_dump()``);
                the result then remembers the call's id.
            arguments: With a name, the arguments as the API delivers them: a
                JSON string (OpenAI) or a mapping (Anthropic).
            record: Also store the call (an assistant message with
                ``tool_calls`` metadata) and its result (a ``tool`` message with
                ``tool_call_id``), before the event the call produced, so that an
                export replays as the API saw it.
            to: The message the model's turn answers, usually
                ``verdict.message_id``: the call is handled only while it is
                still the active tip, as in :meth:`reply`.

        Returns:
            The result to hand back to the model.

        Raises:
            InvalidOperationError: For an unknown tool name (the backend's bug)
                or a call object of no known shape.
            ConversationEndedError: When the tip is already ended.
            StoreConflictError: When *to* is no longer the active tip, or, with
                *record*, when another writer moved the tip off the recorded
                call before its result was stored.
        """
        from ._tools import (  # noqa: PLC0415 - tools load on first use
            Malformed,
            malformed_result,
            parse_arguments,
            plan_nodes,
            read_call,
        )

        guard = self._guard
        engine = guard._engine
        read = read_call(call, arguments)
        checked = parse_arguments(read, max_chars=engine.max_message_chars)
        if isinstance(checked, Malformed):
            return malformed_result(read, checked)
        stored: list[Message] = []
        planned: list[tuple[tuple[Message, ...], ToolResult]] = []

        def attempt(head: Head) -> ToolResult | None:
            if not stored:
                engine.check_open(head)
                engine.check_answers(head, to)
                planned[:] = [plan_nodes(engine, head, read, checked, self._locale, record=record)]
            elif head.tip is None or head.tip.id != stored[-1].id:
                return None  # another writer moved the tip between our nodes
            nodes, result = planned[0]
            version = head.version
            for node in nodes[len(stored) :]:
                version = guard.store.append(self.id, node, expected_version=version)
                stored.append(node)
            return result

        result = guard._retry(self.id, attempt)
        if result is None:
            detail = f"the tip moved off the recorded tool call {stored[0].id!r} before its result"
            raise StoreConflictError(self.id, detail)
        return result

    def feedback(
        self,
        kind: str,
        *,
        comment: str | None = None,
        message_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Feedback:
        """Keep the user's feedback, e.g. ``"unexpected_end"``, for operators.

        Feedback is accepted on ended and closed conversations too.

        Args:
            kind: What kind of feedback.
            comment: The user's words.
            message_id: The message it is about; the active tip when omitted.
            metadata: Free-form JSON-compatible data kept with it.

        Returns:
            The stored record.

        Raises:
            UnknownMessageError: When *message_id* is not in this conversation.
            InvalidMessageError: For an empty kind or text that cannot be stored.
        """
        guard = self._guard
        if message_id is None:
            tip = self.tip()
            message_id = None if tip is None else tip.id
        else:
            self.get(message_id)
        record = guard._engine.feedback_record(
            self.id, kind, comment=comment, message_id=message_id, metadata=metadata
        )
        guard.store.add_feedback(record)
        return record

    def export(self) -> ConversationRecord:
        """Return the whole conversation as a record (lossless JSON round trip)."""
        from ._records import export  # noqa: PLC0415 - records load on first use

        store = self._guard.store

        def read() -> ConversationRecord:
            return export(store.info(self.id), store.messages(self.id), store.feedback(self.id))

        return read()

    def _parent(self, message: Message) -> Message | None:
        if message.parent_id is None:
            return None
        return self.get(message.parent_id)
