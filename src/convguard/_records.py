"""Records: the pydantic face of a conversation, for export, import and replay.

A :class:`ConversationRecord` holds every branch of one conversation with
each node's state and verdict. ``record.model_dump_json()`` and
:meth:`ConversationRecord.from_json` round-trip it losslessly;
:meth:`ConversationRecord.json_schema` publishes its schema. Formats in
:mod:`convguard.formats` turn other products' files into records (without
states), which :meth:`Guard.replay` and :meth:`Guard.import_record` judge.

The judging (``_replay.py``) is a ``RecordWalk`` over the sans-IO engine; this
module holds the records themselves and the conversions to and from the
hot-path values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import pydantic

from ._errors import FormatError
from ._findings import DetectorFailure, Evidence, Finding
from ._state import Action, PolicyState, Status, Verdict, check_state_data
from ._tree import Message, Role
from .stores._base import Feedback

if TYPE_CHECKING:
    from typing import Self

    from .stores._base import ConversationInfo

__all__ = [
    "ConversationRecord",
    "FeedbackRecord",
    "FindingRecord",
    "MessageRecord",
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
    # A custom policy's own state. Left out when empty, so a record of the
    # default policy reads as it did before the field existed.
    data: dict[str, Any] = pydantic.Field(default_factory=dict, exclude_if=lambda v: not v)

    @pydantic.field_validator("data", mode="after")
    @classmethod
    def _json_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_state_data(value)  # InvalidMessageError is a ValueError: FormatError


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
        data=dict(state.data),
    )


def state_from_record(record: StateRecord) -> PolicyState:
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
        data=record.data,
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


def verdict_from_record(record: VerdictRecord, state: PolicyState, message_id: str) -> Verdict:
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
