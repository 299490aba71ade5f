"""Replay and import: judge a record's branches over the sans-IO engine.

A :class:`RecordWalk` never calls a guard: it hands each user turn back to
the front end that drives it for its detectors, so both front ends share it
and this module imports neither. Messages are judged in creation order, so
the conversation's risk record stands as it stood when each was made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, final

import attrs
from attrs import frozen

from ._errors import ConversationEndedError, ConvguardError, FormatError
from ._findings import DetectorFailure, Finding
from ._records import (
    ConversationRecord,
    MessageRecord,
    state_from_record,
    verdict_from_record,
)
from ._state import Action, PolicyState, Verdict
from ._tree import Message, Role
from .stores._base import Feedback

if TYPE_CHECKING:
    from ._engine import Engine
    from .detectors._protocols import DetectionContext

__all__ = [
    "Import",
    "RecordWalk",
    "Replay",
    "ReplayBranch",
    "UserTurn",
    "check_record",
    "import_of",
    "stored_messages",
]


@final
@frozen
class ReplayBranch:
    """One branch of a replayed record.

    Attributes:
        leaf_id: The branch's leaf in the record.
        actions: The action of each user turn and end event on it, in order.
        ended_at: The node where the branch ends (``None`` when it stays
            open); messages after it are in ``Replay.after_end``.
        would_end_at: Shadow mode: the first node where it would have ended.
    """

    leaf_id: str
    actions: tuple[Action, ...]
    ended_at: str | None
    would_end_at: str | None = None


@final
@frozen
class Replay:
    """What the detectors and the policy make of every branch of a record.

    Attributes:
        conversation_id: The record's id.
        messages: The judged nodes, parents first; messages after an end are
            left out.
        verdicts: The verdict of each user message and end event, by id
            (a refused end request too).
        branches: Each branch of the record.
        after_end: Ids of record messages that follow an end, which a store
            would refuse.
    """

    conversation_id: str
    messages: tuple[Message, ...]
    verdicts: Mapping[str, Verdict]
    branches: tuple[ReplayBranch, ...]
    after_end: tuple[str, ...]

    @property
    def ended_at(self) -> tuple[str, ...]:
        """Ids of the nodes where a branch ends."""
        return tuple(m.id for m in self.messages if m.ended)

    def verdict(self, message_id: str) -> Verdict | None:
        """Return the verdict of a user message or end event, if it was judged."""
        return self.verdicts.get(message_id)


def _message_from_record(
    record: MessageRecord,
    parent: Message | None,
    state: PolicyState,
    verdict: Verdict | None,
    engine: Engine,
) -> Message:
    """Build a node, checked as ``send`` and ``add`` check what they store."""
    try:
        if record.role is Role.USER:
            engine.check_text(record.content)
        else:
            engine.check_text(record.content, allow_empty=True)
        metadata = engine.check_metadata(record.metadata)
    except ConvguardError as exc:
        msg = f"message {record.id!r}: {exc}"
        raise FormatError(msg) from exc
    return Message.child_of(
        parent,
        id=record.id,
        role=record.role,
        content=record.content,
        created_at=record.created_at or engine.clock(),
        state=state,
        verdict=verdict,
        metadata=metadata,
    )


@final
@frozen
class UserTurn:
    """A user message of a record, waiting for its detectors.

    Attributes:
        record: The message.
        parent: Its judged parent, ``None`` at a root.
        context: What its detectors see, beside ``record.content``.
    """

    record: MessageRecord
    parent: Message | None
    context: DetectionContext

    @property
    def text(self) -> str:
        """The text the detectors judge."""
        return self.record.content


@final
class RecordWalk:
    """Judge every branch of a record with an engine; the front end runs the detectors.

    Sans-IO, as the :class:`~convguard._engine.Engine` it uses: the walk
    never calls a guard. Its driver asks for the next user turn, runs that
    turn's detectors as a live turn would (``await`` included), and hands the
    result back::

        walk = RecordWalk(engine, record)
        while (turn := walk.next_turn()) is not None:
            walk.judged(turn, *detect(turn.text, turn.context))
        replay = walk.replay()

    Every other node (replies, end requests, risk reports) is judged by the
    walk on its way to the next user turn.
    """

    __slots__ = (
        "_after_end",
        "_at_risk",
        "_built",
        "_engine",
        "_locale",
        "_order",
        "_record",
        "_verdicts",
    )

    def __init__(self, engine: Engine, record: ConversationRecord) -> None:
        """Start a walk over *record*, parents first."""
        locale = record.metadata.get("locale")
        self._engine = engine
        self._record = record
        self._locale = locale if isinstance(locale, str) else None
        self._order = iter(record.ordered())
        self._built: dict[str, Message] = {}
        self._verdicts: dict[str, Verdict] = {}
        self._after_end: set[str] = set()
        # The conversation's risk record, as it stood when each message was made.
        self._at_risk = False

    def next_turn(self) -> UserTurn | None:
        """Walk to the next user message, judging every other node on the way.

        Returns:
            The user message for the detectors, or ``None`` when the walk is done.
        """
        for rec in self._order:
            parent = None if rec.parent_id is None else self._built.get(rec.parent_id)
            if rec.parent_id is not None and (parent is None or parent.ended):
                self._after_end.add(rec.id)
            elif rec.role is Role.USER:
                history = self._history(parent)
                context = self._engine.context(self._record.id, rec.id, rec.content, history)
                return UserTurn(rec, parent, context)
            else:
                self._built[rec.id] = self._other(rec, parent)
        return None

    def judged(
        self, turn: UserTurn, findings: Sequence[Finding], errors: Sequence[DetectorFailure]
    ) -> None:
        """Judge *turn*, the last that :meth:`next_turn` returned, with its detectors' result."""
        rec = turn.record
        message, verdict = self._engine.judge_user(
            turn.parent,
            rec.id,
            rec.content,
            findings,
            errors,
            rec.metadata,
            self._locale,
            at_risk=self._at_risk,
        )
        message = attrs.evolve(message, created_at=rec.created_at or message.created_at)
        self._built[rec.id] = message
        self._verdicts[rec.id] = verdict
        self._at_risk = self._at_risk or verdict.at_risk

    def _history(self, parent: Message | None) -> list[Message]:
        history: list[Message] = []
        node = parent
        while node is not None and len(history) < self._engine.history_window:
            history.append(node)
            node = None if node.parent_id is None else self._built[node.parent_id]
        history.reverse()
        return history

    def _other(self, rec: MessageRecord, parent: Message | None) -> Message:
        """Judge a node that is not a user message: a reply or an event."""
        engine = self._engine
        state = engine.state_of(parent)
        verdict: Verdict | None = None
        reason = rec.metadata.get("reason")
        reason = reason if isinstance(reason, str) else None
        if rec.role is Role.ASSISTANT:
            state = engine.policy.on_reply(state, redirect=rec.metadata.get("redirect") is True)
        elif rec.role is Role.EVENT and rec.metadata.get("end_requested_by") in (
            "user",
            "assistant",
        ):
            new_state, decided = engine.policy.request_end(
                state,
                by=rec.metadata["end_requested_by"],
                message_id=rec.id,
                reason=reason,
                locale=self._locale,
                at_risk=self._at_risk,
                confirmed=True,  # a stored end event was granted, so confirmed
            )
            self._verdicts[rec.id] = decided
            if engine.granted(decided, rec.id):
                state, verdict = new_state, decided
        elif rec.role is Role.EVENT and rec.metadata.get("risk_reported_by") == "assistant":
            event, verdict = engine.risk_report(
                parent, rec.metadata.get("category"), reason=reason, locale=self._locale
            )
            state = event.state
            self._verdicts[rec.id] = verdict
            self._at_risk = True
        return _message_from_record(rec, parent, state, verdict, engine)

    def replay(self) -> Replay:
        """Return what the walk made of the record, once :meth:`next_turn` says done."""
        record = self._record
        return Replay(
            conversation_id=record.id,
            messages=tuple(self._built.values()),
            verdicts=MappingProxyType(self._verdicts),
            branches=tuple(self._branch(leaf) for leaf in _leaves(record)),
            after_end=tuple(m.id for m in record.messages if m.id in self._after_end),
        )

    def _branch(self, leaf: MessageRecord) -> ReplayBranch:
        by_id = {m.id: m for m in self._record.messages}
        chain: list[str] = []
        node_id: str | None = leaf.id
        while node_id is not None:
            chain.append(node_id)
            node_id = by_id[node_id].parent_id
        chain.reverse()
        actions: list[Action] = []
        ended_at = would_end_at = None
        for node_id in chain:
            if node_id in self._after_end:
                break
            judged = self._built[node_id].verdict
            if judged is not None:
                actions.append(judged.action)
                if judged.would_end and would_end_at is None:
                    would_end_at = node_id
            if self._built[node_id].ended:
                ended_at = node_id
        return ReplayBranch(leaf.id, tuple(actions), ended_at, would_end_at)


