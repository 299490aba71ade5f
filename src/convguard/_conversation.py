# Written by scripts/unasync.py from _conversation_async.py: edit that file, then run the script.
"""``Conversation``, written once: one chat, judged turn by turn.

Generated from ``_conversation_async.py`` by ``scripts/unasync.py``; see there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, final

import attrs

from ._conversation_reads import _ConversationReads
from ._errors import ConvguardError, StoreConflictError
from ._policy import EndRequester, Verdict
from ._tree import Message, Role
from .stores._base import Feedback, Head

if TYPE_CHECKING:
    from ._tools import ModelDump, ToolResult

__all__ = ["Conversation"]

_T = TypeVar("_T")


@final
class Conversation(_ConversationReads):
    """One chat: a tree of messages with an active tip, judged turn by turn.

    Get one from :meth:`Guard.start` or :meth:`Guard.open`. Every
    read asks the store, so several workers can hold the same conversation;
    a write starts from the head the handle's last write left (see ``_retry``).
    """

    __slots__ = ()

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
            message, verdict, history = guard._judge(
                head, head.tip, text, meta, self._locale, self._path
            )
            self._append(head, message, history)
            return verdict

        return self._retry(attempt)

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
            parent = self._sibling_parent(head, message_id, Role.USER)
            message, verdict, history = guard._judge(
                head, parent, text, meta, self._locale, self._path
            )
            self._append(head, message, history)
            return verdict

        return self._retry(attempt)

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
            redirect: The assistant declined and steered elsewhere on its
                own; counts one redirection when the user turn it answers
                was allowed (once a turn, nothing while exempt).
            metadata: Free-form JSON-compatible data kept with it.
            to: The message it answers, usually ``verdict.message_id``: it is
                stored only while that is still the active tip (a second tab,
                a double submit or an edit may have moved it meanwhile).

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
            self._append(head, message)
            return message

        return self._retry(attempt)

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
            parent = self._sibling_parent(head, message_id, Role.ASSISTANT)
            if to is not None and (parent is None or parent.id != to):
                engine.check_answers(attrs.evolve(head, tip=parent), to)
            message = engine.other_node(parent, Role.ASSISTANT, text, meta, redirect=redirect)
            self._append(head, message)
            return message

        return self._retry(attempt)

    def switch(self, message_id: str) -> Message:
        """Make any message the active tip, to view or continue from it.

        Returns:
            The new tip.

        Raises:
            UnknownMessageError: When it is not in this conversation.
        """
        store = self._guard._store
        self._known = None
        store.switch(self.id, message_id)
        return store.get(self.id, message_id)

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
                self._append(head, event)
            return verdict

        # A refusal writes nothing, so no compare-and-set would prove a
        # guessed head: this one always reads it.
        return self._retry(attempt, guess=False)

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
            self._append(head, event)
            return verdict

        return self._retry(attempt)

    def handle_tool_call(
        self,
        call: str | Mapping[str, Any] | ModelDump,
        arguments: str | bytes | Mapping[str, Any] | None = None,
        *,
        record: bool = False,
        to: str | None = None,
    ) -> ToolResult:
        """Handle the model's ``end_conversation`` or ``report_risk`` call.

        ``end_conversation`` is :meth:`request_end` with ``by="assistant"``;
        ``report_risk`` is :meth:`report_risk`, answered with the SUPPORT
        guidance and the locale's resources. Malformed arguments are never an
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
                ``tool_calls`` metadata) and its result (a ``tool`` message),
                before its event, so that an export replays as the API saw it.
            to: As in :meth:`reply`: the message the model's turn answers.

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
            for node in nodes[len(stored) :]:
                head = self._append(head, node)
                stored.append(node)
            return result

        result = self._retry(attempt, guess=False)  # a refused end writes nothing
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
        """Keep the user's feedback, e.g. ``"unexpected_end"``, for operators (ended ones too).

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
        guard._store.add_feedback(record)
        return record

    # -- the write path, shared by the methods above --------------------------

    def _retry(self, attempt: Callable[[Head], _T], *, guess: bool = True) -> _T:
        """Run *attempt* on the conversation's head until its compare-and-set lands.

        With *guess*, for an attempt that always writes, the first try may
        take the head this handle's last write left: the write's
        compare-and-set proves it current, and a try on it that failed (the
        head may be stale) is made again on a fresh one.
        """
        guard = self._guard
        known, self._known = self._known, None
        if guess and known is not None:
            try:
                return attempt(known)
            except ConvguardError:
                pass  # stale, or a real refusal: the fresh head below tells
        for _ in range(guard._engine.max_retries):
            head = guard._store.head(self.id)
            try:
                return attempt(head)
            except StoreConflictError as exc:
                if exc.message_id is not None:
                    raise  # the reply's turn is gone: trying again cannot help
                continue
        raise StoreConflictError(self.id, f"gave up after {guard._engine.max_retries} attempts")

    def _append(
        self, head: Head, message: Message, history: Sequence[Message] | None = None
    ) -> Head:
        """Store *message* (the new tip) with compare-and-set on *head*; return the new head.

        Also remember the end of its branch: *history* (the branch up to its
        parent, when the turn read it) or the one remembered, plus *message*.
        """
        guard = self._guard
        version = guard._store.append(self.id, message, expected_version=head.version)
        window = guard._engine.history_window
        for path in (history, self._path):
            if window and path is not None and (path[-1].id if path else None) == message.parent_id:
                self._path = (*path, message)[-window:]
                break
        else:
            self._path = ()
        self._known = attrs.evolve(
            head,
            version=version,
            tip=message,
            ended_branches=head.ended_branches + message.ended,
            at_risk=head.at_risk or message.at_risk,
        )
        return self._known

    def _sibling_parent(self, head: Head, message_id: str, role: Role) -> Message | None:
        """Return the parent a new sibling of *message_id* (a *role* message) goes under."""
        original = self.get(message_id)
        self._guard._engine.check_sibling_of(head, original, role)
        return None if original.parent_id is None else self.get(original.parent_id)
