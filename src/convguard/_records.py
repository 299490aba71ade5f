"""Records: the pydantic face of a conversation, for export, import and replay.

A :class:`ConversationRecord` holds every branch of one conversation with
each node's state and verdict. ``record.model_dump_json()`` and
:meth:`ConversationRecord.from_json` round-trip it losslessly;
:meth:`ConversationRecord.json_schema` publishes its schema. Formats in
:mod:`convguard.formats` turn other products' files into records (without
states), which :meth:`Guard.replay` and :meth:`Guard.import_record` judge.

The judging is a :class:`RecordWalk` over the sans-IO engine: it never calls
a guard, and hands each user turn back to the front end that drives it for
its detectors, so both front ends share it and this module imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, final

import attrs
import pydantic
from attrs import frozen

from ._errors import ConversationEndedError, ConvguardError, FormatError
from ._findings import DetectorFailure, Evidence, Finding
from ._state import Action, PolicyState, Status, Verdict
from ._tree import Message, Role
from .stores._base import Feedback

if TYPE_CHECKING:
    from typing import Self

    from ._engine import Engine
    from .detectors._protocols import DetectionContext
    from .stores._base import ConversationInfo

__all__ = [
    "ConversationRecord",
    "FeedbackRecord",
    "FindingRecord",
    "MessageRecord",
    "Replay",
    "ReplayBranch",
    "StateRecord",
    "VerdictRecord",
]

SCHEMA: Final = "convguard.conversation/1"

# By alias by default: a plain model_dump_json() writes "schema", which
# model_validate_json() reads back.
_MODEL = pydantic.ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)
NonEmpty = Annotated[str, pydantic.Field(min_length=1)]


class EvidenceRecord(pydantic.BaseModel):
    """Where a finding was made (see :class:`~convguard.Evidence`)."""

    model_config = _MODEL
    start: Annotated[int, pydantic.Field(ge=0)]
    end: Annotated[int, pydantic.Field(ge=0)]
    term: str


class FindingRecord(pydantic.BaseModel):
    """One finding (see :class:`~convguard.Finding`)."""

    model_config = _MODEL
    category: str
    score: Annotated[float, pydantic.Field(ge=0.0, le=1.0)]
    detector: str
    evidence: EvidenceRecord | None = None


class FailureRecord(pydantic.BaseModel):
    """A detector failure (see :class:`~convguard.DetectorFailure`)."""

    model_config = _MODEL
    detector: str
    kind: Literal["error", "timeout", "invalid"]
    message: str


class StateRecord(pydantic.BaseModel):
    """A policy state (see :class:`~convguard.PolicyState`)."""

    model_config = _MODEL
    status: Status = Status.ACTIVE
    redirections: Annotated[int, pydantic.Field(ge=0)] = 0
    warned: bool = False
    benign_streak: Annotated[int, pydantic.Field(ge=0)] = 0
    exempt: bool = False
    exempt_until: int | None = None
    user_turns: Annotated[int, pydantic.Field(ge=0)] = 0
    seen: tuple[str, ...] = ()
    turn_counted: bool = False
    detector_failed: bool = False


class VerdictRecord(pydantic.BaseModel):
    """A verdict; its state and message id are those of the node holding it."""

    model_config = _MODEL
    action: Action
    findings: tuple[FindingRecord, ...] = ()
    reasons: tuple[str, ...] = ()
    guidance: str = ""
    errors: tuple[FailureRecord, ...] = ()
    would_end: bool = False
    # None in records written before the risk record: a SUPPORT verdict carried it.
    at_risk: bool | None = None


class MessageRecord(pydantic.BaseModel):
    """One node of the tree."""

    model_config = _MODEL
    id: NonEmpty
    parent_id: NonEmpty | None = None
    role: Role
    content: str
    created_at: pydantic.AwareDatetime | None = None
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    state: StateRecord | None = None
    verdict: VerdictRecord | None = None


class FeedbackRecord(pydantic.BaseModel):
    """A user's feedback on the conversation."""

    model_config = _MODEL
    id: NonEmpty
    kind: NonEmpty
    comment: str | None = None
    message_id: str | None = None
    created_at: pydantic.AwareDatetime | None = None
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)