def _leaves(record: ConversationRecord) -> list[MessageRecord]:
    parents = {m.parent_id for m in record.messages}
    return [m for m in record.messages if m.id not in parents]


def check_record(record: object, method: str) -> ConversationRecord:
    """Accept the record passed to a front end's *method*.

    Raises:
        FormatError: For anything but a :class:`ConversationRecord`.
    """
    if not isinstance(record, ConversationRecord):
        msg = f"{method}() takes a ConversationRecord, not {type(record).__name__}"
        raise FormatError(msg)
    return record


def stored_messages(engine: Engine, record: ConversationRecord) -> tuple[Message, ...]:
    """Return the record's nodes as they are, states and verdicts taken from it."""
    built: dict[str, Message] = {}
    for rec in record.ordered():
        parent = None if rec.parent_id is None else built[rec.parent_id]
        state = engine.state_of(parent) if rec.state is None else state_from_record(rec.state)
        verdict = None if rec.verdict is None else verdict_from_record(rec.verdict, state, rec.id)
        built[rec.id] = _message_from_record(rec, parent, state, verdict, engine)
    return tuple(built.values())


@final
@frozen
class Import:
    """What importing a record writes: the conversation, then its feedback.

    Attributes:
        conversation_id: The record's id.
        created_at: When the conversation began.
        metadata: Its checked metadata, the title included.
        messages: The nodes to store, parents first.
        tip_id: The active tip, or the nearest kept ancestor of the record's.
        feedback: The record's feedback.
    """

    conversation_id: str
    created_at: datetime
    metadata: Mapping[str, Any]
    messages: Sequence[Message]
    tip_id: str | None
    feedback: tuple[Feedback, ...]

    def refused(self, exc: ConversationEndedError) -> FormatError:
        """Return the error for a store that refused a message under an ended node."""
        msg = (
            f"message under the ended node {exc.message_id!r}; import with evaluate=True to cut it"
        )
        return FormatError(msg, conversation_id=self.conversation_id, field="messages")


def import_of(engine: Engine, record: ConversationRecord, messages: Sequence[Message]) -> Import:
    """Return what storing *record* with *messages* (judged again or as they are) writes.

    Raises:
        FormatError: When the record's metadata is invalid.
    """
    kept = {m.id for m in messages}
    tip_id = record.active_tip_id
    if tip_id is not None and tip_id not in kept:
        # The tip followed an end: the nearest kept ancestor stands in for it.
        by_id = {m.id: m for m in record.messages}
        while tip_id is not None and tip_id not in kept:
            tip_id = by_id[tip_id].parent_id
    try:
        metadata = dict(engine.check_metadata(record.metadata))
    except ConvguardError as exc:
        raise FormatError(str(exc), conversation_id=record.id, field="metadata") from exc
    if record.title is not None:
        metadata["title"] = record.title
    return Import(
        conversation_id=record.id,
        created_at=record.created_at or engine.clock(),
        metadata=metadata,
        messages=messages,
        tip_id=tip_id,
        feedback=tuple(
            Feedback(
                id=feedback.id,
                conversation_id=record.id,
                kind=feedback.kind,
                comment=feedback.comment,
                message_id=feedback.message_id,
                created_at=feedback.created_at or engine.clock(),
                metadata=feedback.metadata,
            )
            for feedback in record.feedback
        ),
    )