class ConversationRecord(pydantic.BaseModel):
    """One conversation with every branch, for export, import and replay.

    Messages may come in any order; :meth:`ordered` returns them parents
    first. Ids are unique, every parent is present, there is no cycle, and
    ``active_tip_id`` (when set) names a message. Invalid records raise
    :class:`~convguard.FormatError` naming the conversation and the field.
    """

    model_config = _MODEL
    schema_: Literal["convguard.conversation/1"] = pydantic.Field(default=SCHEMA, alias="schema")
    id: NonEmpty
    title: str | None = None
    created_at: pydantic.AwareDatetime | None = None
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    active_tip_id: str | None = None
    messages: tuple[MessageRecord, ...] = ()
    feedback: tuple[FeedbackRecord, ...] = ()

    def __init__(self, **data: Any) -> None:  # noqa: ANN401 - pydantic fields
        """Validate a record.

        Raises:
            FormatError: Naming the conversation and the first bad field.
        """
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _format_error(exc, data.get("id")) from None

    @pydantic.model_validator(mode="after")
    def _a_tree(self) -> Self:
        self._order()  # raises on duplicates, missing parents and cycles
        ids = {m.id for m in self.messages}
        if self.active_tip_id is not None and self.active_tip_id not in ids:
            msg = f"active_tip_id {self.active_tip_id!r} is not a message of the conversation"
            raise ValueError(msg)
        return self

    def _order(self) -> list[MessageRecord]:
        by_id: dict[str, MessageRecord] = {}
        for message in self.messages:
            if message.id in by_id:
                msg = f"message id {message.id!r} appears twice"
                raise ValueError(msg)
            by_id[message.id] = message
        for message in self.messages:
            if message.parent_id is not None and message.parent_id not in by_id:
                msg = f"message {message.id!r} has parent {message.parent_id!r}, which is missing"
                raise ValueError(msg)
        # Stable: a parents-first input keeps its order; a child that comes
        # before its parent is placed right after it.
        order: list[MessageRecord] = []
        placed: set[str] = set()
        waiting: dict[str, list[MessageRecord]] = {}
        for message in self.messages:
            if message.parent_id is not None and message.parent_id not in placed:
                waiting.setdefault(message.parent_id, []).append(message)
                continue
            ready = [message]
            while ready:
                node = ready.pop()
                order.append(node)
                placed.add(node.id)
                ready.extend(reversed(waiting.pop(node.id, [])))
        if len(order) != len(self.messages):
            stuck = sorted(by_id.keys() - {m.id for m in order})
            msg = f"messages {stuck[:5]} form a cycle (no path to a root)"
            raise ValueError(msg)
        return order

    def ordered(self) -> list[MessageRecord]:
        """Return the messages parents first, keeping the given order where it allows."""
        return self._order()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a record from parsed JSON.

        Raises:
            FormatError: When *data* is not a valid record.
        """
        if not isinstance(data, Mapping):
            msg = f"a conversation record must be an object, not {type(data).__name__}"
            raise FormatError(msg)
        stray = [key for key in data if not isinstance(key, str)]
        if stray:
            msg = f"a conversation record's field names must be strings, found {stray[0]!r}"
            raise FormatError(msg)
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Build a record from its JSON text (as ``model_dump_json`` writes it).

        Raises:
            FormatError: For malformed JSON or an invalid record.
        """
        import json  # noqa: PLC0415 - only here

        try:
            data = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError covers malformed JSON, bad UTF-8 and integers longer
            # than Python converts; RecursionError, nesting too deep to parse.
            msg = f"not valid JSON: {exc}"
            raise FormatError(msg) from exc
        return cls.from_dict(data)

    def to_json(self, *, indent: int | None = None) -> str:
        """Return the record as JSON text."""
        return self.model_dump_json(by_alias=True, indent=indent)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Return the published JSON schema of a record."""
        return cls.model_json_schema(by_alias=True)


def _format_error(exc: pydantic.ValidationError, conversation_id: object) -> FormatError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    reason = first["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    if more:
        reason += f" (and {more} more problem{'s' if more > 1 else ''})"
    return FormatError(
        reason,
        conversation_id=conversation_id if isinstance(conversation_id, str) else None,
        field=field,
    )


# -- values <-> records -------------------------------------------------------


def _finding_record(finding: Finding) -> FindingRecord:
    ev = finding.evidence
    return FindingRecord(
        category=finding.category,
        score=finding.score,
        detector=finding.detector,
        evidence=None if ev is None else EvidenceRecord(start=ev.start, end=ev.end, term=ev.term),
    )


def _finding(record: FindingRecord) -> Finding:
    ev = record.evidence
    return Finding(
        record.category,
        record.score,
        record.detector,
        None if ev is None else Evidence(ev.start, ev.end, ev.term),
    )


def _state_record(state: PolicyState) -> StateRecord:
    return StateRecord(
        status=state.status,
        redirections=state.redirections,
        warned=state.warned,
        benign_streak=state.benign_streak,
        exempt=state.exempt,
        exempt_until=state.exempt_until,
        user_turns=state.user_turns,
        seen=tuple(sorted(state.seen)),
        turn_counted=state.turn_counted,
        detector_failed=state.detector_failed,
    )


def _state(record: StateRecord) -> PolicyState:
    return PolicyState(
        status=record.status,
        redirections=record.redirections,
        warned=record.warned,
        benign_streak=record.benign_streak,
        exempt=record.exempt,
        exempt_until=record.exempt_until,
        user_turns=record.user_turns,
        seen=frozenset(record.seen),
        turn_counted=record.turn_counted,
        detector_failed=record.detector_failed,
    )


def _verdict_record(verdict: Verdict) -> VerdictRecord:
    return VerdictRecord(
        action=verdict.action,
        findings=tuple(_finding_record(f) for f in verdict.findings),
        reasons=verdict.reasons,
        guidance=verdict.guidance,
        errors=tuple(
            FailureRecord(detector=e.detector, kind=e.kind, message=e.message)
            for e in verdict.errors
        ),
        would_end=verdict.would_end,
        at_risk=verdict.at_risk,
    )


def _verdict(record: VerdictRecord, state: PolicyState, message_id: str) -> Verdict:
    return Verdict(
        action=record.action,
        state=state,
        message_id=message_id,
        findings=tuple(_finding(f) for f in record.findings),
        reasons=record.reasons,
        guidance=record.guidance,
        errors=tuple(DetectorFailure(e.detector, e.kind, e.message) for e in record.errors),
        would_end=record.would_end,
        at_risk=record.action is Action.SUPPORT if record.at_risk is None else record.at_risk,
    )


def message_record(message: Message) -> MessageRecord:
    """Return the record of a stored message."""
    return MessageRecord(
        id=message.id,
        parent_id=message.parent_id,
        role=message.role,
        content=message.content,
        created_at=message.created_at,
        metadata=dict(message.metadata),
        state=_state_record(message.state),
        verdict=None if message.verdict is None else _verdict_record(message.verdict),
    )


def export(
    info: ConversationInfo, messages: Iterable[Message], feedback: Iterable[Feedback]
) -> ConversationRecord:
    """Return a stored conversation as a record."""
    metadata = dict(info.metadata)
    title = metadata.pop("title", None)
    return ConversationRecord(
        id=info.id,
        title=title if isinstance(title, str) else None,
        created_at=info.created_at,
        metadata=metadata,
        active_tip_id=info.tip_id,
        messages=tuple(message_record(m) for m in messages),
        feedback=tuple(
            FeedbackRecord(
                id=f.id,
                kind=f.kind,
                comment=f.comment,
                message_id=f.message_id,
                created_at=f.created_at,
                metadata=dict(f.metadata),
            )
            for f in feedback
        ),
    )


# -- replay -------------------------------------------------------------------


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
    return Message(
        record.id,
        record.parent_id,
        record.role,
        record.content,
        record.created_at or engine.clock(),
        state,
        verdict,
        metadata,
        0 if parent is None else parent.depth + 1,
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
            if decided.message_id is not None:
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
        state = engine.state_of(parent) if rec.state is None else _state(rec.state)
        verdict = None if rec.verdict is None else _verdict(rec.verdict, state, rec.id)
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
